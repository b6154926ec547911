"""Host side of the CUDA kernel (kernels/sha256d.cu), and a pure-Python model of its per-nonce work.

The kernel only does what depends on the nonce. Everything else is computed here, once per job,
and passed as kernel parameters: the midstate, block 2 up to round 3 (round 3 itself without its
nonce word), the h + K + W sums of rounds 4..6 and the nonce-independent schedule words and parts.
`emulate_nonce` then replays the kernel's per-nonce steps from those parameters alone, early
reject included, so the algebra is tested against hashlib on machines without a GPU.

The word names follow the kernel: a3..f3 is block 2's state entering round 3 (after rounds 0..2).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..header import SHA256_IV, SHA256_K, sha256_compress

M32 = 0xFFFFFFFF
KERNEL_NAME = "hb_sha256d_scan"

# The kernel's parameters, in order. The launch part is filled per launch, the rest per job.
LAUNCH_PARAMS = ("hit_count", "found", "capacity", "start", "last", "one")
JOB_PARAMS = (
    "ms0", "ms1", "ms2", "ms3", "ms4", "ms5", "ms6", "ms7",
    "tail0", "tail1", "tail2",
    "target0", "target1", "target2", "target3", "target4", "target5", "target6", "target7",
)
PRECOMPUTED_PARAMS = (
    "a3", "b3", "c3", "e3", "f3",
    "e4_base", "a4_base",
    "hk4", "hk5", "hk6",
    "w16", "w17", "w18_base", "w19_base", "w31_base", "w32_base",
)
KERNEL_PARAMS = LAUNCH_PARAMS + JOB_PARAMS + PRECOMPUTED_PARAMS

PAD_BLOCK2_W4 = 0x80000000  # the 0x80 byte after the 80-byte header
LEN_HEADER_BITS = 640
LEN_DIGEST_BITS = 256


def rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & M32


def bsig0(x: int) -> int:
    return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22)


def bsig1(x: int) -> int:
    return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25)


def ssig0(x: int) -> int:
    return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)


def ssig1(x: int) -> int:
    return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10)


def ch(e: int, f: int, g: int) -> int:
    return g ^ (e & (f ^ g))


def maj(a: int, b: int, c: int) -> int:
    return (a & b) | (c & (a | b))


def bswap32(x: int) -> int:
    return int.from_bytes(x.to_bytes(4, "big"), "little")


@dataclass(frozen=True)
class KernelJob:
    """One job's kernel parameters (everything but the launch part)."""

    midstate: tuple[int, ...]
    tail: tuple[int, ...]
    target: tuple[int, ...]  # 8 words, most significant first
    a3: int
    b3: int
    c3: int
    e3: int
    f3: int
    e4_base: int
    a4_base: int
    hk4: int
    hk5: int
    hk6: int
    w16: int
    w17: int
    w18_base: int
    w19_base: int
    w31_base: int
    w32_base: int

    def job_words(self) -> tuple[int, ...]:
        """The values of JOB_PARAMS + PRECOMPUTED_PARAMS, in kernel order."""
        return (*self.midstate, *self.tail, *self.target, *(getattr(self, n) for n in PRECOMPUTED_PARAMS))


def _round(state: tuple[int, ...], hk: int) -> tuple[int, ...]:
    """One SHA-256 round given h + K + W (hk), as the kernel's HB_ROUND_HK."""
    a, b, c, d, e, f, g, _ = state
    t1 = (hk + bsig1(e) + ch(e, f, g)) & M32
    t2 = (bsig0(a) + maj(a, b, c)) & M32
    return ((t1 + t2) & M32, a, b, c, (d + t1) & M32, e, f, g)


def precompute(midstate: tuple[int, ...], tail: tuple[int, ...], target: tuple[int, ...]) -> KernelJob:
    """What the host computes once per job: see the module docstring."""
    if len(midstate) != 8 or len(tail) != 3 or len(target) != 8:
        raise ValueError("midstate, tail and target must be 8, 3 and 8 words")
    w0, w1, w2 = tail
    state = tuple(midstate)
    for i in range(3):
        state = _round(state, (state[7] + SHA256_K[i] + tail[i]) & M32)
    a3, b3, c3, d3, e3, f3, g3, h3 = state
    # Round 3 without W3: the kernel adds W3 to both halves.
    t1_base = (h3 + bsig1(e3) + ch(e3, f3, g3) + SHA256_K[3]) & M32
    w16 = (ssig0(w1) + w0) & M32  # + ssig1(W14 = 0) + W9 = 0
    w17 = (ssig1(LEN_HEADER_BITS) + ssig0(w2) + w1) & M32  # + W10 = 0
    return KernelJob(
        midstate=tuple(midstate),
        tail=tuple(tail),
        target=tuple(target),
        a3=a3, b3=b3, c3=c3, e3=e3, f3=f3,
        e4_base=(d3 + t1_base) & M32,
        a4_base=(t1_base + bsig0(a3) + maj(a3, b3, c3)) & M32,
        # Round 4's h is g3, round 5's f3, round 6's e3: all still nonce-independent.
        hk4=(g3 + SHA256_K[4] + PAD_BLOCK2_W4) & M32,
        hk5=(f3 + SHA256_K[5]) & M32,
        hk6=(e3 + SHA256_K[6]) & M32,
        w16=w16,
        w17=w17,
        w18_base=(ssig1(w16) + w2) & M32,  # W18 = w18_base + ssig0(W3)
        w19_base=(ssig1(w17) + ssig0(PAD_BLOCK2_W4)) & M32,  # W19 = w19_base + W3
        w31_base=(ssig0(w16) + LEN_HEADER_BITS) & M32,  # W31 = ssig1(W29) + W24 + w31_base
        w32_base=(ssig0(w17) + w16) & M32,  # W32 = ssig1(W30) + W25 + w32_base
    )


@dataclass(frozen=True)
class NonceTrace:
    """What the kernel derives for one nonce."""

    h7: int  # final state word H7 of the second hash, known after round 60
    candidate: bool  # passed the early reject: bswap32(H7) <= target[0]
    hit: bool  # candidate and the full 256-bit hash <= target
    state: tuple[int, ...] | None  # full final state, computed only for candidates (the cold path)


def first_hash_state(job: KernelJob, nonce: int) -> tuple[int, ...]:
    """Block 2 of the first hash from round 3 on, from the precomputed words only."""
    w = [0] * 64
    w3 = bswap32(nonce)
    w[3], w[4], w[15] = w3, PAD_BLOCK2_W4, LEN_HEADER_BITS
    w[16], w[17] = job.w16, job.w17
    w[18] = (job.w18_base + ssig0(w3)) & M32
    w[19] = (job.w19_base + w3) & M32
    for i in range(20, 64):
        if i == 31:
            w[i] = (ssig1(w[29]) + w[24] + job.w31_base) & M32
        elif i == 32:
            w[i] = (ssig1(w[30]) + w[25] + job.w32_base) & M32
        else:
            w[i] = (ssig1(w[i - 2]) + w[i - 7] + ssig0(w[i - 15]) + w[i - 16]) & M32
    state = ((job.a4_base + w3) & M32, job.a3, job.b3, job.c3, (job.e4_base + w3) & M32, job.e3, job.f3, 0)
    for hk in (job.hk4, job.hk5, job.hk6):
        state = _round(state, hk)
    for i in range(7, 64):
        state = _round(state, (state[7] + SHA256_K[i] + w[i]) & M32)
    return tuple((m + s) & M32 for m, s in zip(job.midstate, state, strict=True))


def second_hash_h7(digest1: tuple[int, ...]) -> int:
    """H7 of the second hash from rounds 0..60 only: rounds 61..63 just shift round 60's e into h."""
    w = list(digest1) + [PAD_BLOCK2_W4, 0, 0, 0, 0, 0, 0, LEN_DIGEST_BITS] + [0] * 48
    for i in range(16, 61):
        w[i] = (ssig1(w[i - 2]) + w[i - 7] + ssig0(w[i - 15]) + w[i - 16]) & M32
    state = SHA256_IV
    for i in range(60):
        state = _round(state, (state[7] + SHA256_K[i] + w[i]) & M32)
    _, _, _, d, e, f, g, h = state
    e61 = (d + h + bsig1(e) + ch(e, f, g) + SHA256_K[60] + w[60]) & M32
    return (SHA256_IV[7] + e61) & M32


def full_state(job: KernelJob, nonce: int) -> tuple[int, ...]:
    """The cold path: the whole double hash from midstate and tail, final state words H0..H7."""
    block2 = b"".join(x.to_bytes(4, "big") for x in job.tail) + nonce.to_bytes(4, "little")
    block2 += bytes.fromhex("80") + bytes(39) + LEN_HEADER_BITS.to_bytes(8, "big")
    digest1 = sha256_compress(job.midstate, block2)
    block = b"".join(x.to_bytes(4, "big") for x in digest1)
    block += bytes.fromhex("80") + bytes(23) + LEN_DIGEST_BITS.to_bytes(8, "big")
    return sha256_compress(SHA256_IV, block)


def meets_target(state: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """The cold path's compare: bswap32(H7) against target[0] first, equal counts as a hit."""
    return tuple(bswap32(state[7 - i]) for i in range(8)) <= tuple(target)


def emulate_nonce(job: KernelJob, nonce: int) -> NonceTrace:
    """The kernel's per-nonce steps, from the kernel parameters alone."""
    h7 = second_hash_h7(first_hash_state(job, nonce))
    if bswap32(h7) > job.target[0]:
        return NonceTrace(h7, False, False, None)
    state = full_state(job, nonce)
    return NonceTrace(h7, True, meets_target(state, job.target), state)
