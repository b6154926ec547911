"""Bitcoin block header: parsing, nBits <-> target, midstate and the hashlib reference.

Byte order, once and for all:
- the nonce is the little-endian uint32 at header bytes 76..80;
- SHA-256 reads its message as big-endian 32-bit words, so the nonce's message word is
  bswap32(nonce);
- the block hash people see (explorers, RPC) is the SHA-256d digest reversed, and the integer
  compared with the target is the digest read little-endian.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

from .errors import InputError

MAX_NONCE = 0xFFFFFFFF
NONCE_SPACE = 1 << 32
# The difficulty-1 target (nBits 0x1d00ffff), the share target pools use.
DIFF1_TARGET = 0xFFFF << 208

SHA256_K = (
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
)
SHA256_IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
_M32 = 0xFFFFFFFF


def _ror(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & _M32


def sha256_compress(state: tuple[int, ...], block: bytes) -> tuple[int, ...]:
    """One SHA-256 compression of a 64-byte block (hashlib does not expose midstates)."""
    w = list(struct.unpack(">16I", block))
    for i in range(16, 64):
        s0 = _ror(w[i - 15], 7) ^ _ror(w[i - 15], 18) ^ (w[i - 15] >> 3)
        s1 = _ror(w[i - 2], 17) ^ _ror(w[i - 2], 19) ^ (w[i - 2] >> 10)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M32)
    a, b, c, d, e, f, g, h = state
    for i in range(64):
        t1 = (h + (_ror(e, 6) ^ _ror(e, 11) ^ _ror(e, 25)) + ((e & f) ^ (~e & g)) + SHA256_K[i] + w[i]) & _M32
        t2 = ((_ror(a, 2) ^ _ror(a, 13) ^ _ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) & _M32
        h, g, f, e, d, c, b, a = g, f, e, (d + t1) & _M32, c, b, a, (t1 + t2) & _M32
    return tuple((s + v) & _M32 for s, v in zip(state, (a, b, c, d, e, f, g, h), strict=True))


def bits_to_target(bits: int) -> int:
    """Decode compact nBits. Rejects the encodings Bitcoin Core flags negative or overflowing."""
    if not 0 <= bits <= _M32:
        raise InputError(f"nBits {bits:#x} is not a 32-bit value")
    exponent = bits >> 24
    mantissa = bits & 0x007FFFFF
    if bits & 0x00800000 and mantissa:
        raise InputError(f"nBits {bits:08x} encodes a negative target")
    if mantissa and (exponent > 34 or (mantissa > 0xFF and exponent > 33) or (mantissa > 0xFFFF and exponent > 32)):
        raise InputError(f"nBits {bits:08x} overflows 256 bits")
    if exponent <= 3:
        target = mantissa >> (8 * (3 - exponent))
    else:
        target = mantissa << (8 * (exponent - 3))
    if target == 0:
        raise InputError(f"nBits {bits:08x} encodes a zero target")
    return target


def target_to_bits(target: int) -> int:
    """Encode a target in compact form (rounding down, as Bitcoin Core does)."""
    if not 0 < target < (1 << 256):
        raise InputError("target must be in 1 .. 2^256-1")
    size = (target.bit_length() + 7) // 8
    mantissa = target >> (8 * (size - 3)) if size > 3 else target << (8 * (3 - size))
    if mantissa & 0x00800000:
        mantissa >>= 8
        size += 1
    return (size << 24) | mantissa


def target_words(target: int) -> tuple[int, ...]:
    """The target as 8 uint32 words, most significant first (the kernels' layout)."""
    if not 0 <= target < (1 << 256):
        raise InputError("target must fit in 256 bits")
    return tuple((target >> (32 * (7 - i))) & _M32 for i in range(8))


_HEX = re.compile(r"[0-9a-f]+")


def parse_target(text: str) -> int:
    """A target given as hex (up to 64 digits, optional 0x)."""
    t = text.strip().lower().removeprefix("0x")
    if not t or len(t) > 64:
        raise InputError(f"target must be 1 to 64 hex digits, got {len(t)}")
    if not _HEX.fullmatch(t):  # int(t, 16) would also take "+ff" and "f_f"
        raise InputError(f"target is not hex: {text!r}")
    value = int(t, 16)
    if value == 0:
        raise InputError("target must be greater than zero")
    return value


def parse_bits(text: str) -> int:
    """nBits given as 8 hex digits (optional 0x)."""
    t = text.strip().lower().removeprefix("0x")
    if len(t) != 8:
        raise InputError(f"nBits must be 8 hex digits, got {len(t)}")
    if not _HEX.fullmatch(t):
        raise InputError(f"nBits is not hex: {text!r}")
    return int(t, 16)


@dataclass(frozen=True)
class Header:
    """The 76 nonce-independent bytes of a block header (plus the nonce it was given with, if any)."""

    prefix: bytes  # header bytes 0..76
    nonce: int | None = None

    def __post_init__(self) -> None:
        if len(self.prefix) != 76:
            raise InputError(f"header prefix must be 76 bytes, got {len(self.prefix)}")

    @classmethod
    def from_hex(cls, text: str) -> Header:
        """160 hex chars (80 bytes, nonce kept but ignored when scanning) or 152 (76 bytes)."""
        t = text.strip().lower().removeprefix("0x")
        if len(t) not in (152, 160):
            raise InputError(f"header must be 160 hex chars (80 bytes) or 152 (76 bytes), got {len(t)}")
        try:
            raw = bytes.fromhex(t)
        except ValueError:
            raise InputError("header is not valid hex") from None
        nonce = struct.unpack_from("<I", raw, 76)[0] if len(raw) == 80 else None
        return cls(raw[:76], nonce)

    @property
    def version(self) -> int:
        return struct.unpack_from("<I", self.prefix, 0)[0]

    @property
    def time(self) -> int:
        return struct.unpack_from("<I", self.prefix, 68)[0]

    @property
    def bits(self) -> int:
        return struct.unpack_from("<I", self.prefix, 72)[0]

    @property
    def target(self) -> int:
        return bits_to_target(self.bits)

    def serialize(self, nonce: int) -> bytes:
        return self.prefix + struct.pack("<I", nonce)

    def midstate(self) -> tuple[int, ...]:
        """SHA-256 state after the first 64 bytes: the same for every nonce."""
        return sha256_compress(SHA256_IV, self.prefix[:64])

    def tail_words(self) -> tuple[int, ...]:
        """Block-2 message words 0..2: big-endian words of bytes 64..76."""
        return struct.unpack(">3I", self.prefix[64:76])


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def hash_int(header: Header, nonce: int) -> int:
    """The header hash as the integer compared with the target."""
    return int.from_bytes(sha256d(header.serialize(nonce)), "little")


def block_hash_hex(header: Header, nonce: int) -> str:
    """Display-order block hash (digest reversed), as explorers print it."""
    return sha256d(header.serialize(nonce))[::-1].hex()


def meets_target(header: Header, nonce: int, target: int) -> bool:
    return hash_int(header, nonce) <= target
