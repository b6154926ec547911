/* AVX2 path: 8 nonces per iteration in a ymm register. AVX2 has no rotate or ternary logic,
 * so a rotate is two shifts and an OR, Ch three ops, Maj four.
 * Built without -march flags: the target attribute enables AVX2 for this code alone, and
 * dispatch.c only hands it out when CPUID and XGETBV say the CPU and OS support it. */
#include "sha256d.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>

#if defined(__GNUC__) || defined(__clang__)
#define HB_AVX2_FN __attribute__((target("avx2")))
#else
#define HB_AVX2_FN
#endif

#define HBL_NAME hbl_scan_avx2
#define HBL_FN HB_AVX2_FN
#define HBL_LANES 8
#define HBL_V __m256i
#define HBL_SET1(x) _mm256_set1_epi32((int)(x))
#define HBL_ADD(a, b) _mm256_add_epi32((a), (b))
#define HBL_ROR(x, n) _mm256_or_si256(_mm256_srli_epi32((x), (n)), _mm256_slli_epi32((x), 32 - (n)))
#define HBL_SHR(x, n) _mm256_srli_epi32((x), (n))
#define HBL_XOR3(a, b, c) _mm256_xor_si256(_mm256_xor_si256((a), (b)), (c))
#define HBL_CH(e, f, g) _mm256_xor_si256((g), _mm256_and_si256((e), _mm256_xor_si256((f), (g))))
#define HBL_MAJ(a, b, c) \
    _mm256_or_si256(_mm256_and_si256((a), (b)), _mm256_and_si256((c), _mm256_or_si256((a), (b))))
#define HBL_IOTA(b) \
    _mm256_add_epi32(_mm256_set1_epi32((int)(b)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define HBL_BSWAP(x) \
    _mm256_shuffle_epi8((x), _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, \
                                              3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12))
/* Unsigned x <= t as min(x, t) == x; the sign bit of each 32-bit lane gives the mask. */
#define HBL_LE(x, t) \
    ((uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps( \
        _mm256_cmpeq_epi32(_mm256_min_epu32((x), _mm256_set1_epi32((int)(t))), (x)))))
#define HBL_EQ(x, t) \
    ((uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps( \
        _mm256_cmpeq_epi32((x), _mm256_set1_epi32((int)(t))))))

#include "sha256d_lanes.h"

HB_AVX2_FN uint64_t hb_scan_avx2(const hb_job *job, uint32_t start, uint64_t count,
                                 uint32_t *found, uint32_t max_found) {
    return hbl_scan_avx2(job, start, count, found, max_found);
}

#else /* not x86: never dispatched (hb_impl_supported says no) */

uint64_t hb_scan_avx2(const hb_job *job, uint32_t start, uint64_t count, uint32_t *found,
                      uint32_t max_found) {
    (void)job; (void)start; (void)count; (void)found; (void)max_found;
    return 0;
}

#endif
