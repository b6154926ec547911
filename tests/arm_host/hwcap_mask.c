/* Linked into the test harness with -Wl,--wrap=getauxval: clears the AT_HWCAP bits named in the environment
 * variable HB_TEST_HWCAP_CLEAR (a number, e.g. 0x40), so the real dispatch.c can be asked about an AArch64 CPU
 * without the SHA-256 instructions. qemu-aarch64 7.2 offers no CPU model without them and cannot switch them off
 * (-cpu max,sha2=off is refused), so the emulator alone cannot show that case. Without the variable: no change. */
#include <stdlib.h>
#include <sys/auxv.h>

unsigned long __real_getauxval(unsigned long type);

unsigned long __wrap_getauxval(unsigned long type) {
    unsigned long value = __real_getauxval(type);
    const char *clear = getenv("HB_TEST_HWCAP_CLEAR");
    if (type == AT_HWCAP && clear != NULL) value &= ~strtoul(clear, NULL, 0);
    return value;
}
