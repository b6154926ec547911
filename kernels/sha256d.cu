/*
 * hashbench CUDA SHA-256d nonce scanner (compiled at run time with NVRTC; no toolkit needed).
 *
 * Same job semantics as kernels/sha256d.h: the header's block-2 word 3 is bswap32(nonce); a nonce
 * is a hit when the digest read little-endian (most significant word bswap32(H7), then
 * bswap32(H6), ...) is <= the target, target[0] being its most significant 32 bits.
 *
 * Work split, so that the per-nonce loop holds only what depends on the nonce:
 *  - the host (hashbench/backends/cuda_precompute.py) passes the midstate, the block-2 state
 *    entering round 3, round 3 minus its nonce term, the h + K + W sums of rounds 4..6 (their h
 *    is still nonce-independent) and the schedule words / partial sums that do not depend on the
 *    nonce (W16, W17, and the constant parts of W18, W19, W31, W32);
 *  - padding and length words of both blocks, and the whole initial state of the second hash,
 *    are literals, folded at compile time into the round constants and schedule sums. Which
 *    message words are literals is known from their index (hb_b2_is_lit, hb_d_is_lit), so the
 *    fully unrolled code never spends an instruction adding a zero or two constants;
 *  - the second hash stops at the e of round 60: H7 = IV7 + that e (it is shifted into h by
 *    rounds 61..63, which are never computed, nor are W61..W63 or the a-chain of rounds 57..60,
 *    since nothing reads them: dead code to the compiler). A nonce whose bswap32(H7) exceeds
 *    target[0] cannot be a hit. The rare candidates are rehashed in full by a compact rolled
 *    loop, in a branch the hot path jumps over, and compared over all 256 bits; hits go
 *    through an atomic counter into a bounded list. The counter keeps counting past the
 *    list's end, so a full list is visible to the host, never silent.
 *
 * Nonce order: thread t of a grid of S threads takes nonces start + t, start + t + S, ...,
 * until the offset passes `last` (= count - 1; the whole 2^32 range fits without overflow).
 */

typedef unsigned int u32;
typedef unsigned long long u64;

#ifndef HB_BLOCK
#define HB_BLOCK 256
#endif
/* Blocks per SM the register budget must allow: 65536 / (256 * 4) = 64 registers a thread. */
#ifndef HB_MIN_BLOCKS
#define HB_MIN_BLOCKS 4
#endif

/* SHA-256 round constants, listed once for both tables below. */
#define HB_K_VALUES \
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, \
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, \
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, \
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, \
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, \
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, \
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, \
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2

/* The hot loop needs the constants as immediates: a function of a literal index, which the full
 * unrolling turns into literals. (A __constant__ array could be rewritten by the host, so nvcc
 * may not fold it.) */
__host__ __device__ __forceinline__ constexpr u32 hb_k(int i) {
    constexpr u32 k[64] = {HB_K_VALUES};
    return k[i];
}

/* The cold path indexes by a run-time counter: there the table lives in constant memory. */
__constant__ u32 hb_k_table[64] = {HB_K_VALUES};

#define HB_IV0 0x6a09e667u
#define HB_IV1 0xbb67ae85u
#define HB_IV2 0x3c6ef372u
#define HB_IV3 0xa54ff53au
#define HB_IV4 0x510e527fu
#define HB_IV5 0x9b05688cu
#define HB_IV6 0x1f83d9abu
#define HB_IV7 0x5be0cd19u

/* Literal message words. Block 2 of the header: word 3 is the nonce, 4 the 0x80 pad byte, 15 the
 * length (640 bits). The second hash's block: words 0..7 are the first digest, 8 the pad, 15 the
 * length (256 bits). The rest are zero. */
__host__ __device__ __forceinline__ constexpr bool hb_b2_is_lit(int j) { return j >= 4 && j <= 15; }
__host__ __device__ __forceinline__ constexpr u32 hb_b2_lit(int j) {
    return j == 4 ? 0x80000000u : j == 15 ? 640u : 0u;
}
__host__ __device__ __forceinline__ constexpr bool hb_d_is_lit(int j) { return j >= 8 && j <= 15; }
__host__ __device__ __forceinline__ constexpr u32 hb_d_lit(int j) {
    return j == 8 ? 0x80000000u : j == 15 ? 256u : 0u;
}

/* Compile-time forms for literals (plain shifts: constant-folded, never emitted). */
__host__ __device__ __forceinline__ constexpr u32 hb_c_ror(u32 x, int n) { return (x >> n) | (x << (32 - n)); }
__host__ __device__ __forceinline__ constexpr u32 hb_c_bsig0(u32 a) {
    return hb_c_ror(a, 2) ^ hb_c_ror(a, 13) ^ hb_c_ror(a, 22);
}
__host__ __device__ __forceinline__ constexpr u32 hb_c_bsig1(u32 e) {
    return hb_c_ror(e, 6) ^ hb_c_ror(e, 11) ^ hb_c_ror(e, 25);
}
__host__ __device__ __forceinline__ constexpr u32 hb_c_ssig0(u32 x) {
    return hb_c_ror(x, 7) ^ hb_c_ror(x, 18) ^ (x >> 3);
}
__host__ __device__ __forceinline__ constexpr u32 hb_c_ssig1(u32 x) {
    return hb_c_ror(x, 17) ^ hb_c_ror(x, 19) ^ (x >> 10);
}

/* Round 0 of the second hash works on the IV alone: e1 = W0 + E0, a1 = W0 + A0. */
#define HB_D_T1_0 (HB_IV7 + hb_c_bsig1(HB_IV4) + (HB_IV6 ^ (HB_IV4 & (HB_IV5 ^ HB_IV6))) + 0x428a2f98u)
#define HB_D_E0 (HB_IV3 + HB_D_T1_0)
#define HB_D_A0 (HB_D_T1_0 + hb_c_bsig0(HB_IV0) + ((HB_IV0 & HB_IV1) | (HB_IV2 & (HB_IV0 | HB_IV1))))

/* One SHF.R.W each: the funnel shift of x with itself is a rotate. */
__device__ __forceinline__ u32 hb_ror(u32 x, int n) { return __funnelshift_r(x, x, n); }

/* x + y on the FMA pipe. The integer/logic pipe that runs SHF and LOP3 is the bottleneck (64
 * results per SM per clock, like the IMAD pipe beside it), so every add goes out as IMAD
 * x * one + y, where `one` == 1 is a kernel parameter: the compiler cannot see through it and
 * turn it back into IADD3. In the cold path `one` is a literal 1 and this is a plain add. */
#define ADD(x, y) ((x) * one + (y))

/* More integer/logic-pipe work the FMA pipe can take, as build options (-D...=0/1) to be
 * measured on a device:
 *  - HB_SHR_ON_FMA: the shifts of the schedule sigmas, x >> n, as the high word of
 *    x * 2^(32-n) (one IMAD.HI);
 *  - HB_ROT_ON_FMA: one rotate of each schedule sigma as IMAD.HI + IMAD
 *    (x * 2^(32-n) + (x >> n): the two halves do not overlap, so their sum is the rotate).
 * The multiplier is built from `one`, so the compiler cannot turn it back into SHF. */
#ifndef HB_SHR_ON_FMA
#define HB_SHR_ON_FMA 1
#endif
#ifndef HB_ROT_ON_FMA
#define HB_ROT_ON_FMA 0
#endif
#if HB_SHR_ON_FMA
#define SHR(x, n) __umulhi((x), one << (32 - (n)))
#else
#define SHR(x, n) ((x) >> (n))
#endif
#if HB_ROT_ON_FMA
#define ROR_FMA(x, n) ((x) * (one << (32 - (n))) + __umulhi((x), one << (32 - (n))))
#else
#define ROR_FMA(x, n) hb_ror((x), (n))
#endif

/* Each of these is written so that its three-input XOR / select becomes one LOP3. */
#define BSIG0(a) (hb_ror((a), 2) ^ hb_ror((a), 13) ^ hb_ror((a), 22))
#define BSIG1(e) (hb_ror((e), 6) ^ hb_ror((e), 11) ^ hb_ror((e), 25))
#define SSIG0(x) (hb_ror((x), 7) ^ ROR_FMA((x), 18) ^ SHR((x), 3))
#define SSIG1(x) (hb_ror((x), 17) ^ ROR_FMA((x), 19) ^ SHR((x), 10))
__device__ __forceinline__ u32 hb_ch(u32 e, u32 f, u32 g) { return g ^ (e & (f ^ g)); }
__device__ __forceinline__ u32 hb_maj(u32 a, u32 b, u32 c) { return (a & b) | (c & (a | b)); }

/* Round with h + K + W already summed (hk): the caller decides where that sum comes from. */
#define HB_ROUND_HK(hk)                                                 \
    do {                                                                \
        u32 t1_ = ADD(ADD((hk), BSIG1(e)), hb_ch(e, f, g));             \
        u32 t2_ = ADD(BSIG0(a), hb_maj(a, b, c));                       \
        h = g; g = f; f = e; e = ADD(d, t1_); d = c; c = b; b = a;      \
        a = ADD(t1_, t2_);                                              \
    } while (0)

/* Schedule word i of a block whose literal words IS_LIT / LIT name: the literal terms are
 * summed at compile time, the others by IMAD. `any_` and every IS_LIT(...) are constants once
 * the loop is unrolled, so all the branching folds away. */
#define HB_SCHED(W, i, IS_LIT, LIT)                                                       \
    do {                                                                                  \
        const u32 lit_ = (IS_LIT((i) - 2) ? hb_c_ssig1(LIT((i) - 2)) : 0u) +              \
                         (IS_LIT((i) - 7) ? LIT((i) - 7) : 0u) +                          \
                         (IS_LIT((i) - 15) ? hb_c_ssig0(LIT((i) - 15)) : 0u) +            \
                         (IS_LIT((i) - 16) ? LIT((i) - 16) : 0u);                         \
        u32 acc_ = 0;                                                                     \
        bool any_ = false;                                                                \
        if (!IS_LIT((i) - 2)) { acc_ = SSIG1((W)[(i) - 2]); any_ = true; }               \
        if (!IS_LIT((i) - 7)) { acc_ = any_ ? ADD(acc_, (W)[(i) - 7]) : (W)[(i) - 7]; any_ = true; } \
        if (!IS_LIT((i) - 15)) {                                                          \
            acc_ = any_ ? ADD(acc_, SSIG0((W)[(i) - 15])) : SSIG0((W)[(i) - 15]);         \
            any_ = true;                                                                  \
        }                                                                                 \
        if (!IS_LIT((i) - 16)) { acc_ = any_ ? ADD(acc_, (W)[(i) - 16]) : (W)[(i) - 16]; } \
        (W)[i] = lit_ != 0u ? ADD(acc_, lit_) : acc_;                                     \
    } while (0)

/* ---------------------------------------------------------------- cold path: full rehash */

/* A rolled loop (small code), the schedule kept as a 16-word window shifted each round so that
 * every index is a literal and the window stays in registers: no local memory. */
__device__ __forceinline__ void hb_compress_rolled(u32 st[8], u32 w[16]) {
    const u32 one = 1;
    u32 a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
#pragma unroll 1
    for (int i = 0; i < 64; ++i) {
        HB_ROUND_HK(h + hb_k_table[i] + w[0]);
        const u32 next = SSIG1(w[14]) + w[9] + SSIG0(w[1]) + w[0];
#pragma unroll
        for (int j = 0; j < 15; ++j) w[j] = w[j + 1];
        w[15] = next;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

/* The job's words as separate kernel parameters (a launcher can pass scalars and pointers,
 * not structs); used only by the cold path, except midstate and target0. */
#define HB_JOB_PARAMS                                                            \
    u32 ms0, u32 ms1, u32 ms2, u32 ms3, u32 ms4, u32 ms5, u32 ms6, u32 ms7,     \
    u32 tail0, u32 tail1, u32 tail2,                                            \
    u32 target0, u32 target1, u32 target2, u32 target3, u32 target4, u32 target5, u32 target6, u32 target7
#define HB_JOB_ARGS ms0, ms1, ms2, ms3, ms4, ms5, ms6, ms7, tail0, tail1, tail2, \
    target0, target1, target2, target3, target4, target5, target6, target7

/* Rehash one nonce in full and record it when the whole 256-bit hash is <= the target. */
__device__ __forceinline__ void hb_check_candidate(u32 nonce, u64 *hit_count, u32 *found, u32 capacity,
                                                   HB_JOB_PARAMS) {
    u32 st[8] = {ms0, ms1, ms2, ms3, ms4, ms5, ms6, ms7};
    u32 w[16] = {tail0, tail1, tail2, __byte_perm(nonce, 0, 0x0123), 0x80000000u, 0, 0, 0,
                 0, 0, 0, 0, 0, 0, 0, 640};
    hb_compress_rolled(st, w);
#pragma unroll
    for (int i = 0; i < 8; ++i) w[i] = st[i];
    w[8] = 0x80000000u;
#pragma unroll
    for (int i = 9; i < 15; ++i) w[i] = 0;
    w[15] = 256;
    st[0] = HB_IV0; st[1] = HB_IV1; st[2] = HB_IV2; st[3] = HB_IV3;
    st[4] = HB_IV4; st[5] = HB_IV5; st[6] = HB_IV6; st[7] = HB_IV7;
    hb_compress_rolled(st, w);
    /* Most significant word first: bswap32(H7) against target0, then bswap32(H6), ... */
    const u32 target[8] = {target0, target1, target2, target3, target4, target5, target6, target7};
    int verdict = 0; /* <0: below the target, >0: above, 0: equal so far */
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const u32 hw = __byte_perm(st[7 - i], 0, 0x0123);
        if (verdict == 0 && hw != target[i]) verdict = hw < target[i] ? -1 : 1;
    }
    if (verdict > 0) return;
    const u64 slot = atomicAdd(hit_count, 1ull);
    if (slot < capacity) found[slot] = nonce;
}

/* ---------------------------------------------------------------- hot path */

/* Parameter order is the contract with hashbench/backends/cuda_precompute.py (KERNEL_PARAMS). */
extern "C" __global__ void __launch_bounds__(HB_BLOCK, HB_MIN_BLOCKS)
hb_sha256d_scan(u64 *hit_count, u32 *found, u32 capacity, u32 start, u32 last,
                /* == 1; opaque to the compiler, see ADD */
                u32 one,
                HB_JOB_PARAMS,
                /* block-2 state entering round 3 (only the words later rounds read) */
                u32 a3, u32 b3, u32 c3, u32 e3, u32 f3,
                /* round 3 without its nonce word: e4 = e4_base + W3, a4 = a4_base + W3 */
                u32 e4_base, u32 a4_base,
                /* h + K + W of rounds 4, 5, 6 (their h is still nonce-independent) */
                u32 hk4, u32 hk5, u32 hk6,
                /* nonce-independent schedule words and parts */
                u32 w16, u32 w17, u32 w18_base, u32 w19_base, u32 w31_base, u32 w32_base) {
    const u32 offset = blockIdx.x * blockDim.x + threadIdx.x;
    if (offset > last) return;
    const u32 stride = gridDim.x * blockDim.x;
    const u32 neg_stride = 0u - stride;
    /* Counting down what is left avoids the 32-bit overflow of offset + stride at the top of
     * the nonce space. */
    u32 remaining = last - offset;
    u32 nonce = start + offset;

#pragma unroll 1
    for (;;) {
        u32 a, b, c, d, e, f, g, h;
        u32 W[64]; /* only the variable words are ever stored: literals come from hb_*_lit */

        /* ---- first hash, block 2 from round 3 on */
        W[3] = __byte_perm(nonce, 0, 0x0123);
        W[16] = w16;
        W[17] = w17;
        W[18] = ADD(w18_base, SSIG0(W[3]));
        W[19] = ADD(w19_base, W[3]);

        a = ADD(a4_base, W[3]); b = a3; c = b3; d = c3;
        e = ADD(e4_base, W[3]); f = e3; g = f3; h = 0; /* round 4's h is inside hk4 */
        HB_ROUND_HK(hk4);
        HB_ROUND_HK(hk5);
        HB_ROUND_HK(hk6);
#pragma unroll
        for (int i = 7; i < 64; ++i) {
            if (i == 31)
                W[31] = ADD(ADD(SSIG1(W[29]), W[24]), w31_base);
            else if (i == 32)
                W[32] = ADD(ADD(SSIG1(W[30]), W[25]), w32_base);
            else if (i >= 20)
                HB_SCHED(W, i, hb_b2_is_lit, hb_b2_lit);
            HB_ROUND_HK(hb_b2_is_lit(i) ? ADD(h, hb_k(i) + hb_b2_lit(i)) : ADD(ADD(h, hb_k(i)), W[i]));
        }
        /* ---- second hash: the first digest, then literal padding and length */
        W[0] = ADD(a, ms0); W[1] = ADD(b, ms1); W[2] = ADD(c, ms2); W[3] = ADD(d, ms3);
        W[4] = ADD(e, ms4); W[5] = ADD(f, ms5); W[6] = ADD(g, ms6); W[7] = ADD(h, ms7);
        a = ADD(W[0], HB_D_A0); b = HB_IV0; c = HB_IV1; d = HB_IV2;
        e = ADD(W[0], HB_D_E0); f = HB_IV4; g = HB_IV5; h = HB_IV6;
#pragma unroll
        for (int i = 1; i < 64; ++i) {
            if (i >= 16) HB_SCHED(W, i, hb_d_is_lit, hb_d_lit);
            /* Rounds 1..3 still have a literal h (IV6, IV5, IV4), rounds 8..15 a literal W. */
            HB_ROUND_HK(i <= 3 ? ADD(W[i], h + hb_k(i))
                        : hb_d_is_lit(i) ? ADD(h, hb_k(i) + hb_d_lit(i))
                        : ADD(ADD(h, hb_k(i)), W[i]));
        }
        /* Only h is read below, so everything not feeding it is dead code: rounds 61..63,
         * W61..W63 and the a-chain of rounds 57..60. h here is the e of round 60. */
        const u32 h7 = ADD(h, HB_IV7);
        if (__byte_perm(h7, 0, 0x0123) <= target0)
            hb_check_candidate(nonce, hit_count, found, capacity, HB_JOB_ARGS);

        if (remaining < stride) break;
        remaining = ADD(remaining, neg_stride);
        nonce = ADD(nonce, stride);
    }
}
