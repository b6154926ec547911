/* 128-bit SIMD path: the lane template on 4 uint32 lanes through the compiler's generic vector types
 * (GCC/Clang vector_size), which compile to the vector unit every target of the architecture has: SSE2 on
 * x86-64, NEON (Advanced SIMD) on AArch64. It is the fast path where none of the x86 extension paths applies:
 * Arm servers (Grace, Graviton, Ampere) and x86 CPUs without AVX2. Neither baseline has a vector rotate, so a
 * rotate is two shifts and an OR (on NEON the compiler may fuse the OR into a shift-and-insert). */
#include "sha256d.h"

#if defined(__GNUC__) || defined(__clang__)

typedef uint32_t hb_v4u __attribute__((vector_size(16)));
typedef int32_t hb_v4i __attribute__((vector_size(16)));

static inline hb_v4u hb_v4_set1(uint32_t x) { return (hb_v4u){x, x, x, x}; }
static inline hb_v4u hb_v4_bswap(hb_v4u x) {
    return (x >> 24) | ((x >> 8) & hb_v4_set1(0xff00u)) | ((x << 8) & hb_v4_set1(0xff0000u)) | (x << 24);
}
/* A lane comparison gives -1 (true) or 0 per lane; bit j of the mask is lane j. */
static inline uint32_t hb_v4_mask(hb_v4i m) {
    return (uint32_t)((m[0] & 1) | (m[1] & 2) | (m[2] & 4) | (m[3] & 8));
}

#define HBL_NAME hbl_scan_simd128
#define HBL_FN
#define HBL_LANES 4
#define HBL_V hb_v4u
#define HBL_SET1(x) hb_v4_set1((uint32_t)(x))
#define HBL_ADD(a, b) ((a) + (b))
#define HBL_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define HBL_SHR(x, n) ((x) >> (n))
#define HBL_XOR3(a, b, c) ((a) ^ (b) ^ (c))
#define HBL_CH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))
#define HBL_MAJ(a, b, c) (((a) & (b)) | ((c) & ((a) | (b))))
#define HBL_IOTA(b) ((hb_v4u){(uint32_t)(b), (uint32_t)(b) + 1u, (uint32_t)(b) + 2u, (uint32_t)(b) + 3u})
#define HBL_BSWAP(x) hb_v4_bswap(x)
#define HBL_LE(x, t) hb_v4_mask((hb_v4i)((x) <= hb_v4_set1((uint32_t)(t))))
#define HBL_EQ(x, t) hb_v4_mask((hb_v4i)((x) == hb_v4_set1((uint32_t)(t))))

#include "sha256d_lanes.h"

int hb_simd128_available(void) { return 1; }

uint64_t hb_scan_simd128(const hb_job *job, uint32_t start, uint64_t count, uint32_t *found,
                         uint32_t max_found) {
    return hbl_scan_simd128(job, start, count, found, max_found);
}

#else /* a compiler without generic vectors (MSVC): never dispatched */

int hb_simd128_available(void) { return 0; }

uint64_t hb_scan_simd128(const hb_job *job, uint32_t start, uint64_t count, uint32_t *found,
                         uint32_t max_found) {
    (void)job; (void)start; (void)count; (void)found; (void)max_found;
    return 0;
}

#endif
