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
 *
 * How one nonce is hashed (all lanes in lock step, one nonce per lane):
 *   block 2, first hash: midstate given; W0..W2 are fixed, W3 = bswap32(nonce), W4..W15 are
 *   padding constants. Rounds 0..2 and the W3-free part of round 3 are done once per call in
 *   hbl_prepare, as are W16, W17 and the nonce-free parts of W18, W19, W30..W32. The padding
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

#include <stdint.h>
#include "sha256d.h"

#if defined(__GNUC__) || defined(__clang__)
#define HBL_COLD __attribute__((noinline, cold))
#else
#define HBL_COLD
#endif

/* hb_K lives in another translation unit; a local copy lets the compiler fold K + W. */
static const uint32_t hbl_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

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

/* Everything about a call that does not depend on the nonce. */
struct hbl_pre {
    uint32_t st[8];           /* first hash, block 2: state after rounds 0..2 */
    uint32_t a4, e4;          /* round 3's new a and e, less W3 (the nonce word adds to both) */
    uint32_t kw16, kw17;      /* K + W for rounds 16, 17 (W16, W17 have no nonce bits) */
    uint32_t w16, w17;        /* the words themselves, for later schedule words */
    uint32_t c18, c19;        /* W18 = c18 + s0(W3), W19 = c19 + W3 */
    uint32_t c31, c32;        /* nonce-free terms of W31 and W32 besides s1 and W[i-7] */
    uint32_t mid[8];          /* midstate: the second hash's message is mid + state */
    uint32_t a1, e1;          /* second hash round 0 (state = IV) less the first hash's final a */
};

static void hbl_prepare(const hb_job *job, struct hbl_pre *p) {
    const uint32_t w0 = job->tail[0], w1 = job->tail[1], w2 = job->tail[2];
    const uint32_t wk[3] = {w0, w1, w2};
    uint32_t a = job->midstate[0], b = job->midstate[1], c = job->midstate[2], d = job->midstate[3];
    uint32_t e = job->midstate[4], f = job->midstate[5], g = job->midstate[6], h = job->midstate[7];
    for (int i = 0; i < 3; i++) {
        uint32_t t1 = h + hbl_bs1(e) + hbl_ch(e, f, g) + hbl_K[i] + wk[i];
        uint32_t t2 = hbl_bs0(a) + hbl_maj(a, b, c);
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    p->st[0] = a; p->st[1] = b; p->st[2] = c; p->st[3] = d;
    p->st[4] = e; p->st[5] = f; p->st[6] = g; p->st[7] = h;
    {
        uint32_t t1 = h + hbl_bs1(e) + hbl_ch(e, f, g) + hbl_K[3];
        uint32_t t2 = hbl_bs0(a) + hbl_maj(a, b, c);
        p->a4 = t1 + t2;
        p->e4 = d + t1;
    }
    /* W4 = 0x80000000, W5..W14 = 0, W15 = 640 (bits in the 80-byte header). */
    p->w16 = hbl_ss0(w1) + w0;
    p->w17 = hbl_ss1(640u) + hbl_ss0(w2) + w1;
    p->kw16 = p->w16 + hbl_K[16];
    p->kw17 = p->w17 + hbl_K[17];
    p->c18 = hbl_ss1(p->w16) + w2;
    p->c19 = hbl_ss1(p->w17) + hbl_ss0(0x80000000u);
    p->c31 = hbl_ss0(p->w16) + 640u;
    p->c32 = hbl_ss0(p->w17) + p->w16;
    for (int i = 0; i < 8; i++) p->mid[i] = job->midstate[i];
    {
        uint32_t t1 = HBL_IV7 + hbl_bs1(HBL_IV4) + hbl_ch(HBL_IV4, HBL_IV5, HBL_IV6) + hbl_K[0] +
                      job->midstate[0];
        uint32_t t2 = hbl_bs0(HBL_IV0) + hbl_maj(HBL_IV0, HBL_IV1, HBL_IV2);
        p->e1 = HBL_IV3 + t1;
        p->a1 = t1 + t2;
    }
}

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

#define HBL_RK_(a, b, c, d, e, f, g, h, kw) HBL_RND(a, b, c, d, e, f, g, h, HBL_ADD(h, HBL_SET1(kw)))
#define HBL_RW_(a, b, c, d, e, f, g, h, k, w) \
    HBL_RND(a, b, c, d, e, f, g, h, HBL_ADD(HBL_ADD(h, HBL_SET1(k)), w))
#define HBL_RE_(a, b, c, d, e, f, g, h, k, w) \
    HBL_RNDE(a, b, c, d, e, f, g, h, HBL_ADD(HBL_ADD(h, HBL_SET1(k)), w))
/* Round with constant K + W; round with message word w; e-only round. r = round % 8. */
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
#define HBL_G(r, i, n) \
    HBL_WS_##n;        \
    HBL_RW(r, hbl_K[i], w##n)
#define HBL_GE(r, i, n) \
    HBL_WS_##n;         \
    HBL_RE(r, hbl_K[i], w##n)

#endif /* HBL_COMMON_DEFINED */

/* ---------------------------------------------------------------------------------------- */
/* The scan function for the lane macros currently defined.                                 */

HBL_FN static uint64_t HBL_NAME(const hb_job *job, uint32_t start, uint64_t count,
                                uint32_t *found, uint32_t max_found) {
    struct hbl_pre p;
    hbl_prepare(job, &p);
    const uint32_t t0 = job->target[0];
    uint64_t hits = 0;

    for (uint64_t done = 0; done < count; done += HBL_LANES) {
        /* Lanes past the end may wrap to small nonces; they are masked off below. */
        const uint32_t base = start + (uint32_t)done;
        HBL_V va, vb, vc, vd, ve, vf, vg, vh;
        HBL_V w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15;
        const HBL_V wn = HBL_BSWAP(HBL_IOTA(base)); /* W3 */

        /* ---- first hash, block 2: state after round 3 in rotation 4 ---- */
        ve = HBL_ADD(HBL_SET1(p.a4), wn);
        vf = HBL_SET1(p.st[0]);
        vg = HBL_SET1(p.st[1]);
        vh = HBL_SET1(p.st[2]);
        va = HBL_ADD(HBL_SET1(p.e4), wn);
        vb = HBL_SET1(p.st[4]);
        vc = HBL_SET1(p.st[5]);
        vd = HBL_SET1(p.st[6]);

        HBL_RK(4, hbl_K[4] + 0x80000000u);
        HBL_RK(5, hbl_K[5]);
        HBL_RK(6, hbl_K[6]);
        HBL_RK(7, hbl_K[7]);
        HBL_RK(0, hbl_K[8]);
        HBL_RK(1, hbl_K[9]);
        HBL_RK(2, hbl_K[10]);
        HBL_RK(3, hbl_K[11]);
        HBL_RK(4, hbl_K[12]);
        HBL_RK(5, hbl_K[13]);
        HBL_RK(6, hbl_K[14]);
        HBL_RK(7, hbl_K[15] + 640u);
        HBL_RK(0, p.kw16);
        HBL_RK(1, p.kw17);
        /* W18..W32: W5..W14 are zero, so most terms vanish; only W3 carries the nonce. */
        w0 = HBL_SET1(p.w16);
        w1 = HBL_SET1(p.w17);
        w2 = HBL_ADD(HBL_SET1(p.c18), HBL_SS0(wn));
        HBL_RW(2, hbl_K[18], w2);
        w3 = HBL_ADD(HBL_SET1(p.c19), wn);
        HBL_RW(3, hbl_K[19], w3);
        w4 = HBL_ADD(HBL_SS1(w2), HBL_SET1(0x80000000u));
        HBL_RW(4, hbl_K[20], w4);
        w5 = HBL_SS1(w3);
        HBL_RW(5, hbl_K[21], w5);
        w6 = HBL_ADD(HBL_SS1(w4), HBL_SET1(640u));
        HBL_RW(6, hbl_K[22], w6);
        w7 = HBL_ADD(HBL_SS1(w5), w0);
        HBL_RW(7, hbl_K[23], w7);
        w8 = HBL_ADD(HBL_SS1(w6), w1);
        HBL_RW(0, hbl_K[24], w8);
        w9 = HBL_ADD(HBL_SS1(w7), w2);
        HBL_RW(1, hbl_K[25], w9);
        w10 = HBL_ADD(HBL_SS1(w8), w3);
        HBL_RW(2, hbl_K[26], w10);
        w11 = HBL_ADD(HBL_SS1(w9), w4);
        HBL_RW(3, hbl_K[27], w11);
        w12 = HBL_ADD(HBL_SS1(w10), w5);
        HBL_RW(4, hbl_K[28], w12);
        w13 = HBL_ADD(HBL_SS1(w11), w6);
        HBL_RW(5, hbl_K[29], w13);
        w14 = HBL_ADD(HBL_ADD(HBL_SS1(w12), w7), HBL_SET1(hbl_ss0(640u)));
        HBL_RW(6, hbl_K[30], w14);
        w15 = HBL_ADD(HBL_ADD(HBL_SS1(w13), w8), HBL_SET1(p.c31));
        HBL_RW(7, hbl_K[31], w15);
        w0 = HBL_ADD(HBL_ADD(HBL_SS1(w14), w9), HBL_SET1(p.c32));
        HBL_RW(0, hbl_K[32], w0);
        HBL_G(1, 33, 1); HBL_G(2, 34, 2); HBL_G(3, 35, 3); HBL_G(4, 36, 4);
        HBL_G(5, 37, 5); HBL_G(6, 38, 6); HBL_G(7, 39, 7); HBL_G(0, 40, 8);
        HBL_G(1, 41, 9); HBL_G(2, 42, 10); HBL_G(3, 43, 11); HBL_G(4, 44, 12);
        HBL_G(5, 45, 13); HBL_G(6, 46, 14); HBL_G(7, 47, 15); HBL_G(0, 48, 0);
        HBL_G(1, 49, 1); HBL_G(2, 50, 2); HBL_G(3, 51, 3); HBL_G(4, 52, 4);
        HBL_G(5, 53, 5); HBL_G(6, 54, 6); HBL_G(7, 55, 7); HBL_G(0, 56, 8);
        HBL_G(1, 57, 9); HBL_G(2, 58, 10); HBL_G(3, 59, 11); HBL_G(4, 60, 12);
        HBL_G(5, 61, 13); HBL_G(6, 62, 14); HBL_G(7, 63, 15);

        /* ---- second hash: message W0..W7 = midstate + state, W8..W15 padding ---- */
        w0 = HBL_ADD(HBL_SET1(p.mid[0]), va);
        w1 = HBL_ADD(HBL_SET1(p.mid[1]), vb);
        w2 = HBL_ADD(HBL_SET1(p.mid[2]), vc);
        w3 = HBL_ADD(HBL_SET1(p.mid[3]), vd);
        w4 = HBL_ADD(HBL_SET1(p.mid[4]), ve);
        w5 = HBL_ADD(HBL_SET1(p.mid[5]), vf);
        w6 = HBL_ADD(HBL_SET1(p.mid[6]), vg);
        w7 = HBL_ADD(HBL_SET1(p.mid[7]), vh);
        /* Round 0 from the IV: both new words are a constant plus W0 = mid0 + a. State after it
         * goes in rotation 1. */
        vh = HBL_ADD(HBL_SET1(p.a1), va);
        vd = HBL_ADD(HBL_SET1(p.e1), va);
        va = HBL_SET1(HBL_IV0);
        vb = HBL_SET1(HBL_IV1);
        vc = HBL_SET1(HBL_IV2);
        ve = HBL_SET1(HBL_IV4);
        vf = HBL_SET1(HBL_IV5);
        vg = HBL_SET1(HBL_IV6);
        HBL_RW(1, hbl_K[1], w1);
        HBL_RW(2, hbl_K[2], w2);
        HBL_RW(3, hbl_K[3], w3);
        HBL_RW(4, hbl_K[4], w4);
        HBL_RW(5, hbl_K[5], w5);
        HBL_RW(6, hbl_K[6], w6);
        HBL_RW(7, hbl_K[7], w7);
        HBL_RK(0, hbl_K[8] + 0x80000000u);
        HBL_RK(1, hbl_K[9]);
        HBL_RK(2, hbl_K[10]);
        HBL_RK(3, hbl_K[11]);
        HBL_RK(4, hbl_K[12]);
        HBL_RK(5, hbl_K[13]);
        HBL_RK(6, hbl_K[14]);
        HBL_RK(7, hbl_K[15] + 256u);
        /* W16..W31 with W8 = 0x80000000, W9..W14 = 0, W15 = 256 folded in. */
        w0 = HBL_ADD(HBL_SS0(w1), w0);
        HBL_RW(0, hbl_K[16], w0);
        w1 = HBL_ADD(HBL_ADD(HBL_SS0(w2), w1), HBL_SET1(hbl_ss1(256u)));
        HBL_RW(1, hbl_K[17], w1);
        w2 = HBL_ADD(HBL_ADD(HBL_SS1(w0), HBL_SS0(w3)), w2);
        HBL_RW(2, hbl_K[18], w2);
        w3 = HBL_ADD(HBL_ADD(HBL_SS1(w1), HBL_SS0(w4)), w3);
        HBL_RW(3, hbl_K[19], w3);
        w4 = HBL_ADD(HBL_ADD(HBL_SS1(w2), HBL_SS0(w5)), w4);
        HBL_RW(4, hbl_K[20], w4);
        w5 = HBL_ADD(HBL_ADD(HBL_SS1(w3), HBL_SS0(w6)), w5);
        HBL_RW(5, hbl_K[21], w5);
        w6 = HBL_ADD(HBL_ADD(HBL_SS1(w4), HBL_SS0(w7)), HBL_ADD(w6, HBL_SET1(256u)));
        HBL_RW(6, hbl_K[22], w6);
        w7 = HBL_ADD(HBL_ADD(HBL_SS1(w5), w0), HBL_ADD(w7, HBL_SET1(hbl_ss0(0x80000000u))));
        HBL_RW(7, hbl_K[23], w7);
        w8 = HBL_ADD(HBL_SS1(w6), HBL_ADD(w1, HBL_SET1(0x80000000u)));
        HBL_RW(0, hbl_K[24], w8);
        w9 = HBL_ADD(HBL_SS1(w7), w2);
        HBL_RW(1, hbl_K[25], w9);
        w10 = HBL_ADD(HBL_SS1(w8), w3);
        HBL_RW(2, hbl_K[26], w10);
        w11 = HBL_ADD(HBL_SS1(w9), w4);
        HBL_RW(3, hbl_K[27], w11);
        w12 = HBL_ADD(HBL_SS1(w10), w5);
        HBL_RW(4, hbl_K[28], w12);
        w13 = HBL_ADD(HBL_SS1(w11), w6);
        HBL_RW(5, hbl_K[29], w13);
        w14 = HBL_ADD(HBL_ADD(HBL_SS1(w12), w7), HBL_SET1(hbl_ss0(256u)));
        HBL_RW(6, hbl_K[30], w14);
        w15 = HBL_ADD(HBL_ADD(HBL_SS1(w13), w8), HBL_ADD(HBL_SS0(w0), HBL_SET1(256u)));
        HBL_RW(7, hbl_K[31], w15);
        HBL_G(0, 32, 0); HBL_G(1, 33, 1); HBL_G(2, 34, 2); HBL_G(3, 35, 3);
        HBL_G(4, 36, 4); HBL_G(5, 37, 5); HBL_G(6, 38, 6); HBL_G(7, 39, 7);
        HBL_G(0, 40, 8); HBL_G(1, 41, 9); HBL_G(2, 42, 10); HBL_G(3, 43, 11);
        HBL_G(4, 44, 12); HBL_G(5, 45, 13); HBL_G(6, 46, 14); HBL_G(7, 47, 15);
        HBL_G(0, 48, 0); HBL_G(1, 49, 1); HBL_G(2, 50, 2); HBL_G(3, 51, 3);
        HBL_G(4, 52, 4); HBL_G(5, 53, 5); HBL_G(6, 54, 6); HBL_G(7, 55, 7);
        HBL_G(0, 56, 8); HBL_G(1, 57, 9);
        /* Rounds 58..60: e-chain only; round 60's new e lands in vh
         * (rotation 4 keeps d in vh). H7 = IV7 + vh. */
        HBL_GE(2, 58, 10); HBL_GE(3, 59, 11); HBL_GE(4, 60, 12);

        {
            /* Difficulty >= 1 targets have target[0] == 0: then the test is H7 == 0, i.e.
             * e60 == -IV7, one compare against a constant. */
            uint32_t mask = t0 == 0 ? HBL_EQ(vh, 0u - HBL_IV7)
                                    : HBL_LE(HBL_BSWAP(HBL_ADD(vh, HBL_SET1(HBL_IV7))), t0);
            if (mask) {
                const uint64_t left = count - done;
                if (left < HBL_LANES) mask &= (uint32_t)((1ull << left) - 1u);
                if (mask) hbl_candidates(job, base, mask, found, max_found, &hits);
            }
        }
    }
    return hits;
}
