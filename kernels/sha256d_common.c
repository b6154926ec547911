/* Scalar SHA-256 pieces shared by all CPU paths: the round constants, one compression,
 * the full double hash of a header and the 256-bit target compare. These run only for
 * candidates (and in tests), never in a hot loop. */
#include "sha256d.h"

const uint32_t hb_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

const uint32_t hb_IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                           0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static inline uint32_t ror32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void round_kw(uint32_t s[8], uint32_t kw) {  /* one round, K[t] + W[t] already summed */
    uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + kw;
    uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    s[7] = g; s[6] = f; s[5] = e; s[4] = d + t1;
    s[3] = c; s[2] = b; s[1] = a; s[0] = t1 + t2;
}

void hb_prefix_without_nonce(const hb_job *job, uint32_t state[8], uint32_t *w16) {
    for (int i = 0; i < 8; i++) state[i] = job->midstate[i];
    for (int t = 0; t < 3; t++) round_kw(state, hb_K[t] + job->tail[t]);
    round_kw(state, hb_K[3]);
    const uint32_t w1 = job->tail[1];
    *w16 = job->tail[0] + (ror32(w1, 7) ^ ror32(w1, 18) ^ (w1 >> 3));
}

void hb_compress(uint32_t state[8], const uint32_t block[16]) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = block[i];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t s[8];
    for (int i = 0; i < 8; i++) s[i] = state[i];
    for (int i = 0; i < 64; i++) round_kw(s, hb_K[i] + w[i]);
    for (int i = 0; i < 8; i++) state[i] += s[i];
}

void hb_sha256d_state(const hb_job *job, uint32_t nonce, uint32_t out[8]) {
    uint32_t block[16] = {job->tail[0], job->tail[1], job->tail[2], hb_bswap32(nonce),
                          0x80000000u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 640};
    uint32_t st[8];
    for (int i = 0; i < 8; i++) st[i] = job->midstate[i];
    hb_compress(st, block);
    uint32_t block2[16] = {st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7],
                           0x80000000u, 0, 0, 0, 0, 0, 0, 256};
    for (int i = 0; i < 8; i++) out[i] = hb_IV[i];
    hb_compress(out, block2);
}

int hb_meets_target(const hb_job *job, const uint32_t state[8]) {
    for (int i = 0; i < 8; i++) {
        uint32_t h = hb_bswap32(state[7 - i]);
        if (h != job->target[i]) return h < job->target[i];
    }
    return 1; /* equal to the target counts as meeting it */
}
