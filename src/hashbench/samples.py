"""The real block headers shipped with the package (a sample of mainnet and testnet3)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from .header import Header


@dataclass(frozen=True)
class RealHeader:
    network: str
    height: int
    header: Header
    nonce: int
    block_hash: str


@lru_cache(maxsize=1)
def real_headers() -> tuple[RealHeader, ...]:
    text = files("hashbench").joinpath("data/headers.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return tuple(
        RealHeader(r["network"], int(r["height"]), Header.from_hex(r["header_hex"]), int(r["nonce"]), r["block_hash"])
        for r in rows
    )


def bench_header() -> Header:
    """The newest mainnet header shipped: what miners hash today looks like this."""
    mainnet = [h for h in real_headers() if h.network == "mainnet"]
    return max(mainnet, key=lambda h: h.height).header
