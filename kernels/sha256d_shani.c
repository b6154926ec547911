/*
 * SHA-256d nonce scanner on the Intel SHA extensions (sha256rnds2 / sha256msg1 / sha256msg2).
 *
 * Built without -march (the package is compiled on users' machines and picks a path at run
 * time), so every function that touches the intrinsics carries its own target attribute.
 *
 * Why two messages in flight, skewed by one hash
 *   Each sha256rnds2 needs the result of the previous one of the same message (about 4 cycles)
 *   while the SHA unit accepts a new one every 2-3 cycles, so one message alone leaves the unit
 *   idle much of the time. Every loop iteration therefore runs the FIRST hash of nonce n next to
 *   the SECOND hash of nonce n-1, group of four rounds by group of four rounds: two independent
 *   chains, and the hand-over from hash 1 to hash 2 (feed-forward, re-layout of the state into
 *   message words) of one chain never stalls the other. Measured on the target machine (Sapphire
 *   Rapids class VM, one pinned thread, best of many runs): 1 nonce ~11 MH/s; 2 nonces in lock
 *   step ~13.0; 3 or 4 in lock step 11.8-12.2 (16 xmm registers: schedule words spill); 2+2
 *   skewed slightly below 1+1 skewed, which is the fastest at ~13.3-13.8.
 *
 * Work per nonce: 61 sha256rnds2 instead of 64
 *   Hash 1: rounds 0-2 use only the tail words and run once per call in scalar code. The nonce
 *   word W3 enters round 3 only through T1, which is added to both A and E, so the state after
 *   round 3 is a per-call constant plus W3 in the A and E lanes: one vector add per nonce
 *   replaces rounds 0-3. Rounds 4-63: 30 rnds2. W4..W15 are padding, so K+W for rounds 4-15 and
 *   the msg1 terms built only from W4..W16 (W16 = W0 + sigma0(W1) does not see the nonce) are
 *   per-call constants.
 *   Hash 2: message words 8..15 are padding (their K+W and one msg1 are constants too).
 *   Rounds 0-61: 31 rnds2. The early reject needs only H7 = IV7 + h64, and h64 = e61, which the
 *   rnds2 for rounds 60-61 already returns in the F lane of its ABEF result. So rounds 62-63,
 *   the feed-forward of the other seven words, the ABEF/CDGH un-shuffle and the 256-bit compare
 *   are never run in the loop; a nonce with bswap32(H7) <= target[0] is recomputed in scalar by
 *   hb_check_candidate, which does the full compare. Not skipped: the whole message schedule up
 *   to W63 (msg2 yields W60..W63 as one group) and every round up to 61 of both hashes.
 *
 * Tried and dropped because they measured slower here: finishing hash 2 with 1-4 scalar
 *   e-only rounds (fewer rnds2, but the scalar work and the lane extraction cost more than the
 *   rnds2 they save, also when deferred to the next iteration); replacing some or all
 *   sha256msg1 by SSE shifts; merging hash-2 msg1 steps over padding words.
 */
#include "sha256d.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#if defined(_MSC_VER) && !defined(__clang__)
/* MSVC exposes the intrinsics everywhere and has no target attribute. */
#define HB_SHANI_FN
#else
#define HB_SHANI_FN __attribute__((target("sha,sse4.1,ssse3")))
#endif

/* Everything that does not depend on the nonce. Lane order follows the instructions: a state
 * is held as ABEF = {F, E, B, A} and CDGH = {H, G, D, C} (lane 0 first); a message group is
 * {W[4g], W[4g+1], W[4g+2], W[4g+3]}. The "hi" copies have lanes 2-3 moved down, because
 * sha256rnds2 reads its two K+W words from lanes 0-1 of xmm0. */
typedef struct {
    __m128i k[16];
    /* hash 1 */
    __m128i h1_abef, h1_cdgh; /* state after round 3 with W3 = 0 */
    __m128i h1_w0;            /* {W0, W1, W2, 0} */
    __m128i h1_wk[3][2];      /* K+W for rounds 4-15: lo pair, hi pair per group */
    __m128i h1_m1, h1_m3;     /* W4..W7, W12..W15 */
    __m128i h1_c12, h1_c23, h1_c34; /* msg1 over (W4..7, W8..11), (W8..11, W12..15), (W12..15, W16) */
    __m128i mid_abef, mid_cdgh;
    /* hash 2 */
    __m128i iv_abef, iv_cdgh;
    __m128i h2_wk[2][2];      /* K+W for rounds 8-15 */
    __m128i h2_m2, h2_m3;     /* W8..W11, W12..W15 */
    __m128i h2_c23;           /* msg1 over (W8..11, W12..15) */
} shani_consts;

HB_SHANI_FN static void shani_setup(shani_consts *C, const hb_job *job) {
    for (int g = 0; g < 16; g++) C->k[g] = _mm_loadu_si128((const __m128i *)(hb_K + 4 * g));

    uint32_t s[8], w16;
    hb_prefix_without_nonce(job, s, &w16); /* W3 = 0 here; the loop adds the real W3 to A and E */
    C->h1_abef = _mm_set_epi32((int)s[0], (int)s[1], (int)s[4], (int)s[5]);
    C->h1_cdgh = _mm_set_epi32((int)s[2], (int)s[3], (int)s[6], (int)s[7]);
    C->h1_w0 = _mm_set_epi32(0, (int)job->tail[2], (int)job->tail[1], (int)job->tail[0]);

    const __m128i zero = _mm_setzero_si128();
    const __m128i m1 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
    const __m128i m3 = _mm_set_epi32(640, 0, 0, 0); /* message length: 80 bytes */
    const __m128i wk1[3] = {_mm_add_epi32(m1, C->k[1]), C->k[2], _mm_add_epi32(m3, C->k[3])};
    for (int i = 0; i < 3; i++) {
        C->h1_wk[i][0] = wk1[i];
        C->h1_wk[i][1] = _mm_shuffle_epi32(wk1[i], 0x0E);
    }
    C->h1_m1 = m1;
    C->h1_m3 = m3;
    C->h1_c12 = _mm_sha256msg1_epu32(m1, zero);
    C->h1_c23 = _mm_sha256msg1_epu32(zero, m3);
    /* msg1(W12..15, W16..19) reads only W16 of its second operand. */
    C->h1_c34 = _mm_sha256msg1_epu32(m3, _mm_set_epi32(0, 0, 0, (int)w16));

    const uint32_t *m = job->midstate;
    C->mid_abef = _mm_set_epi32((int)m[0], (int)m[1], (int)m[4], (int)m[5]);
    C->mid_cdgh = _mm_set_epi32((int)m[2], (int)m[3], (int)m[6], (int)m[7]);

    const uint32_t *iv = hb_IV;
    C->iv_abef = _mm_set_epi32((int)iv[0], (int)iv[1], (int)iv[4], (int)iv[5]);
    C->iv_cdgh = _mm_set_epi32((int)iv[2], (int)iv[3], (int)iv[6], (int)iv[7]);
    const __m128i n2 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
    const __m128i n3 = _mm_set_epi32(256, 0, 0, 0); /* message length: 32 bytes */
    const __m128i wk2[2] = {_mm_add_epi32(n2, C->k[2]), _mm_add_epi32(n3, C->k[3])};
    for (int i = 0; i < 2; i++) {
        C->h2_wk[i][0] = wk2[i];
        C->h2_wk[i][1] = _mm_shuffle_epi32(wk2[i], 0x0E);
    }
    C->h2_m2 = n2;
    C->h2_m3 = n3;
    C->h2_c23 = _mm_sha256msg1_epu32(n2, n3);
}

/* Four rounds from two K+W pairs. After the first rnds2 the register named cd holds the new
 * ABEF and ab the new CDGH (the old ABEF); the second rnds2 swaps them back. */
#define RNDS4(ab, cd, lo, hi)                          \
    cd = _mm_sha256rnds2_epu32(cd, ab, (lo));          \
    ab = _mm_sha256rnds2_epu32(ab, cd, (hi));
#define RNDS4W(ab, cd, wk)                             \
    {                                                  \
        const __m128i t_ = (wk);                       \
        RNDS4(ab, cd, t_, _mm_shuffle_epi32(t_, 0x0E)) \
    }
/* W[4g..4g+3] from the four previous groups. */
#define SCHED(m4, m3, m2, m1) \
    _mm_sha256msg2_epu32(     \
        _mm_add_epi32(_mm_sha256msg1_epu32(m4, m3), _mm_alignr_epi8(m1, m2, 4)), m1)
/* One generic group (g >= 8) of each hash: hash 1 of the new nonce, hash 2 of the previous. */
#define GROUPS(g, m4, m3, m2, m1)                                      \
    const __m128i w##g = SCHED(w##m4, w##m3, w##m2, w##m1);            \
    RNDS4W(a1, c1, _mm_add_epi32(w##g, C.k[g]))                        \
    const __m128i v##g = SCHED(v##m4, v##m3, v##m2, v##m1);            \
    RNDS4W(a2, c2, _mm_add_epi32(v##g, C.k[g]))

HB_SHANI_FN uint64_t hb_scan_shani(const hb_job *job, uint32_t start, uint64_t count,
                                   uint32_t *found, uint32_t max_found) {
    shani_consts C;
    shani_setup(&C, job);
    const uint32_t thr = job->target[0];
    uint64_t hits = 0;

    /* Hash-2 message (hash-1 result) handed from one iteration to the next. */
    __m128i v0 = _mm_setzero_si128(), v1 = _mm_setzero_si128();
    uint32_t prev = 0;

    /* Iteration i: hash 1 of nonce start+i (if i < count) beside hash 2 of nonce start+i-1 (if
     * i > 0). The dummy halves of the first and last iterations cost one nonce per call and keep
     * the loop free of special cases. i is 64-bit and the nonce is start + i < 2^32, so the top
     * of the nonce space cannot wrap into extra nonces. */
    for (uint64_t i = 0;; i++) {
        const uint32_t nonce = start + (uint32_t)(i < count ? i : 0);

        const __m128i x = _mm_cvtsi32_si128((int)hb_bswap32(nonce));
        __m128i a1 = _mm_add_epi32(C.h1_abef, _mm_shuffle_epi32(x, 0x11)); /* W3 into A and E */
        __m128i c1 = C.h1_cdgh;
        const __m128i w0 = _mm_add_epi32(C.h1_w0, _mm_shuffle_epi32(x, 0x15)); /* W3 into lane 3 */
        __m128i a2 = C.iv_abef, c2 = C.iv_cdgh;

        RNDS4W(a2, c2, _mm_add_epi32(v0, C.k[0]))
        RNDS4(a1, c1, C.h1_wk[0][0], C.h1_wk[0][1])
        RNDS4W(a2, c2, _mm_add_epi32(v1, C.k[1]))
        RNDS4(a1, c1, C.h1_wk[1][0], C.h1_wk[1][1])
        RNDS4(a2, c2, C.h2_wk[0][0], C.h2_wk[0][1])
        RNDS4(a1, c1, C.h1_wk[2][0], C.h1_wk[2][1])
        RNDS4(a2, c2, C.h2_wk[1][0], C.h2_wk[1][1])

        /* Groups 4-7 have padding words among their inputs; the alignr over W9..W12 (all zero)
         * drops out of group 4 in both hashes. */
        const __m128i w4 = _mm_sha256msg2_epu32(_mm_sha256msg1_epu32(w0, C.h1_m1), C.h1_m3);
        RNDS4W(a1, c1, _mm_add_epi32(w4, C.k[4]))
        const __m128i v4 = _mm_sha256msg2_epu32(_mm_sha256msg1_epu32(v0, v1), C.h2_m3);
        RNDS4W(a2, c2, _mm_add_epi32(v4, C.k[4]))

        const __m128i w5 = _mm_sha256msg2_epu32(
            _mm_add_epi32(C.h1_c12, _mm_alignr_epi8(w4, C.h1_m3, 4)), w4);
        RNDS4W(a1, c1, _mm_add_epi32(w5, C.k[5]))
        const __m128i v5 = _mm_sha256msg2_epu32(
            _mm_add_epi32(_mm_sha256msg1_epu32(v1, C.h2_m2), _mm_alignr_epi8(v4, C.h2_m3, 4)), v4);
        RNDS4W(a2, c2, _mm_add_epi32(v5, C.k[5]))

        const __m128i w6 = _mm_sha256msg2_epu32(_mm_add_epi32(C.h1_c23, _mm_alignr_epi8(w5, w4, 4)), w5);
        RNDS4W(a1, c1, _mm_add_epi32(w6, C.k[6]))
        const __m128i v6 = _mm_sha256msg2_epu32(_mm_add_epi32(C.h2_c23, _mm_alignr_epi8(v5, v4, 4)), v5);
        RNDS4W(a2, c2, _mm_add_epi32(v6, C.k[6]))

        const __m128i w7 = _mm_sha256msg2_epu32(_mm_add_epi32(C.h1_c34, _mm_alignr_epi8(w6, w5, 4)), w6);
        RNDS4W(a1, c1, _mm_add_epi32(w7, C.k[7]))
        const __m128i v7 = _mm_sha256msg2_epu32(
            _mm_add_epi32(_mm_sha256msg1_epu32(C.h2_m3, v4), _mm_alignr_epi8(v6, v5, 4)), v6);
        RNDS4W(a2, c2, _mm_add_epi32(v7, C.k[7]))

        GROUPS(8, 4, 5, 6, 7)
        GROUPS(9, 5, 6, 7, 8)
        GROUPS(10, 6, 7, 8, 9)
        GROUPS(11, 7, 8, 9, 10)
        GROUPS(12, 8, 9, 10, 11)
        GROUPS(13, 9, 10, 11, 12)
        GROUPS(14, 10, 11, 12, 13)

        const __m128i w15 = SCHED(w11, w12, w13, w14);
        RNDS4W(a1, c1, _mm_add_epi32(w15, C.k[15]))
        /* Hash 2 stops after rounds 60-61: the F lane of this ABEF is e61 = h64. */
        const __m128i v15 = SCHED(v11, v12, v13, v14);
        c2 = _mm_sha256rnds2_epu32(c2, a2, _mm_add_epi32(v15, C.k[15]));
        const uint32_t h7 = (uint32_t)_mm_cvtsi128_si32(c2) + hb_IV[7];

        /* Feed-forward of hash 1, then {F,E,B,A},{H,G,D,C} -> {A,B,C,D},{E,F,G,H}: next
         * iteration's hash-2 message words 0-7. */
        a1 = _mm_add_epi32(a1, C.mid_abef);
        c1 = _mm_add_epi32(c1, C.mid_cdgh);
        const __m128i t = _mm_shuffle_epi32(a1, 0x1B); /* A B E F */
        const __m128i u = _mm_shuffle_epi32(c1, 0xB1); /* G H C D */
        v0 = _mm_blend_epi16(t, u, 0xF0);
        v1 = _mm_alignr_epi8(u, t, 8);

        if (i > 0 && hb_bswap32(h7) <= thr) hb_check_candidate(job, prev, found, max_found, &hits);
        if (i == count) break;
        prev = nonce;
    }
    return hits;
}

#else /* not x86: never dispatched, kept so the package builds everywhere */

uint64_t hb_scan_shani(const hb_job *job, uint32_t start, uint64_t count, uint32_t *found,
                       uint32_t max_found) {
    (void)job;
    (void)start;
    (void)count;
    (void)found;
    (void)max_found;
    return 0;
}

#endif
