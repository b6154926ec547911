/* Runs hb_sha256d_scan from kernels/sha256d.cu on the CPU over a whole grid (see cuda_shim.h). */
#include "cuda_shim.h"
#include "sha256d.cu"

/* words: the kernel's job parameters (JOB_PARAMS + PRECOMPUTED_PARAMS, 35 words) in order. */
extern "C" void hb_host_scan(const uint32_t *w, uint32_t start, uint32_t last, uint32_t grid, uint32_t block,
                             unsigned long long *hit_count, uint32_t *found, uint32_t capacity) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    for (unsigned b = 0; b < grid; ++b) {
        for (unsigned t = 0; t < block; ++t) {
            blockIdx = {b, 0, 0};
            threadIdx = {t, 0, 0};
            hb_sha256d_scan(hit_count, found, capacity, start, last, 1u,
                            w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11], w[12],
                            w[13], w[14], w[15], w[16], w[17], w[18], w[19], w[20], w[21], w[22], w[23], w[24],
                            w[25], w[26], w[27], w[28], w[29], w[30], w[31], w[32], w[33], w[34]);
        }
    }
}
