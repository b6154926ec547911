/* Just enough of CUDA for g++ to compile kernels/sha256d.cu as host code, so the kernel's own
 * source (parameter order, loop bounds, early reject, hit list) runs in tests without a GPU.
 * The grid is walked block by block, thread by thread, in host_scan.cpp. */
#ifndef HB_CUDA_SHIM_H
#define HB_CUDA_SHIM_H
#include <stdint.h>

#define __host__
#define __device__
#define __global__
#define __forceinline__ inline
#define __noinline__
#define __constant__ static const
#define __launch_bounds__(threads, blocks)
#define __grid_constant__

struct hb_dim3 { unsigned x, y, z; };
static hb_dim3 blockIdx, threadIdx, gridDim, blockDim;

static inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned shift) {
    shift &= 31;
    return shift ? (lo >> shift) | (hi << (32 - shift)) : lo;
}

/* The selector form the kernel uses: each nibble picks one byte of {y:x}. */
static inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
    const uint64_t bytes = ((uint64_t)y << 32) | x;
    unsigned out = 0;
    for (int i = 0; i < 4; ++i) out |= (unsigned)((bytes >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
    return out;
}

static inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((uint64_t)a * b) >> 32); }

static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) {
    unsigned long long old = *p;
    *p = old + v;
    return old;
}
#endif
