"""Real block headers: the sample shipped with the package (mainnet and testnet3), or any CSV of them."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from .errors import InputError
from .header import NONCE_SPACE, Header, block_hash_hex


@dataclass(frozen=True)
class RealHeader:
    network: str
    height: int
    header: Header
    nonce: int
    block_hash: str


def parse_headers(text: str, network: str = "") -> tuple[RealHeader, ...]:
    """CSV rows with height, header_hex, nonce and block_hash (a network column optional: `network` otherwise)."""
    rows = csv.DictReader(text.splitlines())
    columns = ("height", "header_hex", "nonce", "block_hash")
    out = []
    try:
        missing = set(columns) - set(rows.fieldnames or ())
        if missing:
            raise InputError(f"header CSV lacks column(s) {', '.join(sorted(missing))}")
        for line, r in enumerate(rows, start=2):
            try:
                if empty := [c for c in columns if r[c] is None]:  # a short row
                    raise InputError(f"no {', '.join(empty)}")
                nonce = int(r["nonce"])
                if not 0 <= nonce < NONCE_SPACE:
                    raise InputError(f"nonce {nonce} is not a 32-bit nonce")
                header, block_hash = Header.from_hex(r["header_hex"]), r["block_hash"].strip().lower()
                # A row that disagrees with itself would fail a correct backend in verify: refused as the input
                if block_hash_hex(header, nonce) != block_hash:
                    raise InputError(f"the header with nonce {nonce} does not hash to its block_hash {block_hash} "
                                     "(a nonce, header or hash column from another block?)")
                out.append(RealHeader(r.get("network") or network, int(r["height"]), header, nonce, block_hash))
            except (InputError, ValueError, TypeError, AttributeError) as exc:
                raise InputError(f"header CSV line {line}: {exc}") from None
    except csv.Error as exc:  # a field past csv's size limit, say
        raise InputError(f"header CSV: {exc}") from None
    return tuple(out)


@lru_cache(maxsize=1)
def real_headers() -> tuple[RealHeader, ...]:
    return parse_headers(files("hashbench").joinpath("data/headers.csv").read_text(encoding="utf-8"))


def read_headers(path: Path) -> tuple[RealHeader, ...]:
    """A CSV of real headers, e.g. ../shared/data/bitcoin-testnet3-headers.csv; without a network column the
    network is taken from the file name (testnet3, testnet4, signet, regtest, else mainnet)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read headers from {path}: {exc.strerror if isinstance(exc, OSError) else exc}") \
            from None
    name = Path(path).name.lower()
    network = next((n for n in ("testnet3", "testnet4", "testnet", "signet", "regtest") if n in name), "mainnet")
    try:
        headers = parse_headers(text, network)
    except InputError as exc:  # `verify --headers` takes several files: say which one
        raise InputError(f"{path}: {exc}") from None
    if not headers:
        raise InputError(f"{path}: no header rows")
    return headers


def bench_header() -> Header:
    """The newest mainnet header shipped: what miners hash today looks like this."""
    mainnet = [h for h in real_headers() if h.network == "mainnet"]
    return max(mainnet, key=lambda h: h.height).header
