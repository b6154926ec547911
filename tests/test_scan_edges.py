"""Edges of a scan that random ranges rarely reach, for every backend and every C path, against hashlib.

- every count 1..33 (each remainder of the 4, 8 and 16 lanes and of the SHA-NI pair) at the bottom of the nonce
  space and at its top (where the lanes past the end wrap to nonce 0), on headers of extreme bytes;
- many chunks on several threads with more hits than slots (numba's per-chunk lists and their rescan);
- a scan stopped half-way, which must report the nonces it hashed and only those.
"""

from __future__ import annotations

import functools
import random
import threading

import pytest

from hashbench.backends import ScanJob
from hashbench.header import NONCE_SPACE, Header, hash_int

EVERY_NONCE = (1 << 256) - 1
EXTREME_PREFIXES = {
    "zeros": bytes(76),
    "ones": b"\xff" * 76,  # every tail word (merkle tail, time, bits) 0xffffffff: carries in all precomputed sums
    "sign-bits": bytes([0x80, 0x7F]) * 38,
}


@functools.lru_cache(maxsize=64)
def reference(prefix: bytes, target: int, start: int, count: int) -> tuple[int, ...]:
    header = Header(prefix)
    return tuple(n for n in range(start, start + count) if hash_int(header, n) <= target)


def scan(backend_impl, header, target, start, count, **kwargs):
    backend, impl = backend_impl
    return backend.scan(ScanJob(header, target), start, count, impl=impl, **kwargs)


def two_threads_or_skip(backend) -> int:
    limit = backend.max_threads()
    if limit is not None and limit < 2:
        pytest.skip(f"{backend.name} runs at most {limit} thread here")
    return 2


@pytest.mark.parametrize("name", list(EXTREME_PREFIXES))
def test_every_lane_remainder_at_the_bottom_and_top_of_the_nonce_space(backend_impl, name):
    """With every nonce a hit, a lane past the end of the range that leaked (at the top it wraps to nonce 0, which
    hashlib confirms) is listed; the easy target checks the hits among them against hashlib."""
    prefix = EXTREME_PREFIXES[name]
    header = Header(prefix)
    easy = (0x3FFFFFFF << 224) | random.Random(name).getrandbits(224)
    for count in range(1, 34):
        for start in (0, NONCE_SPACE - count):
            for target in (EVERY_NONCE, easy):
                result = scan(backend_impl, header, target, start, count)
                expected = list(reference(prefix, target, start, count))
                assert ([s.nonce for s in result.found], result.hits) == (expected, len(expected)), (start, count)
                assert result.hashes == count


@pytest.mark.parametrize("max_found", [1, 64, 65, 1000])
@pytest.mark.parametrize("top", [0xFFFFFFFF, 0x3FFFFFFF])
def test_the_lowest_hits_of_many_chunks_on_two_threads(backend_impl, max_found, top):
    """Range cut into chunks (Python threads, numba's prange chunks of at most 64 listed hits each, GPU batches)
    with far more hits than slots, ending at the top of the nonce space: all hits counted, the lowest listed."""
    backend, _ = backend_impl
    threads = two_threads_or_skip(backend)
    prefix = bytes(range(76))
    target = (top << 224) | random.Random(top).getrandbits(224) if top != 0xFFFFFFFF else EVERY_NONCE
    count = 5 * 4096 + 77
    start = NONCE_SPACE - count
    result = scan(backend_impl, Header(prefix), target, start, count, threads=threads, max_found=max_found)
    expected = reference(prefix, target, start, count)
    assert result.hits == len(expected) and result.hashes == count
    assert [s.nonce for s in result.found] == list(expected[:max_found])


@pytest.mark.parametrize("threads", [1, 2])
def test_a_stopped_scan_reports_the_nonces_it_hashed_and_only_those(backend_impl, threads, monkeypatch):
    """Stopped after its second chunk: the parts already taken finish, so the scan covers a prefix of the range, and
    its hashes, hits and listed nonces are exactly those of that prefix."""
    backend, _ = backend_impl
    if threads > 1:
        two_threads_or_skip(backend)
    stop = threading.Event()
    parts = []
    scan_part = backend._scan_part

    def part_then_stop(*args):
        out = scan_part(*args)
        parts.append(out)
        if len(parts) == 2:
            stop.set()
        return out

    monkeypatch.setattr(backend, "chunk", 4096)
    monkeypatch.setattr(backend, "_scan_part", part_then_stop)
    prefix = bytes(range(1, 77))
    target = (0x3FFFFFFF << 224) | random.Random(7).getrandbits(224)
    start, count = 123, 64 * 4096
    result = scan(backend_impl, Header(prefix), target, start, count, threads=threads, stop=stop, max_found=100)
    assert result.interrupted and 0 < result.hashes < count
    expected = reference(prefix, target, start, result.hashes)
    assert result.hits == len(expected)
    assert [s.nonce for s in result.found] == list(expected[:100])
