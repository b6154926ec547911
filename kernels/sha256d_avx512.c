/* AVX-512 path: 16 nonces per iteration in the 16 lanes of a zmm register. Rotates are one
 * vprord, Ch / Maj / 3-way XOR one vpternlogd each. Only AVX512F instructions are used.
 * Built without -march flags: the target attribute enables AVX-512 for this code alone, and
 * dispatch.c only hands it out when CPUID and XGETBV say the CPU and OS support it.
 * Cost: about 2,850 vector ALU uops per 16 nonces (no spills in the loop). Golden Cove / Sapphire
 * Rapids runs 512-bit ALU uops on two ports only (p0, p5), so the loop is port-bound at about
 * 89 cycles per nonce: ~25 MH/s at 2.25 GHz, ~34 MH/s at 3 GHz. */
#include "sha256d.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>

#if defined(__GNUC__) || defined(__clang__)
#define HB_AVX512_FN __attribute__((target("avx512f")))
#else
#define HB_AVX512_FN
#endif

#define HBL_NAME hbl_scan_avx512
#define HBL_FN HB_AVX512_FN
#define HBL_LANES 16
#define HBL_V __m512i
#define HBL_SET1(x) _mm512_set1_epi32((int)(x))
#define HBL_ADD(a, b) _mm512_add_epi32((a), (b))
#define HBL_ROR(x, n) _mm512_ror_epi32((x), (n))
#define HBL_SHR(x, n) _mm512_srli_epi32((x), (n))
/* vpternlogd truth tables, index = (a << 2) | (b << 1) | c. */
#define HBL_XOR3(a, b, c) _mm512_ternarylogic_epi32((a), (b), (c), 0x96)
#define HBL_CH(e, f, g) _mm512_ternarylogic_epi32((e), (f), (g), 0xCA)
#define HBL_MAJ(a, b, c) _mm512_ternarylogic_epi32((a), (b), (c), 0xE8)
#define HBL_IOTA(b) \
    _mm512_add_epi32(_mm512_set1_epi32((int)(b)), \
                     _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
/* Byte swap without AVX512BW's vpshufb: bytes 3 and 1 come from ror 8, bytes 2 and 0 from
 * rol 8; vpternlogd 0xE4 selects per bit (c ? a : b). */
#define HBL_BSWAP(x) \
    _mm512_ternarylogic_epi32(_mm512_ror_epi32((x), 8), _mm512_rol_epi32((x), 8), \
                              _mm512_set1_epi32((int)k2->bswap_hi), 0xE4)
#define HBL_LE(x, t) ((uint32_t)_mm512_cmple_epu32_mask((x), _mm512_set1_epi32((int)(t))))
#define HBL_EQ(x, t) ((uint32_t)_mm512_cmpeq_epi32_mask((x), _mm512_set1_epi32((int)(t))))

#include "sha256d_lanes.h"

HB_AVX512_FN uint64_t hb_scan_avx512(const hb_job *job, uint32_t start, uint64_t count,
                                     uint32_t *found, uint32_t max_found) {
    return hbl_scan_avx512(job, start, count, found, max_found);
}

#else /* not x86: never dispatched (hb_impl_supported says no) */

uint64_t hb_scan_avx512(const hb_job *job, uint32_t start, uint64_t count, uint32_t *found,
                        uint32_t max_found) {
    (void)job; (void)start; (void)count; (void)found; (void)max_found;
    return 0;
}

#endif
