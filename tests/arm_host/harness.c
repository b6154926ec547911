/* Drives the real C kernels (every kernels/ .c file) on an emulated AArch64 CPU for tests/test_arm_kernels.py: the test
 * cross-compiles this file with them, runs it under qemu-aarch64 and compares what it prints with hashlib.
 *
 * One command per stdin line, one answer line each:
 *   impls                    -> "impl <name> <1|0 supported>" per path, then "best <name>", then "hwcap <hex>"
 *   scan <name> <start> <count> <max_found> <midstate> <tail> <target>
 *                            -> "hits <total> <listed nonce>..." or "refused <name>" when the CPU lacks the path
 * Word lists are comma-separated hex, midstate 8 words, tail 3, target 8 (most significant first).
 * The found list gets guard slots past max_found; a kernel writing into them prints "overrun". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "sha256d.h"

#define GUARD 8
#define GUARD_WORD 0xA5A5A5A5u

static int words(const char *text, uint32_t *out, int n) {
    char *end;
    for (int i = 0; i < n; i++) {
        out[i] = (uint32_t)strtoul(text, &end, 16);
        if (end == text || (i < n - 1 && *end != ',')) return 0;
        text = end + 1;
    }
    return 1;
}

static int impl_index(const char *name) {
    for (int i = 0; i < HB_IMPL_COUNT; i++)
        if (strcmp(hb_impl_name(i), name) == 0) return i;
    return -1;
}

static void scan(const char *args) {
    char name[32], mid[128], tail[64], target[128];
    unsigned long start, max_found;
    unsigned long long count;
    hb_job job;
    if (sscanf(args, "%31s %lu %llu %lu %127s %63s %127s", name, &start, &count, &max_found, mid, tail, target) != 7
        || !words(mid, job.midstate, 8) || !words(tail, job.tail, 3) || !words(target, job.target, 8)) {
        printf("error bad scan line\n");
        return;
    }
    const int impl = impl_index(name);
    if (impl < 0) {
        printf("error unknown impl %s\n", name);
        return;
    }
    if (!hb_impl_supported(impl)) {
        printf("refused %s\n", name);
        return;
    }
    uint32_t *found = malloc((max_found + GUARD) * sizeof *found);
    for (unsigned long i = 0; i < max_found + GUARD; i++) found[i] = GUARD_WORD;
    const uint64_t hits = hb_impl_fn(impl)(&job, (uint32_t)start, count, found, (uint32_t)max_found);
    for (unsigned long i = max_found; i < max_found + GUARD; i++)
        if (found[i] != GUARD_WORD) {
            printf("overrun\n");
            free(found);
            return;
        }
    printf("hits %" PRIu64, hits);
    for (uint64_t i = 0; i < hits && i < max_found; i++) printf(" %" PRIu32, found[i]);
    printf("\n");
    free(found);
}

int main(void) {
    static char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "impls", 5) == 0) {
            for (int i = 0; i < HB_IMPL_COUNT; i++) printf("impl %s %d\n", hb_impl_name(i), hb_impl_supported(i));
            printf("best %s\n", hb_impl_name(hb_best_impl()));
            printf("hwcap %lx\n", getauxval(AT_HWCAP));
        } else if (strncmp(line, "scan ", 5) == 0) {
            scan(line + 5);
        } else {
            printf("error unknown command\n");
        }
        fflush(stdout);
    }
    return 0;
}
