/* Portable path: the lane template instantiated with one plain uint32_t lane. No ISA
 * extensions, so it builds with plain -O3 anywhere and is always available. */
#include "sha256d.h"

#define HBL_NAME hbl_scan_portable
#define HBL_FN
#define HBL_LANES 1
#define HBL_V uint32_t
#define HBL_SET1(x) ((uint32_t)(x))
#define HBL_ADD(a, b) ((uint32_t)((a) + (b)))
#define HBL_ROR(x, n) ((uint32_t)(((x) >> (n)) | ((x) << (32 - (n)))))
#define HBL_SHR(x, n) ((uint32_t)((x) >> (n)))
#define HBL_XOR3(a, b, c) ((a) ^ (b) ^ (c))
#define HBL_CH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))
#define HBL_MAJ(a, b, c) (((a) & (b)) | ((c) & ((a) | (b))))
#define HBL_IOTA(b) ((uint32_t)(b))
#define HBL_BSWAP(x) hb_bswap32(x)
#define HBL_LE(x, t) ((uint32_t)((x) <= (t)))
#define HBL_EQ(x, t) ((uint32_t)((x) == (t)))

#include "sha256d_lanes.h"

uint64_t hb_scan_portable(const hb_job *job, uint32_t start, uint64_t count, uint32_t *found,
                          uint32_t max_found) {
    return hbl_scan_portable(job, start, count, found, max_found);
}
