# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin Cython layer over the C kernels in kernels/: dispatch by name, GIL released while scanning."""

from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport malloc, free

cdef extern from "sha256d.h" nogil:
    ctypedef struct hb_job:
        uint32_t midstate[8]
        uint32_t tail[3]
        uint32_t target[8]
    ctypedef uint64_t (*hb_scan_fn)(const hb_job *job, uint32_t start, uint64_t count,
                                    uint32_t *found, uint32_t max_found) noexcept nogil
    int HB_IMPL_COUNT
    int hb_impl_supported(int impl)
    int hb_best_impl()
    const char *hb_impl_name(int impl)
    hb_scan_fn hb_impl_fn(int impl)
    void hb_sha256d_state(const hb_job *job, uint32_t nonce, uint32_t *out)
    int HB_F_SHANI, HB_F_AVX2, HB_F_AVX512, HB_F_ARMSHA2
    unsigned hb_x86_features(uint32_t ecx1, uint32_t ebx7, uint64_t xcr0)
    unsigned hb_arm_features(uint64_t hwcap)


def impl_names():
    """Every path compiled in, fastest-preferred order not implied."""
    return [hb_impl_name(i).decode() for i in range(HB_IMPL_COUNT)]


def x86_paths_allowed(uint32_t ecx1, uint32_t ebx7, uint64_t xcr0):
    """The x86 extension paths dispatch allows for these CPUID words and XCR0 (tests of the rule)."""
    cdef unsigned f = hb_x86_features(ecx1, ebx7, xcr0)
    return [name for name, bit in (("sha-ni", HB_F_SHANI), ("avx2", HB_F_AVX2), ("avx512", HB_F_AVX512))
            if f & bit]


def arm_paths_allowed(uint64_t hwcap):
    """The AArch64 extension paths dispatch allows for this AT_HWCAP word (tests of the rule)."""
    return ["arm-sha2"] if hb_arm_features(hwcap) & HB_F_ARMSHA2 else []


def _impl_index(str name):
    for i in range(HB_IMPL_COUNT):
        if hb_impl_name(i).decode() == name:
            return i
    raise ValueError(f"unknown CPU implementation {name!r}")


def supported(str name):
    return bool(hb_impl_supported(_impl_index(name)))


def best():
    return hb_impl_name(hb_best_impl()).decode()


cdef void _fill(hb_job *job, midstate, tail, target) except *:
    cdef int i
    for i in range(8):
        job.midstate[i] = midstate[i]
        job.target[i] = target[i]
    for i in range(3):
        job.tail[i] = tail[i]


def scan(str impl, midstate, tail, target, uint32_t start, uint64_t count, max_found):
    """Scan nonces start..start+count-1; returns (total hits, first max_found hit nonces)."""
    if count == 0 or start + count > (<uint64_t>1 << 32):
        raise ValueError("range must be non-empty and end at or below 2^32")
    if max_found < 0:
        raise ValueError("max_found must be >= 0")
    cdef int idx = _impl_index(impl)
    if not hb_impl_supported(idx):
        raise ValueError(f"CPU implementation {impl!r} is not supported on this machine")
    cdef hb_job job
    _fill(&job, midstate, tail, target)
    cdef hb_scan_fn fn = hb_impl_fn(idx)
    # A range has at most `count` hits: max_found (any size, as `scan --max-found` takes it) is cut to that, and to
    # the kernels' uint32 (2^32 hits listed cannot be built in Python anyway), so the list never outgrows the range.
    cdef uint32_t slots = <uint32_t> min(max_found, count, 0xFFFFFFFF)
    cdef uint32_t *found = <uint32_t *> malloc((slots if slots else 1) * sizeof(uint32_t))
    if found == NULL:
        raise MemoryError()
    cdef uint64_t hits
    try:
        with nogil:
            hits = fn(&job, start, count, found, slots)
        stored = hits if hits < slots else slots
        return hits, [found[i] for i in range(stored)]
    finally:
        free(found)


def sha256d_state(midstate, tail, uint32_t nonce):
    """The C scalar double hash (final state words), for tests of the shared helpers."""
    cdef hb_job job
    _fill(&job, midstate, tail, [0] * 8)
    cdef uint32_t out[8]
    hb_sha256d_state(&job, nonce, out)
    return [out[i] for i in range(8)]
