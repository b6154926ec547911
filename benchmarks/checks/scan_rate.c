/* The C kernels' own scan rate, outside Python: for comparing compilers and flags on one path.
 *
 *   cc -O3 -fno-strict-aliasing -Ikernels benchmarks/checks/scan_rate.c kernels/[a-z]*.c -o scan_rate
 *   taskset -c 0 ./scan_rate 3        # impl number (enum hb_impl in kernels/sha256d.h): 3 = avx512
 *
 * Prints the best of five scans of 2^24 nonces on a fixed job whose target nothing meets (so only
 * the vector loop and its early reject run), timed in this thread's CPU time: other work on the
 * same core (a test run beside it) takes turns with the scan but does not count against it. Correctness is not checked here: the tests run the
 * same sources against hashlib and the real block headers. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sha256d.h"

static double thread_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int impl = argc > 1 ? atoi(argv[1]) : HB_IMPL_AVX512;
    hb_scan_fn scan = hb_impl_fn(impl);
    if (scan == NULL || !hb_impl_supported(impl)) {
        fprintf(stderr, "impl %d cannot run here\n", impl);
        return 2;
    }
    hb_job job;
    for (int i = 0; i < 8; i++) {
        job.midstate[i] = 0x9e3779b9u * (uint32_t)(i + 1);
        job.target[i] = 0;
    }
    job.tail[0] = 0x17031a2bu, job.tail[1] = 0x6a3f1c55u, job.tail[2] = 0x1d00ffffu;
    uint32_t found[16];
    scan(&job, 0, 1u << 20, found, 16); /* warm-up */
    double best = 0;
    for (uint32_t round = 0; round < 5; round++) {
        const uint64_t count = 1u << 24;
        double t0 = thread_seconds();
        scan(&job, round << 24, count, found, 16);
        double rate = (double)count / (thread_seconds() - t0);
        if (rate > best) best = rate;
    }
    printf("%s %.2f MH/s\n", hb_impl_name(impl), best / 1e6);
    return 0;
}
