/* SHA-NI scanner, first cut (baseline for measurements). */
#include "sha256d.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#if defined(_MSC_VER) && !defined(__clang__)
#define HB_SHANI_FN
#define HB_SHANI_INLINE static __forceinline
#else
#define HB_SHANI_FN __attribute__((target("sha,sse4.1,ssse3")))
#define HB_SHANI_INLINE static inline __attribute__((always_inline, target("sha,sse4.1,ssse3")))
#endif

#ifndef HB_SHANI_WAYS
#define HB_SHANI_WAYS 2
#endif

static inline uint32_t s_ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static inline uint32_t s_sig0(uint32_t x) { return s_ror(x, 7) ^ s_ror(x, 18) ^ (x >> 3); }

static void s_round(uint32_t s[8], uint32_t kw) {
    uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    uint32_t t1 = h + (s_ror(e, 6) ^ s_ror(e, 11) ^ s_ror(e, 25)) + ((e & f) ^ (~e & g)) + kw;
    uint32_t t2 = (s_ror(a, 2) ^ s_ror(a, 13) ^ s_ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    s[7] = g; s[6] = f; s[5] = e; s[4] = d + t1;
    s[3] = c; s[2] = b; s[1] = a; s[0] = t1 + t2;
}

typedef struct {
    __m128i k[16];
    __m128i h1_abef, h1_cdgh, h1_w0;
    __m128i h1_wk[3][2];
    __m128i h1_m1, h1_m3, h1_c12, h1_c23, h1_c34;
    __m128i mid_abef, mid_cdgh;
    __m128i iv_abef, iv_cdgh;
    __m128i h2_wk[2][2];
    __m128i h2_m2, h2_m3, h2_c23;
} shani_consts;

HB_SHANI_FN static void shani_setup(shani_consts *C, const hb_job *job) {
    const uint32_t *K = hb_K;
    for (int g = 0; g < 16; g++) C->k[g] = _mm_loadu_si128((const __m128i *)(K + 4 * g));
    uint32_t s[8];
    for (int i = 0; i < 8; i++) s[i] = job->midstate[i];
    s_round(s, K[0] + job->tail[0]);
    s_round(s, K[1] + job->tail[1]);
    s_round(s, K[2] + job->tail[2]);
    s_round(s, K[3]);
    C->h1_abef = _mm_set_epi32((int)s[0], (int)s[1], (int)s[4], (int)s[5]);
    C->h1_cdgh = _mm_set_epi32((int)s[2], (int)s[3], (int)s[6], (int)s[7]);
    C->h1_w0 = _mm_set_epi32(0, (int)job->tail[2], (int)job->tail[1], (int)job->tail[0]);
    __m128i m1 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
    __m128i m2 = _mm_setzero_si128();
    __m128i m3 = _mm_set_epi32(640, 0, 0, 0);
    __m128i wks[3] = {_mm_add_epi32(m1, C->k[1]), _mm_add_epi32(m2, C->k[2]), _mm_add_epi32(m3, C->k[3])};
    for (int i = 0; i < 3; i++) {
        C->h1_wk[i][0] = wks[i];
        C->h1_wk[i][1] = _mm_shuffle_epi32(wks[i], 0x0E);
    }
    C->h1_m1 = m1;
    C->h1_m3 = m3;
    C->h1_c12 = _mm_sha256msg1_epu32(m1, m2);
    C->h1_c23 = _mm_sha256msg1_epu32(m2, m3);
    uint32_t w16 = job->tail[0] + s_sig0(job->tail[1]);
    C->h1_c34 = _mm_sha256msg1_epu32(m3, _mm_set_epi32(0, 0, 0, (int)w16));
    const uint32_t *m = job->midstate;
    C->mid_abef = _mm_set_epi32((int)m[0], (int)m[1], (int)m[4], (int)m[5]);
    C->mid_cdgh = _mm_set_epi32((int)m[2], (int)m[3], (int)m[6], (int)m[7]);
    const uint32_t *iv = hb_IV;
    C->iv_abef = _mm_set_epi32((int)iv[0], (int)iv[1], (int)iv[4], (int)iv[5]);
    C->iv_cdgh = _mm_set_epi32((int)iv[2], (int)iv[3], (int)iv[6], (int)iv[7]);
    __m128i n2 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
    __m128i n3 = _mm_set_epi32(256, 0, 0, 0);
    __m128i wk2[2] = {_mm_add_epi32(n2, C->k[2]), _mm_add_epi32(n3, C->k[3])};
    for (int i = 0; i < 2; i++) {
        C->h2_wk[i][0] = wk2[i];
        C->h2_wk[i][1] = _mm_shuffle_epi32(wk2[i], 0x0E);
    }
    C->h2_m2 = n2;
    C->h2_m3 = n3;
    C->h2_c23 = _mm_sha256msg1_epu32(n2, n3);
}

#define RNDS(j, lo, hi)                                       \
    c##j = _mm_sha256rnds2_epu32(c##j, a##j, (lo));           \
    a##j = _mm_sha256rnds2_epu32(a##j, c##j, (hi));
#define RND4(j, wk)                                           \
    {                                                         \
        __m128i t_ = (wk);                                    \
        RNDS(j, t_, _mm_shuffle_epi32(t_, 0x0E))              \
    }
#define NEXTW(j, P, g, m4, m3, m2, m1)                                                     \
    __m128i P##g##_##j = _mm_sha256msg2_epu32(                                                \
        _mm_add_epi32(_mm_sha256msg1_epu32(P##m4##_##j, P##m3##_##j),                         \
                      _mm_alignr_epi8(P##m1##_##j, P##m2##_##j, 4)),                          \
        P##m1##_##j);

#define H1_START(j)                                                        \
    __m128i x##j = _mm_cvtsi32_si128((int)hb_bswap32(nonce[j]));           \
    __m128i a##j = _mm_add_epi32(C->h1_abef, _mm_shuffle_epi32(x##j, 0x11)); \
    __m128i c##j = C->h1_cdgh;                                               \
    __m128i w0_##j = _mm_add_epi32(C->h1_w0, _mm_shuffle_epi32(x##j, 0x15));
#define H1_G1(j) RNDS(j, C->h1_wk[0][0], C->h1_wk[0][1])
#define H1_G2(j) RNDS(j, C->h1_wk[1][0], C->h1_wk[1][1])
#define H1_G3(j) RNDS(j, C->h1_wk[2][0], C->h1_wk[2][1])
#define H1_G4(j)                                                                             \
    __m128i w4_##j = _mm_sha256msg2_epu32(_mm_sha256msg1_epu32(w0_##j, C->h1_m1), C->h1_m3); \
    RND4(j, _mm_add_epi32(w4_##j, C->k[4]))
#define H1_G5(j)                                                                                 \
    __m128i w5_##j = _mm_sha256msg2_epu32(                                                         \
        _mm_add_epi32(C->h1_c12, _mm_alignr_epi8(w4_##j, C->h1_m3, 4)), w4_##j);                    \
    RND4(j, _mm_add_epi32(w5_##j, C->k[5]))
#define H1_G6(j)                                                                                 \
    __m128i w6_##j = _mm_sha256msg2_epu32(_mm_add_epi32(C->h1_c23, _mm_alignr_epi8(w5_##j, w4_##j, 4)), \
                                         w5_##j);                                                  \
    RND4(j, _mm_add_epi32(w6_##j, C->k[6]))
#define H1_G7(j)                                                                                 \
    __m128i w7_##j = _mm_sha256msg2_epu32(_mm_add_epi32(C->h1_c34, _mm_alignr_epi8(w6_##j, w5_##j, 4)), \
                                         w6_##j);                                                  \
    RND4(j, _mm_add_epi32(w7_##j, C->k[7]))
#define H1_GN(j, g, m4, m3, m2, m1) \
    NEXTW(j, w, g, m4, m3, m2, m1) RND4(j, _mm_add_epi32(w##g##_##j, C->k[g]))
#define H1_END(j)                                               \
    a##j = _mm_add_epi32(a##j, C->mid_abef);                    \
    c##j = _mm_add_epi32(c##j, C->mid_cdgh);                    \
    {                                                           \
        __m128i t_ = _mm_shuffle_epi32(a##j, 0x1B);             \
        __m128i u_ = _mm_shuffle_epi32(c##j, 0xB1);             \
        v0_##j = _mm_blend_epi16(t_, u_, 0xF0);                  \
        v1_##j = _mm_alignr_epi8(u_, t_, 8);                     \
    }                                                           \
    a##j = C->iv_abef;                                          \
    c##j = C->iv_cdgh;
#define H2_G0(j) RND4(j, _mm_add_epi32(v0_##j, C->k[0]))
#define H2_G1(j) RND4(j, _mm_add_epi32(v1_##j, C->k[1]))
#define H2_G2(j) RNDS(j, C->h2_wk[0][0], C->h2_wk[0][1])
#define H2_G3(j) RNDS(j, C->h2_wk[1][0], C->h2_wk[1][1])
#define H2_G4(j)                                                                      \
    __m128i v4_##j = _mm_sha256msg2_epu32(_mm_sha256msg1_epu32(v0_##j, v1_##j), C->h2_m3); \
    RND4(j, _mm_add_epi32(v4_##j, C->k[4]))
#define H2_G5(j)                                                                             \
    __m128i v5_##j = _mm_sha256msg2_epu32(                                                     \
        _mm_add_epi32(_mm_sha256msg1_epu32(v1_##j, C->h2_m2), _mm_alignr_epi8(v4_##j, C->h2_m3, 4)), \
        v4_##j);                                                                              \
    RND4(j, _mm_add_epi32(v5_##j, C->k[5]))
#define H2_G6(j)                                                                                 \
    __m128i v6_##j = _mm_sha256msg2_epu32(_mm_add_epi32(C->h2_c23, _mm_alignr_epi8(v5_##j, v4_##j, 4)), \
                                         v5_##j);                                                  \
    RND4(j, _mm_add_epi32(v6_##j, C->k[6]))
#define H2_G7(j)                                                                              \
    __m128i v7_##j = _mm_sha256msg2_epu32(                                                      \
        _mm_add_epi32(_mm_sha256msg1_epu32(C->h2_m3, v4_##j), _mm_alignr_epi8(v6_##j, v5_##j, 4)), \
        v6_##j);                                                                               \
    RND4(j, _mm_add_epi32(v7_##j, C->k[7]))
#define H2_GN(j, g, m4, m3, m2, m1) \
    NEXTW(j, v, g, m4, m3, m2, m1) RND4(j, _mm_add_epi32(v##g##_##j, C->k[g]))
#ifndef HB_TAIL_S
#define HB_TAIL_S 62
#endif
#define H2_G15(j)                                                           \
    NEXTW(j, v, 15, 11, 12, 13, 14)                                       \
    c##j = _mm_sha256rnds2_epu32(c##j, a##j, _mm_add_epi32(v15_##j, C->k[15])); \
    h7[j] = (uint32_t)_mm_cvtsi128_si32(c##j) + hb_IV[7];

static inline uint32_t s_sig1(uint32_t x) { return s_ror(x, 17) ^ s_ror(x, 19) ^ (x >> 10); }
static inline uint32_t s_tail_e61(const uint32_t *st, const uint32_t *kw, int S) {
    uint32_t a = st[3], b = st[2], e = st[1], f = st[0], c = st[7], d = st[6], g = st[5], h = st[4];
    for (int t = S; t <= 60; t++) {
        uint32_t t1 = h + (s_ror(e, 6) ^ s_ror(e, 11) ^ s_ror(e, 25)) + ((e & f) ^ (~e & g)) + kw[t - S];
        uint32_t t2 = (s_ror(a, 2) ^ s_ror(a, 13) ^ s_ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    return e;
}
/* tb: ABEF, CDGH, then K+W for groups S/4 .. 15 */
#define TAIL_STORE(j, abef, cdgh) \
    _mm_storeu_si128((__m128i *)(tb##j + 0), abef); \
    _mm_storeu_si128((__m128i *)(tb##j + 4), cdgh);
#define TAIL_FINISH(j) h7[j] = s_tail_e61(tb##j, tb##j + 8 + (HB_TAIL_S % 4), HB_TAIL_S) + hb_IV[7];
#define WK15(j) NEXTW(j, v, 15, 11, 12, 13, 14) \
    _mm_storeu_si128((__m128i *)(tb##j + 8 + 4 * (15 - HB_TAIL_S / 4)), _mm_add_epi32(v15_##j, C->k[15]));
#if HB_TAIL_S == 60
#define H2_LAST(j) EACHA(H2_GN, 14, 10, 11, 12, 13) EACH(WK15) EACH(TAIL_S60) EACH(TAIL_FINISH)
#define TAIL_S60(j) TAIL_STORE(j, a##j, c##j)
#elif HB_TAIL_S == 58
#define G14_58(j) NEXTW(j, v, 14, 10, 11, 12, 13) \
    { __m128i t_ = _mm_add_epi32(v14_##j, C->k[14]); \
      c##j = _mm_sha256rnds2_epu32(c##j, a##j, t_); \
      _mm_storeu_si128((__m128i *)(tb##j + 8), t_); } \
    TAIL_STORE(j, c##j, a##j)
#define H2_LAST(j) EACH(G14_58) EACH(WK15) EACH(TAIL_FINISH)
#elif HB_TAIL_S == 56
#define G14_56(j) NEXTW(j, v, 14, 10, 11, 12, 13) \
    _mm_storeu_si128((__m128i *)(tb##j + 8), _mm_add_epi32(v14_##j, C->k[14])); \
    TAIL_STORE(j, a##j, c##j)
#define H2_LAST(j) EACH(G14_56) EACH(WK15) EACH(TAIL_FINISH)
#endif

#if HB_SHANI_WAYS == 1
#define EACH(M) M(0)
#define EACHA(M, ...) M(0, __VA_ARGS__)
#define DECLV __m128i v0_0, v1_0;
#elif HB_SHANI_WAYS == 2
#define EACH(M) M(0) M(1)
#define EACHA(M, ...) M(0, __VA_ARGS__) M(1, __VA_ARGS__)
#define DECLV __m128i v0_0, v1_0, v0_1, v1_1;
#elif HB_SHANI_WAYS == 3
#define EACH(M) M(0) M(1) M(2)
#define EACHA(M, ...) M(0, __VA_ARGS__) M(1, __VA_ARGS__) M(2, __VA_ARGS__)
#define DECLV __m128i v0_0, v1_0, v0_1, v1_1, v0_2, v1_2;
#elif HB_SHANI_WAYS == 4
#define EACH(M) M(0) M(1) M(2) M(3)
#define EACHA(M, ...) M(0, __VA_ARGS__) M(1, __VA_ARGS__) M(2, __VA_ARGS__) M(3, __VA_ARGS__)
#define DECLV __m128i v0_0, v1_0, v0_1, v1_1, v0_2, v1_2, v0_3, v1_3;
#endif

#define DECLTB(j) uint32_t tb##j[20];
HB_SHANI_INLINE void shani_block(const shani_consts *C, const uint32_t *nonce, uint32_t *h7) {
    DECLV
    EACH(H1_START)
    EACH(H1_G1) EACH(H1_G2) EACH(H1_G3)
    EACH(H1_G4) EACH(H1_G5) EACH(H1_G6) EACH(H1_G7)
    EACHA(H1_GN, 8, 4, 5, 6, 7)
    EACHA(H1_GN, 9, 5, 6, 7, 8)
    EACHA(H1_GN, 10, 6, 7, 8, 9)
    EACHA(H1_GN, 11, 7, 8, 9, 10)
    EACHA(H1_GN, 12, 8, 9, 10, 11)
    EACHA(H1_GN, 13, 9, 10, 11, 12)
    EACHA(H1_GN, 14, 10, 11, 12, 13)
    EACHA(H1_GN, 15, 11, 12, 13, 14)
    EACH(H1_END)
    EACH(H2_G0) EACH(H2_G1) EACH(H2_G2) EACH(H2_G3)
    EACH(H2_G4) EACH(H2_G5) EACH(H2_G6) EACH(H2_G7)
    EACHA(H2_GN, 8, 4, 5, 6, 7)
    EACHA(H2_GN, 9, 5, 6, 7, 8)
    EACHA(H2_GN, 10, 6, 7, 8, 9)
    EACHA(H2_GN, 11, 7, 8, 9, 10)
    EACHA(H2_GN, 12, 8, 9, 10, 11)
    EACHA(H2_GN, 13, 9, 10, 11, 12)
#if HB_TAIL_S == 62
    EACHA(H2_GN, 14, 10, 11, 12, 13)
    EACH(H2_G15)
#else
    EACH(DECLTB)
    H2_LAST(0)
#endif
}

HB_SHANI_FN uint64_t hb_scan_shani(const hb_job *job, uint32_t start, uint64_t count,
                                   uint32_t *found, uint32_t max_found) {
    shani_consts C;
    shani_setup(&C, job);
    const uint32_t thr = job->target[0];
    uint64_t hits = 0;
    for (uint64_t done = 0; done < count; done += HB_SHANI_WAYS) {
        uint64_t left = count - done;
        uint32_t base = start + (uint32_t)done;
        uint32_t nonce[HB_SHANI_WAYS], h7[HB_SHANI_WAYS];
        for (int j = 0; j < HB_SHANI_WAYS; j++) nonce[j] = (uint64_t)j < left ? base + (uint32_t)j : base;
        shani_block(&C, nonce, h7);
        for (int j = 0; j < HB_SHANI_WAYS; j++)
            if (hb_bswap32(h7[j]) <= thr && (uint64_t)j < left)
                hb_check_candidate(job, nonce[j], found, max_found, &hits);
    }
    return hits;
}

#else

uint64_t hb_scan_shani(const hb_job *job, uint32_t start, uint64_t count, uint32_t *found,
                       uint32_t max_found) {
    (void)job; (void)start; (void)count; (void)found; (void)max_found;
    return 0;
}

#endif
