/*
 * hashbench CPU SHA-256d kernels: the C API shared by every path.
 *
 * A job is the nonce-independent part of an 80-byte Bitcoin block header:
 *   - midstate: SHA-256 state after compressing header bytes 0..64 (from the standard IV);
 *   - tail:     block-2 message words 0..2 = big-endian words of header bytes 64..76
 *               (last 4 bytes of the merkle root, time, nBits);
 *   - target:   the 256-bit target, target[0] = its most significant 32 bits.
 * Block-2 word 3 is the nonce: the header stores the nonce little-endian, the message word is
 * big-endian, so W3 = bswap32(nonce).
 *
 * The block hash, read as a 256-bit integer, is the digest taken little-endian; with final
 * state words H0..H7 its most significant 32 bits are bswap32(H7), then bswap32(H6), ...
 * A nonce is a hit when that integer <= target.
 */
#ifndef HASHBENCH_SHA256D_H
#define HASHBENCH_SHA256D_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum hb_impl {
    HB_IMPL_PORTABLE = 0,
    HB_IMPL_SHANI = 1,
    HB_IMPL_AVX2 = 2,
    HB_IMPL_AVX512 = 3,
    HB_IMPL_SIMD128 = 4,
    HB_IMPL_ARMSHA2 = 5,
    HB_IMPL_COUNT = 6
};

typedef struct {
    uint32_t midstate[8];
    uint32_t tail[3];
    uint32_t target[8];
} hb_job;

/* Scanner signature shared by all paths.
 * Scans nonces start .. start+count-1 (count >= 1, start + count <= 2^32).
 * Writes the first max_found hits, in ascending nonce order, into found[];
 * returns the total number of hits (may exceed max_found: extra hits are counted, not stored).
 * Must not touch Python; called with the GIL released. */
typedef uint64_t (*hb_scan_fn)(const hb_job *job, uint32_t start, uint64_t count,
                               uint32_t *found, uint32_t max_found);

uint64_t hb_scan_portable(const hb_job *job, uint32_t start, uint64_t count,
                          uint32_t *found, uint32_t max_found);
uint64_t hb_scan_shani(const hb_job *job, uint32_t start, uint64_t count,
                       uint32_t *found, uint32_t max_found);
uint64_t hb_scan_avx2(const hb_job *job, uint32_t start, uint64_t count,
                      uint32_t *found, uint32_t max_found);
uint64_t hb_scan_avx512(const hb_job *job, uint32_t start, uint64_t count,
                        uint32_t *found, uint32_t max_found);
uint64_t hb_scan_simd128(const hb_job *job, uint32_t start, uint64_t count,
                         uint32_t *found, uint32_t max_found);
int hb_simd128_available(void);        /* 1 when the compiler had generic vector types */
uint64_t hb_scan_armsha2(const hb_job *job, uint32_t start, uint64_t count,
                         uint32_t *found, uint32_t max_found);
int hb_armsha2_compiled(void);         /* 1 when built for AArch64 by a compiler that can emit the SHA-256 ops */

/* Dispatch (dispatch.c): CPUID + XGETBV on x86, the kernel's hardware capabilities on AArch64. */
enum {
    HB_F_SHANI = 1,  /* SHA + SSSE3 + SSE4.1 */
    HB_F_AVX2 = 2,   /* AVX + AVX2, YMM state enabled by the OS */
    HB_F_AVX512 = 4, /* AVX512F, YMM + opmask + ZMM state enabled by the OS */
    HB_F_ARMSHA2 = 8 /* Armv8 Cryptography Extension SHA-256 instructions + Advanced SIMD */
};
/* AT_HWCAP bits of Linux and FreeBSD on AArch64 (the same values on both, part of the kernels' ABI). */
#define HB_ARM_HWCAP_ASIMD (1u << 1)
#define HB_ARM_HWCAP_SHA2 (1u << 6)
/* The x86 paths (HB_F_*) a CPU and OS allow, from CPUID leaf 1 ECX, leaf 7 EBX and XCR0 (ignored unless ECX
 * has OSXSAVE): the rule alone, so tests can ask it about CPUs and OS settings the test machine is not. */
unsigned hb_x86_features(uint32_t ecx1, uint32_t ebx7, uint64_t xcr0);
/* The AArch64 paths (HB_F_*) an AT_HWCAP word allows (macOS answers are mapped to these bits): the rule alone. */
unsigned hb_arm_features(uint64_t hwcap);
int hb_impl_supported(int impl);       /* 1 when this CPU and OS can run the path */
int hb_best_impl(void);                /* fastest supported path */
const char *hb_impl_name(int impl);    /* "portable", "sha-ni", "avx2", "avx512", "simd128",
                                          "arm-sha2"; NULL if out of range */
hb_scan_fn hb_impl_fn(int impl);       /* NULL if out of range */

/* Shared scalar helpers (sha256d_common.c). */
extern const uint32_t hb_K[64];
extern const uint32_t hb_IV[8];
/* One SHA-256 compression of a 16-word big-endian message block into state. */
void hb_compress(uint32_t state[8], const uint32_t block[16]);
/* The per-call prefix of the SHA-instruction paths (SHA-NI, Arm): the first hash's state after rounds 0-3 of the
 * second block with the nonce word W3 = 0 (W3 enters round 3 only through T1, added to A and E, so each nonce
 * adds its W3 to those two words), and W16 = W0 + sigma0(W1), which does not see the nonce either. */
void hb_prefix_without_nonce(const hb_job *job, uint32_t state[8], uint32_t *w16);
/* Full SHA-256d of the job's header with this nonce: final state words H0..H7. */
void hb_sha256d_state(const hb_job *job, uint32_t nonce, uint32_t out[8]);
/* 1 when the hash with final state words out[8] is <= job->target. */
int hb_meets_target(const hb_job *job, const uint32_t state[8]);
/* Threshold for the early reject on H7: a hit needs bswap32(H7) <= target[0]. */
#if defined(_MSC_VER) && !defined(__clang__)
#include <stdlib.h>
static inline uint32_t hb_bswap32(uint32_t x) { return _byteswap_ulong(x); }
#else
static inline uint32_t hb_bswap32(uint32_t x) { return __builtin_bswap32(x); }
#endif
/* Records a confirmed-or-not candidate: recomputes it in scalar code, and when it meets the
 * target stores it (if room) and counts it. Used by every SIMD path for the rare candidates. */
static inline void hb_check_candidate(const hb_job *job, uint32_t nonce, uint32_t *found,
                                      uint32_t max_found, uint64_t *hits) {
    uint32_t st[8];
    hb_sha256d_state(job, nonce, st);
    if (hb_meets_target(job, st)) {
        if (*hits < max_found) found[*hits] = nonce;
        (*hits)++;
    }
}

#ifdef __cplusplus
}
#endif
#endif
