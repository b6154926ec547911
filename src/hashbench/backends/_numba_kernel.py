"""SHA-256d nonce scanner compiled by Numba: LLVM-vectorized over nonce lanes, parallel over chunks.

Mirrors hb_scan_* in kernels/sha256d.h: scan(midstate, tail, target, start, count, max_found,
threads) -> (total hits, first max_found hit nonces ascending).

How the SIMD comes about: TODO
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

__all__ = ["LANES", "scan", "warm_up"]

u32 = np.uint32

LANES = 32
L = LANES

_CHUNK_CAP = 64

_K = np.array([
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
], dtype=np.uint32)
_IV = (u32(0x6A09E667), u32(0xBB67AE85), u32(0x3C6EF372), u32(0xA54FF53A),
       u32(0x510E527F), u32(0x9B05688C), u32(0x1F83D9AB), u32(0x5BE0CD19))
_Z = u32(0)
_PAD = u32(0x80000000)

_OPTS = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False)
_INL = dict(_OPTS, inline="always")


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
    return u32((x << u32(24)) | ((x & u32(0xFF00)) << u32(8)) | ((x >> u32(8)) & u32(0xFF00)) | (x >> u32(24)))


@njit(**_OPTS)
def _rnd(st, kw):
    a, b, c, d, e, f, g, h = st
    t1 = u32(h + _bsig1(e) + u32(g ^ (e & (f ^ g))) + kw)
    t2 = u32(_bsig0(a) + u32((a & b) | (c & (a | b))))
    return (u32(t1 + t2), a, b, c, u32(d + t1), e, f, g)


@njit(**_OPTS)
def _w(m2, m7, m15, m16):
    return u32(_ssig1(m2) + m7 + _ssig0(m15) + m16)


@njit(**_INL)
def _expand(w):
    w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15 = w
    x0 = _w(w14, w9, w1, w0)
    x1 = _w(w15, w10, w2, w1)
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
def _r16(st, w, i0, first, last):
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


@njit(**_OPTS)
def _sha256d_state(ms, tail, nonce):
    """Plain scalar SHA-256d of the header with this nonce: final state words H0..H7."""
    mid = (ms[0], ms[1], ms[2], ms[3], ms[4], ms[5], ms[6], ms[7])
    w = (tail[0], tail[1], tail[2], _bswap(u32(nonce)), _PAD, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, u32(640))
    st = _r16(mid, w, 0, 0, 63)
    for i0 in (16, 32, 48):
        w = _expand(w)
        st = _r16(st, w, i0, 0, 63)
    h = _add8(mid, st)
    w = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], _PAD, _Z, _Z, _Z, _Z, _Z, _Z, u32(256))
    st = _r16(_IV, w, 0, 0, 63)
    for i0 in (16, 32, 48):
        w = _expand(w)
        st = _r16(st, w, i0, 0, 63)
    return _add8(_IV, st)


@njit(**_OPTS)
def _meets(h, target):
    # Hash integer words, most significant first: bswap32(H7), bswap32(H6), ...
    for k in range(8):
        x = _bswap(h[7 - k])
        if x != target[k]:
            return x < target[k]
    return True


@njit(**_OPTS)
def _scan_range(midstate, tail, target, start, count, found, cap):
    """Scan start..start+count-1 serially; stores the first `cap` hits in found, returns hits."""
    mid = (midstate[0], midstate[1], midstate[2], midstate[3], midstate[4], midstate[5], midstate[6], midstate[7])
    t0, t1, t2 = tail[0], tail[1], tail[2]
    tgt0 = u32(target[0])
    # Rounds 0..2 of block 2 use only the tail words.
    st = _r16(mid, (t0, t1, t2, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z), 0, 0, 2)
    a, b, c, d, e, f, g, h = st
    # Round 3: t1 = p3 + W3, everything but the nonce word known.
    p3 = u32(h + _bsig1(e) + u32(g ^ (e & (f ^ g))) + _K[3])
    a3 = u32(p3 + _bsig0(a) + u32((a & b) | (c & (a | b))))
    e3 = u32(p3 + d)
    iv7 = _IV[7]

    h7s = np.empty(L, np.uint32)
    hits = 0
    end = start + count
    for base in range(start, end, L):
        ncand = u32(0)
        for l in range(L):
            w3 = _bswap(u32(base + l))
            s = (u32(a3 + w3), a, b, c, u32(e3 + w3), e, f, g)
            w = (t0, t1, t2, w3, _PAD, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, _Z, u32(640))
            s = _r16(s, w, 0, 4, 63)
            w = _expand(w)
            s = _r16(s, w, 16, 0, 63)
            w = _expand(w)
            s = _r16(s, w, 32, 0, 63)
            w = _expand(w)
            s = _r16(s, w, 48, 0, 63)
            m = _add8(mid, s)
            w = (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], _PAD, _Z, _Z, _Z, _Z, _Z, _Z, u32(256))
            s = _r16(_IV, w, 0, 0, 63)
            w = _expand(w)
            s = _r16(s, w, 16, 0, 63)
            w = _expand(w)
            s = _r16(s, w, 32, 0, 63)
            w = _expand(w)
            s = _r16(s, w, 48, 0, 60)
            h7 = u32(iv7 + s[4])
            h7s[l] = h7
            ncand = u32(ncand + u32(_bswap(h7) <= tgt0))
        if ncand:
            for l in range(L):
                nonce = base + l
                if nonce < end and _bswap(h7s[l]) <= tgt0:
                    if _meets(_sha256d_state(midstate, tail, nonce), target):
                        if hits < cap:
                            found[hits] = nonce
                        hits += 1
    return hits


# --- parallel driver and the public entry points -----------------------------------------------

@njit(parallel=True, **_OPTS)
def _scan_chunks(midstate, tail, target, start, count, chunk, found, counts):
    """Chunk c covers start + c*chunk .. (clipped to the range); its hits go to found[c] (the first
    found.shape[1] of them) and counts[c]. Chunks are independent, so any schedule gives the
    same result, and concatenating them in chunk order keeps nonces ascending."""
    nchunks = counts.shape[0]
    cap = found.shape[1]
    end = start + count
    for c in prange(nchunks):
        s = start + c * chunk
        n = min(chunk, end - s)
        counts[c] = _scan_range(midstate, tail, target, s, n, found[c], cap)


def _words(x, n: int) -> np.ndarray:
    # A fresh writable C array, so every caller hits the same compiled (and cached) signature.
    a = np.array(x, dtype=np.uint32).reshape(-1)
    if a.shape[0] != n:
        raise ValueError(f"expected {n} uint32 words, got {a.shape[0]}")
    return a


def scan(midstate, tail, target, start: int, count: int, max_found: int,
         threads: int) -> tuple[int, np.ndarray]:
    """Hash nonces start..start+count-1; returns (total hits, first max_found hits ascending)."""
    ms, tl, tg = _words(midstate, 8), _words(tail, 3), _words(target, 8)
    start, count, max_found = int(start), int(count), max(0, int(max_found))
    if count < 1 or start < 0 or start + count > 1 << 32:
        raise ValueError(f"bad nonce range start={start} count={count}")
    threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    # Below a few lane-steps per thread the parallel launch costs more than it saves.
    if threads == 1 or count < threads * L * 64:
        found = np.empty(max(max_found, 1), np.uint32)
        hits = _scan_range(ms, tl, tg, start, count, found, max_found)
        return int(hits), found[:min(hits, max_found)].copy()

    # A few chunks per thread, whole lane-steps each, handed out one at a time: a thread slowed
    # by a neighbour on a shared machine then takes fewer chunks instead of finishing last.
    nchunks = min(threads * 8, -(-count // (L * 64)))
    chunk = -(-count // nchunks)
    chunk = -(-chunk // L) * L
    nchunks = -(-count // chunk)
    cap = min(max_found, _CHUNK_CAP)
    found = np.empty((nchunks, max(cap, 1)), np.uint32)
    counts = np.zeros(nchunks, np.int64)
    old_threads = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        with numba.parallel_chunksize(1):
            _scan_chunks(ms, tl, tg, start, count, chunk, found, counts)
    finally:
        numba.set_num_threads(old_threads)

    out: list[np.ndarray] = []
    have = 0
    for c in range(nchunks):
        if have >= max_found:
            break
        n = int(counts[c])
        if min(n, max_found - have) <= cap:
            take = found[c, :min(n, max_found - have)]
        else:
            # Rare: a chunk with more hits than its slots while the caller still wants more
            # (easy targets only). Rescanning that one chunk serially is simpler than sizing
            # every chunk's buffer for max_found.
            s = start + c * chunk
            want = max_found - have
            buf = np.empty(want, np.uint32)
            _scan_range(ms, tl, tg, s, min(chunk, start + count - s), buf, want)
            take = buf[:min(n, want)]
        out.append(take)
        have += take.shape[0]
    hits = int(counts.sum())
    found_all = np.concatenate(out) if out else np.empty(0, np.uint32)
    return hits, found_all[:max_found].astype(np.uint32, copy=True)


def warm_up() -> None:
    """Compile, or load from the on-disk cache, every kernel scan() may call."""
    ms = np.zeros(8, np.uint32)
    tl = np.zeros(3, np.uint32)
    tg = np.full(8, 0xFFFFFFFF, np.uint32)
    scan(ms, tl, tg, 0, L + 1, 1, 1)
    if numba.config.NUMBA_NUM_THREADS > 1:
        scan(ms, tl, tg, 0, 2 * L * 64 + 3, 1, 2)
