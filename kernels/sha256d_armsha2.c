/*
 * SHA-256d nonce scanner on the Armv8 Cryptography Extension SHA-256 instructions (SHA256H, SHA256H2,
 * SHA256SU0, SHA256SU1): the Arm counterpart of the SHA-NI path, for Grace, Graviton, Ampere and Apple CPUs.
 *
 * Built without -march (the rest of the package stays baseline armv8-a and dispatch.c picks this path at run
 * time from AT_HWCAP / sysctl), so the scan function carries its own target attribute. On other architectures,
 * and with compilers whose <arm_neon.h> cannot enable the intrinsics per function, the file compiles to a stub
 * that reports itself unavailable.
 *
 * Layout: the instructions keep the state as ABCD (lane 0 = A) and EFGH (lane 0 = E), and a message group as
 * {W[4g], .., W[4g+3]}, all in natural order: no shuffles anywhere, and the first hash's final state plus the
 * midstate is directly the second hash's message words 0-3 and 4-7.
 *
 * Work per nonce (the SHA-NI path's precompute, in groups of four rounds):
 *   Hash 1: rounds 0-2 use only the tail words and run once per call in scalar code. The nonce word W3 enters
 *   round 3 only through T1, which is added to both A and E, so the state after round 3 is a per-call constant
 *   plus W3 in lane 0 of ABCD and of EFGH. Groups 1-3 (rounds 4-15) have padding words only: K+W is a per-call
 *   constant. The SU0 terms of schedule groups 5-7 are built from W4..W16 only (W16 = W0 + sigma0(W1) does not
 *   see the nonce), so they are per-call constants too. 15 SHA256H + 15 SHA256H2 per nonce.
 *   Hash 2: the IV, the padding words 8..15 and their K+W (groups 2-3) and the SU0 of group 6 are constants.
 *   The early reject needs only H7 = IV7 + h64, and h64 is lane 3 of the EFGH that SHA256H2 returns for the
 *   last group; the new ABCD of that group (a SHA256H) is never computed. 16 SHA256H2 + 15 SHA256H.
 *   A nonce with bswap32(H7) <= target[0] is recomputed in scalar code by hb_check_candidate, which does the
 *   full 256-bit compare and keeps the found list and the count exactly as every other path does.
 *
 * Why several nonces in flight: each SHA256H/H2 needs the result of the previous one of the same message
 * (several cycles of latency on Neoverse cores) while the unit can start a new one every cycle or two, so one
 * message alone leaves it idle. HB_ARMSHA2_WAYS nonces (default 2) run in lock step, group of four rounds by
 * group of four rounds: independent chains the core overlaps. With 32 vector registers, 2-4 ways fit without
 * spilling the schedule. Not measured on hardware yet (checked under emulation only): the default is the
 * SHA-NI path's figure, and a different value is one -D away.
 */
#include "sha256d.h"

#ifndef HB_ARMSHA2_WAYS
#define HB_ARMSHA2_WAYS 2
#endif

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__ARM_FEATURE_SHA2) || defined(__ARM_FEATURE_CRYPTO)
/* The whole build already targets the instructions (e.g. Apple clang, or -march=...+crypto). */
#define HB_ARMSHA2_FN
#elif defined(__clang__)
/* Clang's arm_neon.h enables each intrinsic with a target attribute from Clang 16 on; older versions hide
 * them behind __ARM_FEATURE_SHA2, which a per-function attribute cannot define: stub there. */
#if __clang_major__ >= 16
#define HB_ARMSHA2_FN __attribute__((target("sha2")))
#endif
#else
/* GCC: "+crypto" (AES + SHA2) is the spelling GCC's own arm_neon.h uses around these intrinsics up to GCC 12,
 * and later GCCs still take it. */
#define HB_ARMSHA2_FN __attribute__((target("+crypto")))
#endif
#endif

#ifdef HB_ARMSHA2_FN

#include <arm_neon.h>

#define HB_NW HB_ARMSHA2_WAYS
/* Every statement a loop over the ways; the loops have a constant trip count and unroll fully. */
#define EACH for (int j = 0; j < HB_NW; j++)

static inline uint32x4_t a_vec(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3) {
    const uint32_t v[4] = {w0, w1, w2, w3};
    return vld1q_u32(v);
}

/* Everything that does not depend on the nonce. */
typedef struct {
    uint32x4_t k[16];
    /* hash 1 */
    uint32x4_t h1_abcd, h1_efgh;    /* state after round 3 with W3 = 0 */
    uint32x4_t h1_w0;               /* {W0, W1, W2, 0} */
    uint32x4_t h1_kw[3];            /* K+W for groups 1-3 (rounds 4-15) */
    uint32x4_t h1_m1, h1_m3;        /* W4..W7, W12..W15 (W8..W11 are zero) */
    uint32x4_t h1_c12, h1_c23, h1_c34; /* SU0 of (W4..7, W8..11), (W8..11, W12..15), (W12..15, W16..19) */
    uint32x4_t mid_abcd, mid_efgh;
    /* hash 2 */
    uint32x4_t iv_abcd, iv_efgh;
    uint32x4_t h2_kw[2];            /* K+W for groups 2-3 (rounds 8-15) */
    uint32x4_t h2_m2, h2_m3;        /* W8..W11, W12..W15 */
    uint32x4_t h2_c23;              /* SU0 of (W8..11, W12..15) */
} armsha2_consts;

HB_ARMSHA2_FN static void armsha2_setup(armsha2_consts *C, const hb_job *job) {
    for (int g = 0; g < 16; g++) C->k[g] = vld1q_u32(hb_K + 4 * g);

    uint32_t s[8], w16;
    hb_prefix_without_nonce(job, s, &w16); /* W3 = 0 here; the loop adds the real W3 to A and E */
    C->h1_abcd = vld1q_u32(s);
    C->h1_efgh = vld1q_u32(s + 4);
    C->h1_w0 = a_vec(job->tail[0], job->tail[1], job->tail[2], 0);

    const uint32x4_t zero = vdupq_n_u32(0);
    const uint32x4_t m1 = a_vec(0x80000000u, 0, 0, 0);
    const uint32x4_t m3 = a_vec(0, 0, 0, 640); /* message length: 80 bytes */
    C->h1_kw[0] = vaddq_u32(m1, C->k[1]);
    C->h1_kw[1] = C->k[2];
    C->h1_kw[2] = vaddq_u32(m3, C->k[3]);
    C->h1_m1 = m1;
    C->h1_m3 = m3;
    C->h1_c12 = vsha256su0q_u32(m1, zero);
    C->h1_c23 = vsha256su0q_u32(zero, m3);
    /* SU0(W12..15, W16..19) reads only W16 of its second operand. */
    C->h1_c34 = vsha256su0q_u32(m3, a_vec(w16, 0, 0, 0));

    C->mid_abcd = vld1q_u32(job->midstate);
    C->mid_efgh = vld1q_u32(job->midstate + 4);

    C->iv_abcd = vld1q_u32(hb_IV);
    C->iv_efgh = vld1q_u32(hb_IV + 4);
    const uint32x4_t n2 = a_vec(0x80000000u, 0, 0, 0);
    const uint32x4_t n3 = a_vec(0, 0, 0, 256); /* message length: 32 bytes */
    C->h2_kw[0] = vaddq_u32(n2, C->k[2]);
    C->h2_kw[1] = vaddq_u32(n3, C->k[3]);
    C->h2_m2 = n2;
    C->h2_m3 = n3;
    C->h2_c23 = vsha256su0q_u32(n2, n3);
}

/* Four rounds with K+W = wk. SHA256H overwrites ABCD, and SHA256H2 needs the old one. */
#define RNDS4(abcd, efgh, wk)                           \
    do {                                                \
        const uint32x4_t wk_ = (wk), old_ = (abcd);     \
        abcd = vsha256hq_u32(abcd, efgh, wk_);          \
        efgh = vsha256h2q_u32(efgh, old_, wk_);         \
    } while (0)
/* W[4g..4g+3] from the four previous groups. */
#define SCHED(m4, m3, m2, m1) vsha256su1q_u32(vsha256su0q_u32(m4, m3), m2, m1)

HB_ARMSHA2_FN uint64_t hb_scan_armsha2(const hb_job *job, uint32_t start, uint64_t count,
                                       uint32_t *found, uint32_t max_found) {
    armsha2_consts C;
    armsha2_setup(&C, job);
    const uint32_t thr = job->target[0];
    uint64_t hits = 0;

    /* i is 64-bit and only nonces start + i + j with i + j < count are reported, so the ways past the end
     * of the range (which may wrap to small nonces at the top of the nonce space) are hashed and dropped. */
    for (uint64_t i = 0; i < count; i += HB_NW) {
        uint32x4_t a1[HB_NW], e1[HB_NW], a2[HB_NW], e2[HB_NW], w[16][HB_NW];

        /* ---- hash 1: state after round 3, W3 added to A and E ---- */
        EACH {
            const uint32_t x = hb_bswap32(start + (uint32_t)(i + (uint64_t)j));
            const uint32x4_t xv = vsetq_lane_u32(x, vdupq_n_u32(0), 0);
            a1[j] = vaddq_u32(C.h1_abcd, xv);
            e1[j] = vaddq_u32(C.h1_efgh, xv);
            w[0][j] = vsetq_lane_u32(x, C.h1_w0, 3);
        }
        EACH RNDS4(a1[j], e1[j], C.h1_kw[0]);
        EACH RNDS4(a1[j], e1[j], C.h1_kw[1]);
        EACH RNDS4(a1[j], e1[j], C.h1_kw[2]);
        /* Groups 4-7 read padding words; W8..W11 are zero. */
        EACH {
            w[4][j] = vsha256su1q_u32(vsha256su0q_u32(w[0][j], C.h1_m1), vdupq_n_u32(0), C.h1_m3);
            RNDS4(a1[j], e1[j], vaddq_u32(w[4][j], C.k[4]));
        }
        EACH {
            w[5][j] = vsha256su1q_u32(C.h1_c12, C.h1_m3, w[4][j]);
            RNDS4(a1[j], e1[j], vaddq_u32(w[5][j], C.k[5]));
        }
        EACH {
            w[6][j] = vsha256su1q_u32(C.h1_c23, w[4][j], w[5][j]);
            RNDS4(a1[j], e1[j], vaddq_u32(w[6][j], C.k[6]));
        }
        EACH {
            w[7][j] = vsha256su1q_u32(C.h1_c34, w[5][j], w[6][j]);
            RNDS4(a1[j], e1[j], vaddq_u32(w[7][j], C.k[7]));
        }
        for (int g = 8; g < 16; g++) EACH {
            w[g][j] = SCHED(w[g - 4][j], w[g - 3][j], w[g - 2][j], w[g - 1][j]);
            RNDS4(a1[j], e1[j], vaddq_u32(w[g][j], C.k[g]));
        }

        /* ---- hash 2: message = midstate + state, padding words 8..15 ---- */
        EACH {
            w[0][j] = vaddq_u32(a1[j], C.mid_abcd);
            w[1][j] = vaddq_u32(e1[j], C.mid_efgh);
            a2[j] = C.iv_abcd;
            e2[j] = C.iv_efgh;
        }
        EACH RNDS4(a2[j], e2[j], vaddq_u32(w[0][j], C.k[0]));
        EACH RNDS4(a2[j], e2[j], vaddq_u32(w[1][j], C.k[1]));
        EACH RNDS4(a2[j], e2[j], C.h2_kw[0]);
        EACH RNDS4(a2[j], e2[j], C.h2_kw[1]);
        EACH {
            w[4][j] = vsha256su1q_u32(vsha256su0q_u32(w[0][j], w[1][j]), C.h2_m2, C.h2_m3);
            RNDS4(a2[j], e2[j], vaddq_u32(w[4][j], C.k[4]));
        }
        EACH {
            w[5][j] = vsha256su1q_u32(vsha256su0q_u32(w[1][j], C.h2_m2), C.h2_m3, w[4][j]);
            RNDS4(a2[j], e2[j], vaddq_u32(w[5][j], C.k[5]));
        }
        EACH {
            w[6][j] = vsha256su1q_u32(C.h2_c23, w[4][j], w[5][j]);
            RNDS4(a2[j], e2[j], vaddq_u32(w[6][j], C.k[6]));
        }
        EACH {
            w[7][j] = vsha256su1q_u32(vsha256su0q_u32(C.h2_m3, w[4][j]), w[5][j], w[6][j]);
            RNDS4(a2[j], e2[j], vaddq_u32(w[7][j], C.k[7]));
        }
        for (int g = 8; g < 15; g++) EACH {
            w[g][j] = SCHED(w[g - 4][j], w[g - 3][j], w[g - 2][j], w[g - 1][j]);
            RNDS4(a2[j], e2[j], vaddq_u32(w[g][j], C.k[g]));
        }
        /* Last group: only the new EFGH, whose lane 3 is h64; H7 = IV7 + h64. */
        EACH {
            w[15][j] = SCHED(w[11][j], w[12][j], w[13][j], w[14][j]);
            e2[j] = vsha256h2q_u32(e2[j], a2[j], vaddq_u32(w[15][j], C.k[15]));
        }

        /* In nonce order, so the found list comes out ascending. */
        for (int j = 0; j < HB_NW; j++) {
            const uint32_t h7 = vgetq_lane_u32(e2[j], 3) + hb_IV[7];
            if (hb_bswap32(h7) <= thr && i + (uint64_t)j < count)
                hb_check_candidate(job, start + (uint32_t)(i + (uint64_t)j), found, max_found, &hits);
        }
    }
    return hits;
}

int hb_armsha2_compiled(void) { return 1; }

#else /* not AArch64, or no way to enable the intrinsics per function: never dispatched */

int hb_armsha2_compiled(void) { return 0; }

uint64_t hb_scan_armsha2(const hb_job *job, uint32_t start, uint64_t count, uint32_t *found,
                         uint32_t max_found) {
    (void)job; (void)start; (void)count; (void)found; (void)max_found;
    return 0;
}

#endif
