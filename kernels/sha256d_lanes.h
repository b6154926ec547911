/*
 * The one SHA-256d nonce-scan template behind the portable, AVX2 and AVX-512 paths.
 *
 * Deliberately no include guard for the template part: each path's .c file defines the lane
 * macros below and includes this file once, which defines `static uint64_t HBL_NAME(...)` with
 * the hb_scan_fn signature. The scalar helpers at the top are guarded and shared.
 *
 * Lane macros the includer defines (V = one vector of HBL_LANES uint32 lanes):
 *   HBL_NAME          name of the scan function to define
 *   HBL_FN            attributes of that function (the target("...") of the path), may be empty
 *   HBL_LANES         nonces per iteration (1, 8 or 16)
 *   HBL_V             the vector type
 *   HBL_SET1(x)       broadcast a uint32_t
 *   HBL_ADD(a, b)     lane-wise a + b mod 2^32
 *   HBL_ROR(x, n)     rotate right by the constant n
 *   HBL_SHR(x, n)     logical shift right by the constant n
 *   HBL_XOR3(a, b, c) a ^ b ^ c
 *   HBL_CH(e, f, g)   (e & f) ^ (~e & g)
 *   HBL_MAJ(a, b, c)  majority of a, b, c
 *   HBL_IOTA(b)       lanes b+0 .. b+HBL_LANES-1 (mod 2^32)
 *   HBL_BSWAP(x)      byte swap each lane
 *   HBL_LE(x, t)      bit mask (uint32_t, bit j = lane j) of lanes with x <= t, t a uint32_t, unsigned
 *   HBL_EQ(x, t)      bit mask of lanes with x == t
 * The macros may read constants through `k2` (const struct hbl_k2 *), e.g. k2->bswap_hi.
 *
 * How one nonce is hashed (all lanes in lock step, one nonce per lane):
 *   block 2, first hash: midstate given; W0..W2 are fixed, W3 = bswap32(nonce), W4..W15 are
 *   padding constants. Rounds 0..2 and the W3-free part of round 3 are done once per call in
 *   hbl_prepare, as are W16, W17 and the nonce-free parts of W18, W19, W30 and W31. The padding
 *   words fold into the round constants (K + W), zero words cost nothing.
 *   second hash: message = first digest, W8..W15 padding and IV are compile-time constants:
 *   round 0 collapses to two adds, rounds 8..15 take K + W as one constant, the schedule skips
 *   the zero words.
 *   early reject: the hash's top 32 bits are bswap32(H7), H7 = IV7 + (e computed in round 60).
 *   So the second hash stops after round 60's e-chain (rounds 61..63 and the a-chain from
 *   round 58 on feed only H0..H6) and compares that one word in all lanes at once. Only lanes
 *   that pass go to hb_check_candidate, a scalar full recompute with the full 256-bit compare.
 */

#ifndef HBL_COMMON_DEFINED
#define HBL_COMMON_DEFINED

#if defined(__GNUC__) && !defined(__clang__)
/* Keep the template's order. GCC's reassociation pass regroups each round's chain of adds and undoes
 * the order chosen below to keep the e-chain short (x + Ch first, Sigma1(e) last); pressure-aware
 * scheduling before register allocation keeps the AVX2 path (16 ymm registers) from spilling more.
 * On a Zen 5 EPYC (2026-12-02, one core, GCC 12.2, benchmarks/checks/scan_rate.c) the AVX-512 path went
 * from 37.5 to 46-49 MH/s (clang 15, which keeps the order: 46), AVX2 from 12.2-12.5 to 13.2-13.6
 * (clang: 14.2); simd128 and portable moved by no more than the noise. Applies to the files that
 * include this template, from here on. */
#pragma GCC optimize("no-tree-reassoc", "schedule-insns", "sched-pressure")
#endif

#include <stdint.h>
#include "sha256d.h"

#if defined(__GNUC__) || defined(__clang__)
#define HBL_COLD __attribute__((noinline, cold))
#else
#define HBL_COLD
#endif

#define HBL_IV0 0x6a09e667u
#define HBL_IV1 0xbb67ae85u
#define HBL_IV2 0x3c6ef372u
#define HBL_IV3 0xa54ff53au
#define HBL_IV4 0x510e527fu
#define HBL_IV5 0x9b05688cu
#define HBL_IV6 0x1f83d9abu
#define HBL_IV7 0x5be0cd19u

static inline uint32_t hbl_ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static inline uint32_t hbl_bs0(uint32_t x) { return hbl_ror(x, 2) ^ hbl_ror(x, 13) ^ hbl_ror(x, 22); }
static inline uint32_t hbl_bs1(uint32_t x) { return hbl_ror(x, 6) ^ hbl_ror(x, 11) ^ hbl_ror(x, 25); }
static inline uint32_t hbl_ss0(uint32_t x) { return hbl_ror(x, 7) ^ hbl_ror(x, 18) ^ (x >> 3); }
static inline uint32_t hbl_ss1(uint32_t x) { return hbl_ror(x, 17) ^ hbl_ror(x, 19) ^ (x >> 10); }
static inline uint32_t hbl_ch(uint32_t e, uint32_t f, uint32_t g) { return g ^ (e & (f ^ g)); }
static inline uint32_t hbl_maj(uint32_t a, uint32_t b, uint32_t c) { return (a & b) | (c & (a | b)); }

/* Compile-time constants (unsigned int is 32 bits on every target we build for). */
#define HBL_CROR(x, n) ((((x) >> (n)) | ((x) << (32 - (n)))) & 0xFFFFFFFFu)
#define HBL_CBS0(x) (HBL_CROR(x, 2) ^ HBL_CROR(x, 13) ^ HBL_CROR(x, 22))
#define HBL_CBS1(x) (HBL_CROR(x, 6) ^ HBL_CROR(x, 11) ^ HBL_CROR(x, 25))
#define HBL_CSS0(x) (HBL_CROR(x, 7) ^ HBL_CROR(x, 18) ^ ((x) >> 3))
#define HBL_CSS1(x) (HBL_CROR(x, 17) ^ HBL_CROR(x, 19) ^ ((x) >> 10))
#define HBL_CCH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))
#define HBL_CMAJ(a, b, c) (((a) & (b)) | ((c) & ((a) | (b))))
/* Second-hash round 0 from the IV, less W0: its T1 and the new e and a. */
#define HBL_R0T1 \
    ((HBL_IV7 + HBL_CBS1(HBL_IV4) + HBL_CCH(HBL_IV4, HBL_IV5, HBL_IV6) + 0x428a2f98u) & 0xFFFFFFFFu)
#define HBL_R0T2 ((HBL_CBS0(HBL_IV0) + HBL_CMAJ(HBL_IV0, HBL_IV1, HBL_IV2)) & 0xFFFFFFFFu)

/* The loop reads every constant, this table and struct hbl_pre alike, through a pointer the
 * optimiser cannot see through (hbl_launder). Each constant is then a broadcast memory operand
 * (a load, no ALU uop) instead of a GPR move plus a broadcast on a vector port, and the compiler
 * does not hoist a hundred broadcasts out of the loop only to spill them. */
struct hbl_k2 {
    uint32_t x2[61];          /* second hash, round i: 1..3 h + K (h still an IV word), 8 and 15
                                 K + W (padding, length), others K; W9..W14 = 0 cost nothing */
    uint32_t iv[8];
    uint32_t r0e, r0a;        /* second-hash round 0's new e and a, less W0 */
    uint32_t pad;             /* 0x80000000: W4 of the first hash, W8 of the second */
    uint32_t len1, s0len1;    /* first hash W15 = 640 bits, s0(W15) */
    uint32_t len2, s1len2, s0len2, s0pad; /* second hash W15 = 256 bits, s1(W15), s0(W15), s0(W8) */
    uint32_t h7_zero;         /* the round-60 e that makes H7 = IV7 + e zero: -IV7 */
    uint32_t bswap_hi;        /* 0xFF00FF00, for byte swaps built from rotates */
};
static const struct hbl_k2 hbl_k2_table = {
    {
         0x428a2f98u, 0x71374491u + HBL_IV6, 0xb5c0fbcfu + HBL_IV5, 0xe9b5dba5u + HBL_IV4,
         0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
         0xd807aa98u + 0x80000000u, 0x12835b01u, 0x243185beu, 0x550c7dc3u,
         0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u + 256u,
         0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu,
         0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
         0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
         0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
         0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u,
         0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
         0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u,
         0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
         0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u,
         0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
         0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
         0x90befffau,
    },
    {HBL_IV0, HBL_IV1, HBL_IV2, HBL_IV3, HBL_IV4, HBL_IV5, HBL_IV6, HBL_IV7},
    (HBL_IV3 + HBL_R0T1) & 0xFFFFFFFFu,
    (HBL_R0T1 + HBL_R0T2) & 0xFFFFFFFFu,
    0x80000000u,
    640u, HBL_CSS0(640u),
    256u, HBL_CSS1(256u), HBL_CSS0(256u), HBL_CSS0(0x80000000u),
    (0u - HBL_IV7) & 0xFFFFFFFFu,
    0xFF00FF00u,
};

/* What depends on the job but not on the nonce: computed once per call. */
struct hbl_pre {
    /* first hash, block 2 */
    uint32_t st[8];           /* state after rounds 0..2 */
    uint32_t a4, e4;          /* round 3's new a and e, less W3 (the nonce word adds to both) */
    uint32_t x1[64];          /* round i: 4..6 all of h + K + W (h is still nonce-free);
                                 7..17 K + W (W constant); 18..63 K */
    uint32_t w16, w17;        /* schedule words with no nonce bits */
    uint32_t c18, c19;        /* W18 = c18 + s0(W3), W19 = c19 + W3 */
    uint32_t c31;             /* nonce-free terms of W31 besides s1 and W[i-7] */
    /* second hash */
    uint32_t mid[8];          /* its message is midstate + final state */
    uint32_t a1, e1;          /* round 0's new a and e less the first hash's final a (W0 = mid0 + a) */
};

static void hbl_prepare(const hb_job *job, struct hbl_pre *p) {
    const uint32_t w0 = job->tail[0], w1 = job->tail[1], w2 = job->tail[2];
    const uint32_t wk[3] = {w0, w1, w2};
    uint32_t a = job->midstate[0], b = job->midstate[1], c = job->midstate[2], d = job->midstate[3];
    uint32_t e = job->midstate[4], f = job->midstate[5], g = job->midstate[6], h = job->midstate[7];
    for (int i = 0; i < 3; i++) {
        uint32_t t1 = h + hbl_bs1(e) + hbl_ch(e, f, g) + hb_K[i] + wk[i];
        uint32_t t2 = hbl_bs0(a) + hbl_maj(a, b, c);
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    p->st[0] = a; p->st[1] = b; p->st[2] = c; p->st[3] = d;
    p->st[4] = e; p->st[5] = f; p->st[6] = g; p->st[7] = h;
    {
        uint32_t t1 = h + hbl_bs1(e) + hbl_ch(e, f, g) + hb_K[3];
        uint32_t t2 = hbl_bs0(a) + hbl_maj(a, b, c);
        p->a4 = t1 + t2;
        p->e4 = d + t1;
    }
    /* First hash: W4 = 0x80000000, W5..W14 = 0, W15 = 640 (bits in the 80-byte header). */
    for (int i = 0; i < 64; i++) p->x1[i] = hb_K[i];
    p->x1[4] += 0x80000000u;
    p->x1[15] += 640u;
    /* Rounds 4..6 still see h from before the nonce entered (st[6], st[5], st[4]). */
    p->x1[4] += p->st[6];
    p->x1[5] += p->st[5];
    p->x1[6] += p->st[4];
    p->w16 = hbl_ss0(w1) + w0;
    p->w17 = hbl_ss1(640u) + hbl_ss0(w2) + w1;
    p->x1[16] += p->w16;
    p->x1[17] += p->w17;
    p->c18 = hbl_ss1(p->w16) + w2;
    p->c19 = hbl_ss1(p->w17) + hbl_ss0(0x80000000u);
    p->c31 = hbl_ss0(p->w16) + 640u;
    for (int i = 0; i < 8; i++) p->mid[i] = job->midstate[i];
    p->e1 = hbl_k2_table.r0e + job->midstate[0];
    p->a1 = hbl_k2_table.r0a + job->midstate[0];
}

/* Hides what a pointer points to from the optimiser (see struct hbl_k2). */
#if defined(__GNUC__) || defined(__clang__)
#define hbl_launder(ptr) __asm__ __volatile__("" : "+r"(ptr) : : "memory")
#else
#define hbl_launder(ptr) ((void)(ptr))
#endif

/* Lanes that passed the H7 test (rare at real targets): confirm each in scalar code, in lane
 * = nonce order, so hits come out ascending. Kept out of line so the hot loop keeps its
 * registers. */
static HBL_COLD void hbl_candidates(const hb_job *job, uint32_t base, uint32_t mask,
                                    uint32_t *found, uint32_t max_found, uint64_t *hits) {
    for (uint32_t j = 0; mask; j++, mask >>= 1)
        if (mask & 1u) hb_check_candidate(job, base + j, found, max_found, hits);
}

/* Round with the state named by rotation: round i uses rotation i % 8, so no moves are needed
 * between rounds. x = h + K + W, supplied by the caller so constant W can be folded. */
#define HBL_ROT_0(M, ...) M(va, vb, vc, vd, ve, vf, vg, vh, __VA_ARGS__)
#define HBL_ROT_1(M, ...) M(vh, va, vb, vc, vd, ve, vf, vg, __VA_ARGS__)
#define HBL_ROT_2(M, ...) M(vg, vh, va, vb, vc, vd, ve, vf, __VA_ARGS__)
#define HBL_ROT_3(M, ...) M(vf, vg, vh, va, vb, vc, vd, ve, __VA_ARGS__)
#define HBL_ROT_4(M, ...) M(ve, vf, vg, vh, va, vb, vc, vd, __VA_ARGS__)
#define HBL_ROT_5(M, ...) M(vd, ve, vf, vg, vh, va, vb, vc, __VA_ARGS__)
#define HBL_ROT_6(M, ...) M(vc, vd, ve, vf, vg, vh, va, vb, __VA_ARGS__)
#define HBL_ROT_7(M, ...) M(vb, vc, vd, ve, vf, vg, vh, va, __VA_ARGS__)

#define HBL_BS0(x) HBL_XOR3(HBL_ROR(x, 2), HBL_ROR(x, 13), HBL_ROR(x, 22))
#define HBL_BS1(x) HBL_XOR3(HBL_ROR(x, 6), HBL_ROR(x, 11), HBL_ROR(x, 25))
#define HBL_SS0(x) HBL_XOR3(HBL_ROR(x, 7), HBL_ROR(x, 18), HBL_SHR(x, 3))
#define HBL_SS1(x) HBL_XOR3(HBL_ROR(x, 17), HBL_ROR(x, 19), HBL_SHR(x, 10))

/* Adds ordered so the e-chain (e -> S1 -> T1 -> new e) is as short as possible: x and Ch go first. */
#define HBL_RND(a, b, c, d, e, f, g, h, x)                                           \
    do {                                                                             \
        HBL_V t1_ = HBL_ADD(HBL_ADD((x), HBL_CH(e, f, g)), HBL_BS1(e));              \
        d = HBL_ADD(d, t1_);                                                         \
        h = HBL_ADD(t1_, HBL_ADD(HBL_BS0(a), HBL_MAJ(a, b, c)));                     \
    } while (0)
/* e-chain only: for the last rounds of the second hash, whose new a is never needed. */
#define HBL_RNDE(a, b, c, d, e, f, g, h, x)                                          \
    do {                                                                             \
        d = HBL_ADD(d, HBL_ADD(HBL_ADD((x), HBL_CH(e, f, g)), HBL_BS1(e)));          \
    } while (0)

/* x = h + K + W in four shapes: all constant (RC), h constant (RCW), W constant (RK), general
 * (RW); plus the e-only general round (RE). c / kw / k are table entries, r = round % 8. */
#define HBL_RC_(a, b, c, d, e, f, g, h, x) HBL_RND(a, b, c, d, e, f, g, h, HBL_SET1(x))
#define HBL_RCW_(a, b, c, d, e, f, g, h, hk, w) HBL_RND(a, b, c, d, e, f, g, h, HBL_ADD(HBL_SET1(hk), w))
#define HBL_RK_(a, b, c, d, e, f, g, h, kw) HBL_RND(a, b, c, d, e, f, g, h, HBL_ADD(h, HBL_SET1(kw)))
#define HBL_RW_(a, b, c, d, e, f, g, h, k, w) \
    HBL_RND(a, b, c, d, e, f, g, h, HBL_ADD(HBL_ADD(h, HBL_SET1(k)), w))
#define HBL_RE_(a, b, c, d, e, f, g, h, k, w) \
    HBL_RNDE(a, b, c, d, e, f, g, h, HBL_ADD(HBL_ADD(h, HBL_SET1(k)), w))
#define HBL_RC(r, x) HBL_ROT_##r(HBL_RC_, x)
#define HBL_RCW(r, hk, w) HBL_ROT_##r(HBL_RCW_, hk, w)
#define HBL_RK(r, kw) HBL_ROT_##r(HBL_RK_, kw)
#define HBL_RW(r, k, w) HBL_ROT_##r(HBL_RW_, k, w)
#define HBL_RE(r, k, w) HBL_ROT_##r(HBL_RE_, k, w)

/* Message schedule in a rolling window of 16 (w0..w15, W[i] lives in w(i % 16)), so it stays
 * in registers. Step n: W[i] = s1(W[i-2]) + W[i-7] + s0(W[i-15]) + W[i-16], n = i % 16. */
#define HBL_WSTEP(n, n2, n7, n15) \
    w##n = HBL_ADD(HBL_ADD(HBL_SS1(w##n2), w##n7), HBL_ADD(HBL_SS0(w##n15), w##n))
#define HBL_WS_0 HBL_WSTEP(0, 14, 9, 1)
#define HBL_WS_1 HBL_WSTEP(1, 15, 10, 2)
#define HBL_WS_2 HBL_WSTEP(2, 0, 11, 3)
#define HBL_WS_3 HBL_WSTEP(3, 1, 12, 4)
#define HBL_WS_4 HBL_WSTEP(4, 2, 13, 5)
#define HBL_WS_5 HBL_WSTEP(5, 3, 14, 6)
#define HBL_WS_6 HBL_WSTEP(6, 4, 15, 7)
#define HBL_WS_7 HBL_WSTEP(7, 5, 0, 8)
#define HBL_WS_8 HBL_WSTEP(8, 6, 1, 9)
#define HBL_WS_9 HBL_WSTEP(9, 7, 2, 10)
#define HBL_WS_10 HBL_WSTEP(10, 8, 3, 11)
#define HBL_WS_11 HBL_WSTEP(11, 9, 4, 12)
#define HBL_WS_12 HBL_WSTEP(12, 10, 5, 13)
#define HBL_WS_13 HBL_WSTEP(13, 11, 6, 14)
#define HBL_WS_14 HBL_WSTEP(14, 12, 7, 15)
#define HBL_WS_15 HBL_WSTEP(15, 13, 8, 0)
/* Generic round i >= 32: next schedule word, then the round. */
#define HBL_G(r, kt, i, n) \
    HBL_WS_##n;            \
    HBL_RW(r, kt[i], w##n)
#define HBL_GE(r, kt, i, n) \
    HBL_WS_##n;             \
    HBL_RE(r, kt[i], w##n)
/* Keeps a loop rolled (the rounds 32..63 loop: its point is a smaller body). */
#if defined(__clang__)
#define HBL_NO_UNROLL _Pragma("clang loop unroll(disable)")
#elif defined(__GNUC__)
#define HBL_NO_UNROLL _Pragma("GCC unroll 1")
#else
#define HBL_NO_UNROLL
#endif

#endif /* HBL_COMMON_DEFINED */

/* ---------------------------------------------------------------------------------------- */
/* The scan function for the lane macros currently defined.                                 */

HBL_FN static uint64_t HBL_NAME(const hb_job *job, uint32_t start, uint64_t count,
                                uint32_t *found, uint32_t max_found) {
    struct hbl_pre pre;
    const struct hbl_pre *p = &pre;
    const struct hbl_k2 *k2 = &hbl_k2_table;
    hbl_prepare(job, &pre);
    hbl_launder(p);
    hbl_launder(k2);
    const uint32_t t0 = job->target[0];
    uint64_t hits = 0;
    /* The end of the rounds 32..63 loop, hidden from the optimiser: with a known trip count of
     * two, GCC 12 peels the loop back into straight code despite `#pragma GCC unroll 1`. */
    uint32_t passes_end = 32;
    hbl_launder(passes_end);

    for (uint64_t done = 0; done < count; done += HBL_LANES) {
        /* Lanes past the end may wrap to small nonces; they are masked off below. */
        const uint32_t base = start + (uint32_t)done;
        HBL_V va, vb, vc, vd, ve, vf, vg, vh;
        HBL_V w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15;
        const HBL_V wn = HBL_BSWAP(HBL_IOTA(base)); /* W3 */

        /* ---- first hash, block 2: state after round 3 in rotation 4 ---- */
        ve = HBL_ADD(HBL_SET1(p->a4), wn);
        vf = HBL_SET1(p->st[0]);
        vg = HBL_SET1(p->st[1]);
        vh = HBL_SET1(p->st[2]);
        va = HBL_ADD(HBL_SET1(p->e4), wn);
        vb = HBL_SET1(p->st[4]);
        vc = HBL_SET1(p->st[5]);
        vd = HBL_SET1(p->st[6]);

        HBL_RC(4, p->x1[4]);
        HBL_RC(5, p->x1[5]);
        HBL_RC(6, p->x1[6]);
        HBL_RK(7, p->x1[7]);
        HBL_RK(0, p->x1[8]);
        HBL_RK(1, p->x1[9]);
        HBL_RK(2, p->x1[10]);
        HBL_RK(3, p->x1[11]);
        HBL_RK(4, p->x1[12]);
        HBL_RK(5, p->x1[13]);
        HBL_RK(6, p->x1[14]);
        HBL_RK(7, p->x1[15]);
        HBL_RK(0, p->x1[16]);
        HBL_RK(1, p->x1[17]);
        /* W18..W31: W5..W14 are zero, so most terms vanish; only W3 carries the nonce. */
        w0 = HBL_SET1(p->w16);
        w1 = HBL_SET1(p->w17);
        w2 = HBL_ADD(HBL_SET1(p->c18), HBL_SS0(wn));
        HBL_RW(2, p->x1[18], w2);
        w3 = HBL_ADD(HBL_SET1(p->c19), wn);
        HBL_RW(3, p->x1[19], w3);
        w4 = HBL_ADD(HBL_SS1(w2), HBL_SET1(k2->pad));
        HBL_RW(4, p->x1[20], w4);
        w5 = HBL_SS1(w3);
        HBL_RW(5, p->x1[21], w5);
        w6 = HBL_ADD(HBL_SS1(w4), HBL_SET1(k2->len1));
        HBL_RW(6, p->x1[22], w6);
        w7 = HBL_ADD(HBL_SS1(w5), w0);
        HBL_RW(7, p->x1[23], w7);
        w8 = HBL_ADD(HBL_SS1(w6), w1);
        HBL_RW(0, p->x1[24], w8);
        w9 = HBL_ADD(HBL_SS1(w7), w2);
        HBL_RW(1, p->x1[25], w9);
        w10 = HBL_ADD(HBL_SS1(w8), w3);
        HBL_RW(2, p->x1[26], w10);
        w11 = HBL_ADD(HBL_SS1(w9), w4);
        HBL_RW(3, p->x1[27], w11);
        w12 = HBL_ADD(HBL_SS1(w10), w5);
        HBL_RW(4, p->x1[28], w12);
        w13 = HBL_ADD(HBL_SS1(w11), w6);
        HBL_RW(5, p->x1[29], w13);
        w14 = HBL_ADD(HBL_ADD(HBL_SS1(w12), w7), HBL_SET1(k2->s0len1));
        HBL_RW(6, p->x1[30], w14);
        w15 = HBL_ADD(HBL_ADD(HBL_SS1(w13), w8), HBL_SET1(p->c31));
        HBL_RW(7, p->x1[31], w15);
        /* Rounds 32..63: two passes of one 16-round body. Rotation and schedule window repeat
         * every 16 rounds, so only the constants' offset changes between passes. W32 takes the
         * general step too (w0, w1 still hold W16, W17). Rolled, the AVX2 loop is 29 KB instead
         * of 34 KB, inside the 32 KB L1 instruction cache of Zen 4/5 and recent Intel cores
         * (GCC 12; clang 15: 27 KB). Zen 5 EPYC, one core, scan_rate.c, 5 runs each: AVX2 13.2-14.0
         * MH/s rolled vs 13.1-13.5, AVX-512 44.7-46.9 vs 45.2-46.5, portable 2.46-2.88 vs
         * 2.38-2.45, simd128 4.56-4.80 vs 4.56-4.73. */
        HBL_NO_UNROLL
        for (uint32_t pass = 0; pass < passes_end; pass += 16) {
            const uint32_t *kt = p->x1 + pass;
            HBL_G(0, kt, 32, 0); HBL_G(1, kt, 33, 1); HBL_G(2, kt, 34, 2); HBL_G(3, kt, 35, 3);
            HBL_G(4, kt, 36, 4); HBL_G(5, kt, 37, 5); HBL_G(6, kt, 38, 6); HBL_G(7, kt, 39, 7);
            HBL_G(0, kt, 40, 8); HBL_G(1, kt, 41, 9); HBL_G(2, kt, 42, 10); HBL_G(3, kt, 43, 11);
            HBL_G(4, kt, 44, 12); HBL_G(5, kt, 45, 13); HBL_G(6, kt, 46, 14); HBL_G(7, kt, 47, 15);
        }

        /* ---- second hash: message W0..W7 = midstate + state, W8..W15 padding ---- */
        w0 = HBL_ADD(HBL_SET1(p->mid[0]), va);
        w1 = HBL_ADD(HBL_SET1(p->mid[1]), vb);
        w2 = HBL_ADD(HBL_SET1(p->mid[2]), vc);
        w3 = HBL_ADD(HBL_SET1(p->mid[3]), vd);
        w4 = HBL_ADD(HBL_SET1(p->mid[4]), ve);
        w5 = HBL_ADD(HBL_SET1(p->mid[5]), vf);
        w6 = HBL_ADD(HBL_SET1(p->mid[6]), vg);
        w7 = HBL_ADD(HBL_SET1(p->mid[7]), vh);
        /* Round 0 from the IV: both new words are a constant plus W0 = mid0 + a. State after it
         * goes in rotation 1. */
        vh = HBL_ADD(HBL_SET1(p->a1), va);
        vd = HBL_ADD(HBL_SET1(p->e1), va);
        va = HBL_SET1(k2->iv[0]);
        vb = HBL_SET1(k2->iv[1]);
        vc = HBL_SET1(k2->iv[2]);
        ve = HBL_SET1(k2->iv[4]);
        vf = HBL_SET1(k2->iv[5]);
        vg = HBL_SET1(k2->iv[6]);
        HBL_RCW(1, k2->x2[1], w1);
        HBL_RCW(2, k2->x2[2], w2);
        HBL_RCW(3, k2->x2[3], w3);
        HBL_RW(4, k2->x2[4], w4);
        HBL_RW(5, k2->x2[5], w5);
        HBL_RW(6, k2->x2[6], w6);
        HBL_RW(7, k2->x2[7], w7);
        HBL_RK(0, k2->x2[8]);
        HBL_RK(1, k2->x2[9]);
        HBL_RK(2, k2->x2[10]);
        HBL_RK(3, k2->x2[11]);
        HBL_RK(4, k2->x2[12]);
        HBL_RK(5, k2->x2[13]);
        HBL_RK(6, k2->x2[14]);
        HBL_RK(7, k2->x2[15]);
        /* W16..W31 with W8 = 0x80000000, W9..W14 = 0, W15 = 256 folded in. */
        w0 = HBL_ADD(HBL_SS0(w1), w0);
        HBL_RW(0, k2->x2[16], w0);
        w1 = HBL_ADD(HBL_ADD(HBL_SS0(w2), w1), HBL_SET1(k2->s1len2));
        HBL_RW(1, k2->x2[17], w1);
        w2 = HBL_ADD(HBL_ADD(HBL_SS1(w0), HBL_SS0(w3)), w2);
        HBL_RW(2, k2->x2[18], w2);
        w3 = HBL_ADD(HBL_ADD(HBL_SS1(w1), HBL_SS0(w4)), w3);
        HBL_RW(3, k2->x2[19], w3);
        w4 = HBL_ADD(HBL_ADD(HBL_SS1(w2), HBL_SS0(w5)), w4);
        HBL_RW(4, k2->x2[20], w4);
        w5 = HBL_ADD(HBL_ADD(HBL_SS1(w3), HBL_SS0(w6)), w5);
        HBL_RW(5, k2->x2[21], w5);
        w6 = HBL_ADD(HBL_ADD(HBL_SS1(w4), HBL_SS0(w7)), HBL_ADD(w6, HBL_SET1(k2->len2)));
        HBL_RW(6, k2->x2[22], w6);
        w7 = HBL_ADD(HBL_ADD(HBL_SS1(w5), w0), HBL_ADD(w7, HBL_SET1(k2->s0pad)));
        HBL_RW(7, k2->x2[23], w7);
        w8 = HBL_ADD(HBL_SS1(w6), HBL_ADD(w1, HBL_SET1(k2->pad)));
        HBL_RW(0, k2->x2[24], w8);
        w9 = HBL_ADD(HBL_SS1(w7), w2);
        HBL_RW(1, k2->x2[25], w9);
        w10 = HBL_ADD(HBL_SS1(w8), w3);
        HBL_RW(2, k2->x2[26], w10);
        w11 = HBL_ADD(HBL_SS1(w9), w4);
        HBL_RW(3, k2->x2[27], w11);
        w12 = HBL_ADD(HBL_SS1(w10), w5);
        HBL_RW(4, k2->x2[28], w12);
        w13 = HBL_ADD(HBL_SS1(w11), w6);
        HBL_RW(5, k2->x2[29], w13);
        w14 = HBL_ADD(HBL_ADD(HBL_SS1(w12), w7), HBL_SET1(k2->s0len2));
        HBL_RW(6, k2->x2[30], w14);
        w15 = HBL_ADD(HBL_ADD(HBL_SS1(w13), w8), HBL_ADD(HBL_SS0(w0), HBL_SET1(k2->len2)));
        HBL_RW(7, k2->x2[31], w15);
        HBL_G(0, k2->x2, 32, 0); HBL_G(1, k2->x2, 33, 1); HBL_G(2, k2->x2, 34, 2); HBL_G(3, k2->x2, 35, 3);
        HBL_G(4, k2->x2, 36, 4); HBL_G(5, k2->x2, 37, 5); HBL_G(6, k2->x2, 38, 6); HBL_G(7, k2->x2, 39, 7);
        HBL_G(0, k2->x2, 40, 8); HBL_G(1, k2->x2, 41, 9); HBL_G(2, k2->x2, 42, 10); HBL_G(3, k2->x2, 43, 11);
        HBL_G(4, k2->x2, 44, 12); HBL_G(5, k2->x2, 45, 13); HBL_G(6, k2->x2, 46, 14); HBL_G(7, k2->x2, 47, 15);
        HBL_G(0, k2->x2, 48, 0); HBL_G(1, k2->x2, 49, 1); HBL_G(2, k2->x2, 50, 2); HBL_G(3, k2->x2, 51, 3);
        HBL_G(4, k2->x2, 52, 4); HBL_G(5, k2->x2, 53, 5); HBL_G(6, k2->x2, 54, 6); HBL_G(7, k2->x2, 55, 7);
        HBL_G(0, k2->x2, 56, 8); HBL_G(1, k2->x2, 57, 9);
        /* Rounds 58..60: e-chain only; round 60's new e lands in vh
         * (rotation 4 keeps d in vh). H7 = IV7 + vh. */
        HBL_GE(2, k2->x2, 58, 10); HBL_GE(3, k2->x2, 59, 11); HBL_GE(4, k2->x2, 60, 12);

        {
            /* Difficulty >= 1 targets have target[0] == 0: then the test is H7 == 0, i.e.
             * e60 == -IV7, one compare against a constant. */
            uint32_t mask = t0 == 0 ? HBL_EQ(vh, k2->h7_zero)
                                    : HBL_LE(HBL_BSWAP(HBL_ADD(vh, HBL_SET1(k2->iv[7]))), t0);
            if (mask) {
                const uint64_t left = count - done;
                if (left < HBL_LANES) mask &= (uint32_t)((1ull << left) - 1u);
                if (mask) hbl_candidates(job, base, mask, found, max_found, &hits);
            }
        }
    }
    return hits;
}
