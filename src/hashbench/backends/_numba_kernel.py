"""SHA-256d nonce scanner compiled by Numba: vectorized over nonce lanes, parallel over chunks.

Same contract as hb_scan_* in kernels/sha256d.h:
scan(midstate, tail, target, start, count, max_found, threads) -> (total hits, first max_found
hit nonces in ascending order).

How the SIMD comes about
------------------------
Numba has no vector types, and it leaves LLVM's SLP (straight-line) vectorizer off by default, so
the only vectorizer we can rely on is the *loop* vectorizer, which works on innermost loops.
So the innermost loop runs over the lanes: `for lane in range(L)` (L = 16 nonces, 8 on AVX2).
Its body is the whole per-nonce SHA-256d written as one straight line of scalar uint32 code, with
no loops, branches or memory traffic (message words and working variables are tuples, so they
end up in SSA registers). The helpers that make up that body (_r16, _expand_from) are
`forceinline`, which marks them `alwaysinline` for LLVM. Inlining happens before the vectorizer
runs, so the vectorizer sees one loop whose iterations are independent and identical. It widens
every scalar op to <L x i32>: each round does the same op on all lanes at once.

By default LLVM's x86 tuning for recent Intel cores prefers 256-bit vectors ("prefer-256-bit"),
which would split those ops over two ymm registers. _scan_range therefore carries the
function attribute "prefer-vector-width"="512" (what clang's -mprefer-vector-width=512 emits);
Numba has no option for that, so a tiny intrinsic adds it to the LLVM function (see
_prefer_512_bit_vectors). With AVX-512 one loop iteration is then one zmm per SHA-256
variable. The asm (dispatcher.inspect_asm) of the loop body on a Sapphire-Rapids-class Xeon:
about 3,100 instructions per 16 nonces. These include vpaddd zmm 1042 and vprold zmm 1020 (a
rotate is one instruction) and vpternlogd zmm 742: Ch and each three-way XOR of the Sigma
functions take one op each, and Maj takes two, because LLVM shares half of it with the next
round. The rest are vpsrld zmm 156, two vpshufb (the byte swaps of the nonce and H7) and about
130 register moves and spills. The loop has no 64-bit lanes and no scalar arithmetic. Without
the hint the same code is ymm pairs and runs at about 2/3 of the speed. On a machine without
AVX-512 the hint has no effect and the loop becomes AVX2 ymm code.

Integer typing: Numba widens uint32 arithmetic to uint64 (and uint32 mixed with a Python int
becomes float64), so every intermediate is wrapped in u32(...) and every constant is a u32. The
truncations let LLVM narrow the arithmetic back to i32, which the asm above confirms.

Work saved per nonce
--------------------
- The midstate (block 1) is given. Rounds 0..2 of block 2 use only the tail words and run once per
  range. Round 3 becomes two adds of the nonce word (a3 + W3, e3 + W3).
- Schedule words W16 and W17 of block 2 are computed once per range (_expand_from takes them as
  inputs). The padding words of both blocks are literal constants. LLVM folds them and hoists
  every nonce-independent subexpression (the constant parts of W18..W32 and of the second hash's
  schedule) out of the loop. The rotate count above equals a hand count of the rotates that really
  depend on the nonce, so nothing constant is left in the loop.
- Early reject: the most significant 32 bits of the hash are bswap32(H7), and H7 = IV7 + the e
  produced in round 60 of the second hash. So the vector loop stops after round 60; rounds 61..63
  and W61..W63 are never computed there, and LLVM's dead-code elimination drops the parts of rounds
  57..60 that e does not need. Only lanes with bswap32(H7) <= target[0] get a full scalar
  recomputation and the 256-bit compare (_sha256d_state, _meets).

Threads: scan(threads > 1) splits the range into chunks and runs _scan_range on them with
numba.prange (parallel=True). Each chunk stores its first few hits and counts all of them. The
chunks are merged in order, so the result does not depend on the thread count or threading layer.

Compiled with cache=True: the first use on a machine pays the JIT (about 25-60 s depending on
load); later processes load the machine code from __pycache__ (or NUMBA_CACHE_DIR) in well
under a second.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from llvmlite import binding as llvm
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic

from ..header import SHA256_IV, SHA256_K

__all__ = ["LANES", "scan", "warm_up"]

u32 = np.uint32


def _pick_lanes() -> int:
    """Nonces per vector step: 16 uint32 fill one zmm. On AVX2-only machines (16 ymm registers)
    16 lanes become ymm pairs that spill heavily, and 8 lanes were about 20% faster."""
    try:
        features = numba.config.CPU_FEATURES or llvm.get_host_cpu_features().flatten()
    except RuntimeError:    # LLVM cannot list this CPU's features; 16 is correct everywhere
        return 16
    return 16 if "+avx512f" in features.split(",") else 8


LANES = _pick_lanes()
L = LANES

# Hits each parallel chunk keeps. A chunk with more hits, when the caller still wants them, is
# rescanned serially (only easy targets get there).
_CHUNK_CAP = 64

_K = np.array(SHA256_K, dtype=np.uint32)
_IV = tuple(u32(v) for v in SHA256_IV)
_Z = u32(0)
_PAD = u32(0x80000000)     # the 1 bit after the message
_LEN1 = u32(640)           # block 2 of the header: 80 bytes
_LEN2 = u32(256)           # second hash: 32 bytes

# boundscheck off and error_model='numpy': nothing in the hot loop may raise, which keeps
# exception branches out of the loop so it stays vectorizable.
_OPTS = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}
# For helpers that must disappear into the lane loop. Numba's own inline="always" would do
# the same at the IR level, but it took twice as long to compile.
_INL = {**_OPTS, "forceinline": True}

# The workqueue threading layer aborts the process if two Python threads enter parallel code at
# the same time. Serialize our parallel calls; the serial path needs no lock.
_PARALLEL_LOCK = threading.Lock()


@intrinsic
def _prefer_512_bit_vectors(typingctx):
    """Adds "prefer-vector-width"="512" to the LLVM function that calls this (see the module
    docstring). llvmlite's attribute set accepts only keyword attributes, so the string
    attribute goes in through set.add. The IR printer writes it verbatim. If a future llvmlite
    refuses it, we lose the hint (ymm code), not correctness."""
    def codegen(context, builder, signature, args):
        try:
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        except (AttributeError, TypeError, ValueError):
            pass  # keep the default vector width
        return context.get_dummy_value()
    return types.void(), codegen


# --- SHA-256 in scalar uint32 (vectorized by being called inside the lane loop) ----------------

@njit(**_OPTS)
def _rotr(x, n):
    return u32((x >> u32(n)) | (x << u32(32 - n)))


@njit(**_OPTS)
def _bsig0(a):
    return u32(_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22))


@njit(**_OPTS)
def _bsig1(e):
    return u32(_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25))


@njit(**_OPTS)
def _ssig0(w):
    return u32(_rotr(w, 7) ^ _rotr(w, 18) ^ (w >> u32(3)))


@njit(**_OPTS)
def _ssig1(w):
    return u32(_rotr(w, 17) ^ _rotr(w, 19) ^ (w >> u32(10)))


@njit(**_OPTS)
def _bswap(x):
    # LLVM recognizes this as bswap (vpshufb once vectorized).
    return u32((x << u32(24)) | ((x & u32(0xFF00)) << u32(8)) | ((x >> u32(8)) & u32(0xFF00)) | (x >> u32(24)))


@njit(**_OPTS)
def _rnd(st, kw):
    """One round; kw = K[i] + W[i]. Ch becomes one vpternlogd. LLVM rewrites Maj, whatever
    form it is written in, and shares half of it with the next round: two ops."""
    a, b, c, d, e, f, g, h = st
    t1 = u32(h + _bsig1(e) + u32(g ^ (e & (f ^ g))) + kw)
    t2 = u32(_bsig0(a) + u32((a & b) | (c & (a | b))))
    return (u32(t1 + t2), a, b, c, u32(d + t1), e, f, g)


@njit(**_OPTS)
def _w(m2, m7, m15, m16):
    """W[i] from W[i-2], W[i-7], W[i-15], W[i-16]."""
    return u32(_ssig1(m2) + m7 + _ssig0(m15) + m16)


@njit(**_INL)
def _expand_from(w, x0, x1):
    """The next 16 schedule words after the window w, given the first two of them."""
    _, _, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15 = w
    x2 = _w(x0, w11, w3, w2)
    x3 = _w(x1, w12, w4, w3)
    x4 = _w(x2, w13, w5, w4)
    x5 = _w(x3, w14, w6, w5)
    x6 = _w(x4, w15, w7, w6)
    x7 = _w(x5, x0, w8, w7)
    x8 = _w(x6, x1, w9, w8)
    x9 = _w(x7, x2, w10, w9)
    x10 = _w(x8, x3, w11, w10)
    x11 = _w(x9, x4, w12, w11)
    x12 = _w(x10, x5, w13, w12)
    x13 = _w(x11, x6, w14, w13)
    x14 = _w(x12, x7, w15, w14)
    x15 = _w(x13, x8, x0, w15)
    return (x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15)


@njit(**_INL)
def _expand(w):
    return _expand_from(w, _w(w[14], w[9], w[1], w[0]), _w(w[15], w[10], w[2], w[1]))


@njit(**_INL)
def _r16(st, w, i0, first, last):
    """Rounds i0..i0+15 with message words w, restricted to rounds first..last. The bounds are
    constants at every call site, so the tests fold away and skipped rounds cost nothing."""
    if first <= i0 + 0 <= last:
        st = _rnd(st, u32(_K[i0 + 0] + w[0]))
    if first <= i0 + 1 <= last:
        st = _rnd(st, u32(_K[i0 + 1] + w[1]))
    if first <= i0 + 2 <= last:
        st = _rnd(st, u32(_K[i0 + 2] + w[2]))
    if first <= i0 + 3 <= last:
        st = _rnd(st, u32(_K[i0 + 3] + w[3]))
    if first <= i0 + 4 <= last:
        st = _rnd(st, u32(_K[i0 + 4] + w[4]))
    if first <= i0 + 5 <= last:
        st = _rnd(st, u32(_K[i0 + 5] + w[5]))
    if first <= i0 + 6 <= last:
        st = _rnd(st, u32(_K[i0 + 6] + w[6]))
    if first <= i0 + 7 <= last:
        st = _rnd(st, u32(_K[i0 + 7] + w[7]))
    if first <= i0 + 8 <= last:
        st = _rnd(st, u32(_K[i0 + 8] + w[8]))
    if first <= i0 + 9 <= last:
        st = _rnd(st, u32(_K[i0 + 9] + w[9]))
    if first <= i0 + 10 <= last:
        st = _rnd(st, u32(_K[i0 + 10] + w[10]))
    if first <= i0 + 11 <= last:
        st = _rnd(st, u32(_K[i0 + 11] + w[11]))
    if first <= i0 + 12 <= last:
        st = _rnd(st, u32(_K[i0 + 12] + w[12]))
    if first <= i0 + 13 <= last:
        st = _rnd(st, u32(_K[i0 + 13] + w[13]))
    if first <= i0 + 14 <= last:
        st = _rnd(st, u32(_K[i0 + 14] + w[14]))
    if first <= i0 + 15 <= last:
        st = _rnd(st, u32(_K[i0 + 15] + w[15]))
    return st


@njit(**_OPTS)
def _add8(x, y):
    return (u32(x[0] + y[0]), u32(x[1] + y[1]), u32(x[2] + y[2]), u32(x[3] + y[3]),
            u32(x[4] + y[4]), u32(x[5] + y[5]), u32(x[6] + y[6]), u32(x[7] + y[7]))


# --- scalar path for the rare candidates -------------------------------------------------------

@njit(**_OPTS)
def _compress(state, block):
    # Rolled loops on purpose: speed does not matter here, compile time does.
    w = np.empty(64, np.uint32)
    for i in range(16):
        w[i] = block[i]
    for i in range(16, 64):
        w[i] = _w(w[i - 2], w[i - 7], w[i - 15], w[i - 16])
    a, b, c, d, e, f, g, h = state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7]
    for i in range(64):
        a, b, c, d, e, f, g, h = _rnd((a, b, c, d, e, f, g, h), u32(_K[i] + w[i]))
    out = np.empty(8, np.uint32)
    for k, v in enumerate((a, b, c, d, e, f, g, h)):
        out[k] = u32(state[k] + v)
    return out


@njit(**_OPTS)
def _sha256d_state(midstate, tail, nonce):
    """Full SHA-256d of the header with this nonce: final state words H0..H7."""
    block = np.zeros(16, np.uint32)
    block[0], block[1], block[2] = tail[0], tail[1], tail[2]
    block[3] = _bswap(u32(nonce))
    block[4] = _PAD
    block[15] = _LEN1
    first = _compress(midstate, block)
    block[:] = 0
    block[:8] = first
    block[8] = _PAD
    block[15] = _LEN2
    iv = np.empty(8, np.uint32)
    for k in range(8):
        iv[k] = _IV[k]
    return _compress(iv, block)


@njit(**_OPTS)
def _meets(h, target):
    # The hash integer's words, most significant first, are bswap32(H7), bswap32(H6), ...
    for k in range(8):
        x = _bswap(h[7 - k])
        if x != target[k]:
            return x < target[k]
    return True


# --- the vectorized scan of one contiguous range ------------------------------------------------

@njit(**_OPTS)
def _scan_range(midstate, tail, target, start, count, found, cap):
    """Scans start..start+count-1 on one thread. Stores the first `cap` hits in found and
    returns the number of hits."""
    _prefer_512_bit_vectors()
    mid = (midstate[0], midstate[1], midstate[2], midstate[3],
           midstate[4], midstate[5], midstate[6], midstate[7])
    t0, t1, t2 = tail[0], tail[1], tail[2]
    tgt0 = u32(target[0])

    # Once per range: rounds 0..2 of block 2 (tail words only) ...
    a, b, c, d, e, f, g, h = _r16(mid, (t0, t1, t2, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z), 0, 0, 2)
    # ... everything of round 3 except the nonce word: new a = a3 + W3, new e = e3 + W3 ...
    p3 = u32(h + _bsig1(e) + u32(g ^ (e & (f ^ g))) + _K[3])
    a3 = u32(p3 + _bsig0(a) + u32((a & b) | (c & (a | b))))
    e3 = u32(p3 + d)
    # ... and W16, W17 (W9, W10, W14 = 0, W15 = 640).
    w16 = u32(_ssig0(t1) + t0)
    w17 = u32(_ssig1(_LEN1) + _ssig0(t2) + t1)
    iv7 = _IV[7]

    h7s = np.empty(L, np.uint32)
    hits = 0
    end = start + count
    for base in range(start, end, L):
        # Lanes past `end` (last step of a range) are hashed too, but nonces wrap in uint32 and
        # their results are never reported.
        nonce0 = u32(base)
        ncand = u32(0)
        # The vectorized loop: one iteration = one nonce, all in registers, so LLVM can run
        # the L iterations side by side in one vector (see the module docstring).
        for lane in range(L):
            w3 = _bswap(u32(nonce0 + u32(lane)))
            s = (u32(a3 + w3), a, b, c, u32(e3 + w3), e, f, g)
            w = (t0, t1, t2, w3, _PAD, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _LEN1)
            s = _r16(s, w, 0, 4, 63)
            w = _expand_from(w, w16, w17)
            s = _r16(s, w, 16, 0, 63)
            w = _expand(w)
            s = _r16(s, w, 32, 0, 63)
            w = _expand(w)
            s = _r16(s, w, 48, 0, 63)
            m = _add8(mid, s)
            # Second hash: message = first digest words, then padding; state starts at IV.
            w = (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], _PAD, _Z, _Z, _Z, _Z, _Z, _Z, _LEN2)
            s = _r16(_IV, w, 0, 0, 63)
            w = _expand(w)
            s = _r16(s, w, 16, 0, 63)
            w = _expand(w)
            s = _r16(s, w, 32, 0, 63)
            w = _expand(w)
            s = _r16(s, w, 48, 0, 60)          # early reject: stop after round 60
            h7 = u32(iv7 + s[4])               # the e from round 60 becomes h after round 63
            h7s[lane] = h7
            ncand = u32(ncand + u32(_bswap(h7) <= tgt0))
        if ncand:
            for lane in range(L):
                nonce = base + lane
                if (nonce < end and _bswap(h7s[lane]) <= tgt0
                        and _meets(_sha256d_state(midstate, tail, nonce), target)):
                    if hits < cap:
                        found[hits] = nonce
                    hits += 1
    return hits


# --- parallel driver and the public entry points -----------------------------------------------

@njit(parallel=True, **_OPTS)
def _scan_chunks(midstate, tail, target, start, count, chunk, found, counts):
    """Chunk c is start + c*chunk .., clipped to the range. It records its first
    found.shape[1] hits in found[c] and its hit count in counts[c]."""
    nchunks = counts.shape[0]
    cap = found.shape[1]
    end = start + count
    for c in prange(nchunks):
        s = start + c * chunk
        n = min(chunk, end - s)
        counts[c] = _scan_range(midstate, tail, target, s, n, found[c], cap)


def _words(x, n: int) -> np.ndarray:
    # A fresh, writable, C-contiguous uint32 array, so every call matches the one compiled
    # (and cached) signature.
    a = np.array(x, dtype=np.uint32).reshape(-1)
    if a.shape[0] != n:
        raise ValueError(f"expected {n} uint32 words, got {a.shape[0]}")
    return a


def scan(midstate: np.ndarray, tail: np.ndarray, target: np.ndarray, start: int, count: int,
         max_found: int, threads: int) -> tuple[int, np.ndarray]:
    """Hash nonces start..start+count-1. Returns (total hits, uint32 array of the first
    max_found hit nonces in ascending order)."""
    ms, tl, tg = _words(midstate, 8), _words(tail, 3), _words(target, 8)
    start, count, max_found = int(start), int(count), max(0, int(max_found))
    if count < 1 or start < 0 or start + count > 1 << 32:
        raise ValueError(f"nonce range start={start} count={count} is empty or leaves 0..2^32-1")
    threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))

    # A parallel launch costs tens of microseconds; not worth it for a few thousand nonces.
    if threads == 1 or count < threads * L * 64:
        found = np.empty(max(1, min(max_found, count)), np.uint32)
        hits = _scan_range(ms, tl, tg, start, count, found, max_found)
        return int(hits), found[:min(hits, max_found)].copy()

    # Several chunks per thread, scheduled one chunk at a time (parallel_chunksize(1)). Under
    # the TBB threading layer they are handed out dynamically, so a thread that gets less CPU
    # on a shared machine takes fewer chunks. OpenMP and workqueue split them evenly, the same
    # as one chunk per thread. The result is identical either way.
    nchunks = min(threads * 8, -(-count // (L * 64)))
    chunk = -(-count // nchunks)
    chunk = -(-chunk // L) * L          # whole vector steps, so only the last chunk has a tail
    nchunks = -(-count // chunk)
    cap = min(max_found, _CHUNK_CAP)
    found = np.empty((nchunks, max(cap, 1)), np.uint32)
    counts = np.zeros(nchunks, np.int64)
    with _PARALLEL_LOCK:
        old_threads = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            with numba.parallel_chunksize(1):
                _scan_chunks(ms, tl, tg, start, count, chunk, found, counts)
        finally:
            numba.set_num_threads(old_threads)

    # Chunks are consecutive and each lists its hits in order, so concatenating them in chunk
    # order gives the global ascending order, whatever thread ran which chunk.
    out: list[np.ndarray] = []
    have = 0
    for c in range(nchunks):
        if have >= max_found:
            break
        n = int(counts[c])
        want = min(n, max_found - have)
        if want <= cap:
            take = found[c, :want]
        else:
            # The chunk kept only `cap` of the hits we still want. This happens only with easy
            # targets. Rescanning that chunk is simpler than giving every chunk max_found slots.
            s = start + c * chunk
            take = np.empty(want, np.uint32)
            _scan_range(ms, tl, tg, s, min(chunk, start + count - s), take, want)
        out.append(take)
        have += want
    found_all = np.concatenate(out) if out else np.empty(0, np.uint32)
    return int(counts.sum()), found_all.astype(np.uint32, copy=True)


def warm_up() -> None:
    """Compiles, or loads from the on-disk cache, the serial and the parallel kernel."""
    ms = np.zeros(8, np.uint32)
    tl = np.zeros(3, np.uint32)
    tg = np.full(8, 0xFFFFFFFF, np.uint32)   # every nonce a hit: the candidate path compiles too
    scan(ms, tl, tg, 0, L + 1, 1, 1)
    if numba.config.NUMBA_NUM_THREADS > 1:
        scan(ms, tl, tg, 0, 2 * L * 64 + 3, 1, 2)
