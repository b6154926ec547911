/* Run-time choice of the scan path. A path runs only when the CPU has the instructions
 * (CPUID) and the OS saves the registers they use across context switches (XGETBV); on AArch64,
 * when the kernel reports the instructions (AT_HWCAP, or sysctl on macOS). */
#include <stddef.h>
#include "sha256d.h"

#if defined(__aarch64__) || defined(_M_ARM64)
#define HB_ARM64 1
#if defined(__linux__) || defined(__ANDROID__) || defined(__FreeBSD__)
#include <sys/auxv.h> /* getauxval (Linux, Android), elf_aux_info (FreeBSD 12+) */
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif
#else
#define HB_ARM64 0
#endif

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define HB_X86 1
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static void hb_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    for (int i = 0; i < 4; i++) r[i] = (uint32_t)v[i];
}
static uint64_t hb_xgetbv0(void) { return (uint64_t)_xgetbv(0); }
#else
#include <cpuid.h>
static void hb_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    /* __get_cpuid_count checks the maximum leaf itself and fails above it. */
    if (!__get_cpuid_count(leaf, sub, &a, &b, &c, &d)) a = b = c = d = 0;
    r[0] = a; r[1] = b; r[2] = c; r[3] = d;
}
/* Raw opcode bytes of xgetbv, so old assemblers without the mnemonic also work. */
static uint64_t hb_xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ __volatile__(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif
#else
#define HB_X86 0
#endif

unsigned hb_x86_features(uint32_t ecx1, uint32_t ebx7, uint64_t xcr0) {
    const int ssse3 = (ecx1 >> 9) & 1, sse41 = (ecx1 >> 19) & 1;
    const int osxsave = (ecx1 >> 27) & 1, avx = (ecx1 >> 28) & 1;
    const int avx2 = (ebx7 >> 5) & 1, avx512f = (ebx7 >> 16) & 1, sha = (ebx7 >> 29) & 1;
    unsigned f = 0;

    /* SHA-NI works on XMM registers, whose state every x86_64 OS saves (FXSAVE): no XCR0 check. */
    if (sha && ssse3 && sse41) f |= HB_F_SHANI;
    /* Without OSXSAVE the OS saves no AVX state (and XGETBV would fault): xcr0 means nothing then. */
    if (osxsave) {
        const int ymm_ok = (xcr0 & 0x6) == 0x6;    /* bit 1 XMM, bit 2 YMM upper halves */
        const int zmm_ok = (xcr0 & 0xE6) == 0xE6;  /* + bit 5 opmask, 6 ZMM0-15 upper, 7 ZMM16-31 */
        if (avx && avx2 && ymm_ok) f |= HB_F_AVX2;
        if (avx512f && zmm_ok) f |= HB_F_AVX512;
    }
    return f;
}

unsigned hb_arm_features(uint64_t hwcap) {
    /* The SHA-256 instructions work on the Advanced SIMD registers; both are baseline on every AArch64 Linux
     * server, but a kernel that hid one (or a CPU model an emulator was told lacks it) must not get the path. */
    const uint64_t need = HB_ARM_HWCAP_ASIMD | HB_ARM_HWCAP_SHA2;
    return (hwcap & need) == need ? HB_F_ARMSHA2 : 0;
}

#if HB_ARM64
/* The kernel's AT_HWCAP word, or the same bits built from what the OS says in its own way; 0 where unknown. */
static uint64_t hb_arm_hwcap(void) {
#if defined(__linux__) || defined(__ANDROID__)
    return (uint64_t)getauxval(AT_HWCAP);
#elif defined(__FreeBSD__)
    unsigned long hwcap = 0;
    if (elf_aux_info(AT_HWCAP, &hwcap, sizeof hwcap) != 0) return 0;
    return (uint64_t)hwcap;
#elif defined(__APPLE__)
    int has = 0;
    size_t size = sizeof has;
    /* macOS 12+ names each feature; every Apple arm64 CPU (A7 on) has SHA-256, so an older macOS without the
     * name runs the path too. */
    if (sysctlbyname("hw.optional.arm.FEAT_SHA256", &has, &size, NULL, 0) != 0) has = 1;
    return has ? (HB_ARM_HWCAP_ASIMD | HB_ARM_HWCAP_SHA2) : HB_ARM_HWCAP_ASIMD;
#else
    return 0;
#endif
}
#endif

static unsigned hb_features(void) {
#if HB_ARM64
    return hb_arm_features(hb_arm_hwcap());
#elif HB_X86
    uint32_t r1[4], r7[4];
    hb_cpuid(0, 0, r1);
    const uint32_t max_leaf = r1[0];
    hb_cpuid(1, 0, r1);
    const uint32_t ecx1 = r1[2];
    if (max_leaf >= 7)
        hb_cpuid(7, 0, r7);
    else
        r7[0] = r7[1] = r7[2] = r7[3] = 0;
    /* XGETBV faults unless the OS set CR4.OSXSAVE, which CPUID reports as OSXSAVE. */
    const uint64_t xcr0 = ((ecx1 >> 27) & 1) ? hb_xgetbv0() : 0;
    return hb_x86_features(ecx1, r7[1], xcr0);
#else
    return 0;
#endif
}

int hb_impl_supported(int impl) {
    switch (impl) {
    case HB_IMPL_PORTABLE: return 1;
    case HB_IMPL_SHANI: return (hb_features() & HB_F_SHANI) != 0;
    case HB_IMPL_AVX2: return (hb_features() & HB_F_AVX2) != 0;
    case HB_IMPL_AVX512: return (hb_features() & HB_F_AVX512) != 0;
    case HB_IMPL_SIMD128: return hb_simd128_available();
    case HB_IMPL_ARMSHA2: return hb_armsha2_compiled() && (hb_features() & HB_F_ARMSHA2) != 0;
    default: return 0;
    }
}

int hb_best_impl(void) {
    static const int order[] = {HB_IMPL_AVX512, HB_IMPL_SHANI, HB_IMPL_ARMSHA2, HB_IMPL_AVX2,
                                 HB_IMPL_SIMD128};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (hb_impl_supported(order[i])) return order[i];
    return HB_IMPL_PORTABLE;
}

const char *hb_impl_name(int impl) {
    switch (impl) {
    case HB_IMPL_PORTABLE: return "portable";
    case HB_IMPL_SHANI: return "sha-ni";
    case HB_IMPL_AVX2: return "avx2";
    case HB_IMPL_AVX512: return "avx512";
    case HB_IMPL_SIMD128: return "simd128";
    case HB_IMPL_ARMSHA2: return "arm-sha2";
    default: return NULL;
    }
}

hb_scan_fn hb_impl_fn(int impl) {
    switch (impl) {
    case HB_IMPL_PORTABLE: return hb_scan_portable;
    case HB_IMPL_SHANI: return hb_scan_shani;
    case HB_IMPL_AVX2: return hb_scan_avx2;
    case HB_IMPL_AVX512: return hb_scan_avx512;
    case HB_IMPL_SIMD128: return hb_scan_simd128;
    case HB_IMPL_ARMSHA2: return hb_scan_armsha2;
    default: return NULL;
    }
}
