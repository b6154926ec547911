"""Header parsing, nBits, midstate and byte order, against hashlib and the real chain."""

from __future__ import annotations

import hashlib
import struct

import pytest
from conftest import header_of
from hypothesis import given
from hypothesis import strategies as st

from hashbench.errors import InputError
from hashbench.header import (
    DIFF1_TARGET,
    SHA256_IV,
    Header,
    bits_to_target,
    block_hash_hex,
    hash_int,
    meets_target,
    parse_bits,
    parse_target,
    sha256_compress,
    target_to_bits,
    target_words,
)
from hashbench.samples import RealHeader, bench_header, parse_headers, read_headers, real_headers

GENESIS = (
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3"
    "888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c"
)
GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
CSV_COLUMNS = "height,header_hex,nonce,block_hash\n"


def test_genesis_block_hash_and_nonce():
    h = Header.from_hex(GENESIS)
    assert h.nonce == 2083236893  # little-endian uint32 at bytes 76..80
    assert h.bits == 0x1D00FFFF
    assert block_hash_hex(h, h.nonce) == GENESIS_HASH
    assert meets_target(h, h.nonce, h.target)
    assert not meets_target(h, h.nonce + 1, h.target)


def test_real_chains_byte_order(mainnet_rows, testnet_rows):
    for row in mainnet_rows + testnet_rows:
        h = header_of(row)
        raw = bytes.fromhex(row["header_hex"])
        assert h.nonce == int(row["nonce"]) == struct.unpack("<I", raw[76:80])[0]
        assert h.bits == int(row["bits"], 16)
        assert block_hash_hex(h, h.nonce) == row["block_hash"]
        assert hash_int(h, h.nonce) == int(row["block_hash"], 16)
        assert hash_int(h, h.nonce) <= h.target
        assert h.serialize(h.nonce) == raw


def test_152_hex_chars_has_no_nonce():
    h = Header.from_hex(GENESIS[:152])
    assert h.nonce is None and h.prefix == bytes.fromhex(GENESIS[:152])


@pytest.mark.parametrize(
    "text, problem",
    [
        ("00" * 79, "got 158"),
        ("00" * 81, "got 162"),
        ("", "got 0"),
        ("zz" * 80, "^header is not valid hex$"),
    ],
)
def test_bad_header_text(text, problem):
    with pytest.raises(InputError, match=problem):
        Header.from_hex(text)


@pytest.mark.parametrize(
    "bits, target",
    [
        (0x1D00FFFF, DIFF1_TARGET),
        (0x1B0404CB, 0x0404CB << (8 * (0x1B - 3))),
        (0x17053894, 0x053894 << (8 * (0x17 - 3))),
        (0x01003456, 0x00),  # rounds to zero: rejected below
        (0x03123456, 0x123456),
        (0x02123456, 0x1234),
        (0x20123456, 0x123456 << (8 * 29)),
        (0x04123456, 0x12345600),  # exponent 4: the first that shifts left
        (0x00000000, 0x00),  # zero mantissa: a zero target, not "not a 32-bit value"
        # The edges of Bitcoin Core's overflow rule (nonzero mantissa and size > 34, or > 0xff and size > 33, or
        # > 0xffff and size > 32): each of these is the largest that still fits in 256 bits.
        (0x22000001, 1 << 248),
        (0x220000FF, 0xFF << 248),
        (0x2100FFFF, 0xFFFF << 240),
    ],
)
def test_bits_to_target(bits, target):
    if target == 0:
        with pytest.raises(InputError, match="zero"):
            bits_to_target(bits)
    else:
        assert bits_to_target(bits) == target


@pytest.mark.parametrize("bits", [0x04923456, 0x01FEDCBA, 0x1D80FFFF, 0xFFFFFFFF])
def test_negative_bits_rejected(bits):
    with pytest.raises(InputError, match="negative"):
        bits_to_target(bits)


@pytest.mark.parametrize(
    "bits",
    # 0x23000001: size 35 alone overflows; 0x22000100: a mantissa over 0xff at size 34 (but not over 0xffff).
    [0xFF123456, 0x23000001 | 0x0100, 0x22010000, 0x21010000 | 0x00010000, 0x23000001, 0x22000100],
)
def test_overflowing_bits_rejected(bits):
    with pytest.raises(InputError, match="overflow"):
        bits_to_target(bits)


@pytest.mark.parametrize("bits", [-1, 1 << 32])
def test_bits_outside_32_bits_rejected(bits):
    with pytest.raises(InputError, match=r"^nBits .* is not a 32-bit value$"):
        bits_to_target(bits)


@pytest.mark.parametrize(
    "target, bits",
    [
        (1, 0x01010000),  # size 1: the mantissa is the target shifted left two bytes
        (0x1234, 0x02123400),
        (0x123456, 0x03123456),
        (0x12345678, 0x04123456),  # size 4: shifted right, low byte dropped
        (0xFF, 0x0200FF00),  # top bit set: one more byte, so the mantissa does not read negative
        ((1 << 256) - 1, 0x2100FFFF),
    ],
)
def test_target_to_bits_small_and_edge_targets(target, bits):
    assert target_to_bits(target) == bits


@pytest.mark.parametrize("target", [0, 1 << 256])
def test_target_to_bits_out_of_range(target):
    with pytest.raises(InputError, match=r"^target must be in 1 \.\. 2\^256-1$"):
        target_to_bits(target)


def test_bits_round_trip_on_real_headers(mainnet_rows):
    for row in mainnet_rows:
        bits = int(row["bits"], 16)
        assert target_to_bits(bits_to_target(bits)) == bits


def test_parse_bits_and_target_text():
    assert parse_bits("0x1d00ffff") == 0x1D00FFFF
    assert parse_target("ffff" + "0" * 52) == DIFF1_TARGET
    assert parse_target("0x" + "f" * 64) == (1 << 256) - 1  # 64 digits after the 0x are allowed
    assert parse_target("0XFF") == 0xFF
    for bad, message in [
        ("1d00ff", "^nBits must be 8 hex digits, got 6$"),
        ("1d00fffg", "^nBits is not hex: '1d00fffg'$"),
        ("+2000fff", r"^nBits is not hex: '\+2000fff'$"),  # int(x, 16) takes a sign and underscores
        ("2000_fff", "^nBits is not hex: '2000_fff'$"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_bits(bad)
    for bad, message in [
        ("", "^target must be 1 to 64 hex digits, got 0$"),
        ("1" * 65, "^target must be 1 to 64 hex digits, got 65$"),
        ("0", "^target must be greater than zero$"),
        ("xyz", "^target is not hex: 'xyz'$"),
        ("+ff", r"^target is not hex: '\+ff'$"),
        ("f_f", "^target is not hex: 'f_f'$"),
        ("-1", "^target is not hex: '-1'$"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_target(bad)


def test_target_words_most_significant_first():
    assert target_words(DIFF1_TARGET) == (0, 0xFFFF0000, 0, 0, 0, 0, 0, 0)
    assert target_words((1 << 256) - 1) == (0xFFFFFFFF,) * 8
    assert target_words(0) == (0,) * 8
    with pytest.raises(InputError, match="^target must fit in 256 bits$"):
        target_words(1 << 256)


def test_header_hex_may_carry_0x_and_upper_case():
    for text in ("0x" + GENESIS, "0X" + GENESIS.upper()):
        h = Header.from_hex(text)
        assert h.nonce == 2083236893 and block_hash_hex(h, h.nonce) == GENESIS_HASH
    with pytest.raises(InputError, match="^header prefix must be 76 bytes, got 75$"):
        Header(bytes(75))


def test_meets_target_accepts_a_hash_equal_to_the_target():
    h = Header.from_hex(GENESIS)
    value = hash_int(h, h.nonce)
    assert meets_target(h, h.nonce, value)
    assert not meets_target(h, h.nonce, value - 1)


@given(st.binary(min_size=76, max_size=76), st.integers(0, 2**32 - 1))
def test_midstate_then_second_block_equals_hashlib(prefix, nonce):
    h = Header(prefix)
    tail = prefix[64:] + struct.pack("<I", nonce) + b"\x80" + b"\x00" * 39 + struct.pack(">Q", 640)
    state = sha256_compress(h.midstate(), tail)
    assert struct.pack(">8I", *state) == hashlib.sha256(h.serialize(nonce)).digest()
    assert sha256_compress(SHA256_IV, prefix[:64]) == h.midstate()
    assert h.tail_words() == struct.unpack(">3I", prefix[64:76])


# --- header CSVs (hashbench.samples) --------------------------------------------------------------------------------


def hashed(nonce: int, hex_: str = GENESIS) -> str:
    """The block hash of the genesis header's first 76 bytes with `nonce`: what a consistent CSV row holds."""
    return block_hash_hex(Header.from_hex(hex_), nonce)


def test_parse_headers_reads_every_field():
    text = (CSV_COLUMNS + f"0,{GENESIS},2083236893, {GENESIS_HASH.upper()} \n"
            + f"7,{GENESIS[:152]},0,{hashed(0)}\n" + f"8,{GENESIS[:152]},4294967295,{hashed(4294967295)}\n")
    first, zero_nonce, top_nonce = parse_headers(text, "testnet4")
    # The block hash is kept stripped and lower-cased; the nonce column is the nonce (the header's own is ignored).
    assert first == RealHeader("testnet4", 0, Header.from_hex(GENESIS), 2083236893, GENESIS_HASH)
    assert zero_nonce == RealHeader("testnet4", 7, Header(bytes.fromhex(GENESIS[:152])), 0, hashed(0))
    assert top_nonce.nonce == 4294967295  # both ends of the 32-bit range are nonces
    # No network column and no network given: the network is the empty string.
    assert parse_headers(CSV_COLUMNS + f"0,{GENESIS},2083236893,{GENESIS_HASH}\n")[0].network == ""
    # A network column wins over the one given; an empty cell falls back to it.
    [named, blank] = parse_headers("network," + CSV_COLUMNS + f"signet,1,{GENESIS},5,{hashed(5)}\n"
                                   f",2,{GENESIS},5,{hashed(5)}\n", "regtest")
    assert (named.network, blank.network) == ("signet", "regtest")
    assert parse_headers(CSV_COLUMNS) == ()


@pytest.mark.parametrize(
    "text, message",
    [
        ("height,header_hex\n1,ab\n", "header CSV lacks column(s) block_hash, nonce"),
        (CSV_COLUMNS + "1\n", "header CSV line 2: no header_hex, nonce, block_hash"),
        (CSV_COLUMNS + f"1,{GENESIS},5,{hashed(5)}\n1,{GENESIS},4294967296,x\n",
         "header CSV line 3: nonce 4294967296 is not a 32-bit nonce"),
        (CSV_COLUMNS + f"1,{GENESIS},-1,x\n", "header CSV line 2: nonce -1 is not a 32-bit nonce"),
        # a row that disagrees with itself (one column from another block) would fail a correct backend in verify
        (CSV_COLUMNS + f"0,{GENESIS},2083236894,{GENESIS_HASH}\n",
         f"header CSV line 2: the header with nonce 2083236894 does not hash to its block_hash {GENESIS_HASH} (a "
         "nonce, header or hash column from another block?)"),
    ],
)
def test_parse_headers_errors_name_the_line(text, message):
    with pytest.raises(InputError) as raised:
        parse_headers(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "name, network",
    [
        ("bitcoin-testnet3-headers.csv", "testnet3"),
        ("Bitcoin-TESTNET4.csv", "testnet4"),  # the file name is matched case-blind
        ("testnet-old.csv", "testnet"),
        ("Signet.CSV", "signet"),
        ("regtest.csv", "regtest"),
        ("headers.csv", "mainnet"),
    ],
)
def test_read_headers_takes_the_network_from_the_file_name(tmp_path, name, network):
    path = tmp_path / name
    path.write_text(CSV_COLUMNS + f"0,{GENESIS},2083236893,{GENESIS_HASH}\n", encoding="utf-8")
    [row] = read_headers(path)
    assert row == RealHeader(network, 0, Header.from_hex(GENESIS), 2083236893, GENESIS_HASH)


def test_read_headers_errors(tmp_path):
    missing = tmp_path / "none.csv"
    with pytest.raises(InputError) as raised:
        read_headers(missing)
    assert str(raised.value) == f"cannot read headers from {missing}: No such file or directory"
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError) as raised:
        read_headers(binary)
    assert str(raised.value) == (f"cannot read headers from {binary}: 'utf-8' codec can't decode byte 0xff in "
                                 "position 0: invalid start byte")
    empty = tmp_path / "empty.csv"
    empty.write_text(CSV_COLUMNS)
    with pytest.raises(InputError) as raised:
        read_headers(empty)
    assert str(raised.value) == f"{empty}: no header rows"
    # `verify --headers` reads several files: a bad row or column names its file before the line.
    short = tmp_path / "short.csv"
    short.write_text(CSV_COLUMNS + "1\n")
    with pytest.raises(InputError) as raised:
        read_headers(short)
    assert str(raised.value) == f"{short}: header CSV line 2: no header_hex, nonce, block_hash"
    columns = tmp_path / "columns.csv"
    columns.write_text("height,header_hex\n1,ab\n")
    with pytest.raises(InputError) as raised:
        read_headers(columns)
    assert str(raised.value) == f"{columns}: header CSV lacks column(s) block_hash, nonce"


def test_bench_header_is_the_newest_mainnet_header_shipped():
    shipped = real_headers()
    # testnet3 heights run past mainnet's, so the network filter is what picks mainnet block 878976.
    assert max(h.height for h in shipped if h.network == "testnet3") > 878976
    [newest] = [h for h in shipped if h.network == "mainnet" and h.height == 878976]
    assert max(h.height for h in shipped if h.network == "mainnet") == 878976
    assert bench_header() == newest.header
