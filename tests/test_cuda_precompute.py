"""The CUDA kernel's host precompute and per-nonce algebra, replayed in Python against hashlib.

No GPU and no CUDA package needed: this is the arithmetic the kernel does, from the parameters the
host gives it (cuda_precompute.emulate_nonce mirrors the kernel step by step)."""

from __future__ import annotations

import hashlib
import random

import pytest
from conftest import header_of
from hypothesis import given, settings
from hypothesis import strategies as st

from hashbench.backends.cuda_precompute import (
    JOB_PARAMS,
    PRECOMPUTED_PARAMS,
    bswap32,
    emulate_nonce,
    first_hash_state,
    precompute,
)
from hashbench.header import NONCE_SPACE, Header, hash_int, sha256_compress, target_words


def kernel_job(header: Header, target: int):
    return precompute(header.midstate(), header.tail_words(), target_words(target))


def final_state(header: Header, nonce: int) -> tuple[int, ...]:
    """The second hash's final state words H0..H7 (the digest read as big-endian words)."""
    digest = hashlib.sha256(hashlib.sha256(header.serialize(nonce)).digest()).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "big") for i in range(0, 32, 4))


def check_nonce(header: Header, target: int, nonce: int, job=None) -> bool:
    """Kernel model == hashlib for this nonce; returns whether it is a hit."""
    job = job or kernel_job(header, target)
    trace = emulate_nonce(job, nonce)
    state = final_state(header, nonce)
    h7 = state[7]
    assert trace.h7 == h7  # H7 from rounds 0..60 only is the real H7
    assert trace.candidate == (bswap32(h7) <= target_words(target)[0])
    assert trace.state == (state if trace.candidate else None)  # the cold path's full hash, for candidates only
    hit = hash_int(header, nonce) <= target
    assert trace.hit == hit
    assert not hit or trace.candidate  # the early reject never drops a hit
    return hit


def test_job_words_follow_the_kernel_parameter_order():
    job = kernel_job(Header(bytes(range(76))), 1 << 200)
    words = job.job_words()
    assert len(words) == len(JOB_PARAMS) + len(PRECOMPUTED_PARAMS)
    assert words[:8] == job.midstate and words[8:11] == job.tail and words[11:19] == job.target
    assert words[19:] == tuple(getattr(job, n) for n in PRECOMPUTED_PARAMS)
    assert all(0 <= w <= 0xFFFFFFFF for w in words)


def test_first_hash_from_precomputed_words_matches_full_compression():
    header = Header(bytes(range(76)))
    job = kernel_job(header, 1)
    for nonce in (0, 1, 0x12345678, NONCE_SPACE - 1):
        block2 = header.serialize(nonce)[64:] + b"\x80" + bytes(39) + (640).to_bytes(8, "big")
        assert first_hash_state(job, nonce) == sha256_compress(header.midstate(), block2)


@pytest.mark.parametrize("network, step", [("mainnet", 1), ("testnet", 4)])
def test_real_nonce_passes_and_neighbours_are_rejected(network, step, mainnet_rows, testnet_rows):
    rows = (mainnet_rows if network == "mainnet" else testnet_rows)[::step]
    for row in rows:
        header = header_of(row)
        job = kernel_job(header, header.target)
        assert check_nonce(header, header.target, header.nonce, job), row["height"]
        for delta in (-1, 1):
            neighbour = (header.nonce + delta) % NONCE_SPACE
            assert not check_nonce(header, header.target, neighbour, job), (row["height"], neighbour)


@settings(max_examples=60, deadline=None)
@given(prefix=st.binary(min_size=76, max_size=76), nonce=st.integers(0, NONCE_SPACE - 1),
       top=st.sampled_from([0x00000000, 0x0000FFFF, 0x00FFFFFF, 0x7FFFFFFF, 0xFFFFFFFF]),
       seed=st.integers(0, 2**32))
def test_easy_targets_agree_with_hashlib(prefix, nonce, top, seed):
    header = Header(prefix)
    target = (top << 224) | random.Random(seed).getrandbits(224)
    check_nonce(header, target, nonce)


@settings(max_examples=40, deadline=None)
@given(prefix=st.binary(min_size=76, max_size=76), nonce=st.integers(0, NONCE_SPACE - 1),
       delta=st.sampled_from([-1, 0, 1]))
def test_target_equal_to_the_hash_is_the_border(prefix, nonce, delta):
    """The cold path's 256-bit compare: a target one below the hash misses, equal hits."""
    header = Header(prefix)
    target = hash_int(header, nonce) + delta
    if 0 < target < 1 << 256:
        assert check_nonce(header, target, nonce) == (delta >= 0)


@pytest.mark.parametrize("midstate, tail, target", [
    ((0,) * 7, (0,) * 3, (0,) * 8), ((0,) * 9, (0,) * 3, (0,) * 8),
    ((0,) * 8, (0,) * 2, (0,) * 8), ((0,) * 8, (0,) * 4, (0,) * 8),
    ((0,) * 8, (0,) * 3, (0,) * 7), ((0,) * 8, (0,) * 3, (0,) * 9),
])
def test_precompute_refuses_words_of_the_wrong_count(midstate, tail, target):
    """Each of the three must have its exact count, one word short or over: a 7-word target would otherwise reach the
    kernel's parameters short and compare as a prefix in the cold path."""
    with pytest.raises(ValueError, match="^midstate, tail and target must be 8, 3 and 8 words$"):
        precompute(midstate, tail, target)
