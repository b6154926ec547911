"""The run-time choice of the C kernel path: the CPUID / XGETBV rule on machines this one is not, and the refusal
of a path the machine cannot run (it would die of SIGILL, not fail)."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from hashbench import _cpu
from hashbench.backends import ScanJob
from hashbench.backends.cython import ENV_IMPL, CythonBackend
from hashbench.errors import InputError
from hashbench.header import Header

# CPUID leaf 1 ECX, leaf 7 EBX, XCR0 bits the rule reads.
SSSE3, SSE41, OSXSAVE, AVX = 1 << 9, 1 << 19, 1 << 27, 1 << 28
AVX2, AVX512F, SHA = 1 << 5, 1 << 16, 1 << 29
X87, XMM, YMM, OPMASK, ZMM_HI256, HI16_ZMM = 1, 2, 4, 0x20, 0x40, 0x80
ECX_ALL = SSSE3 | SSE41 | OSXSAVE | AVX
EBX_ALL = AVX2 | AVX512F | SHA
XCR0_AVX = X87 | XMM | YMM
XCR0_ALL = XCR0_AVX | OPMASK | ZMM_HI256 | HI16_ZMM


@pytest.mark.parametrize("ecx1, ebx7, xcr0, allowed", [
    (ECX_ALL, EBX_ALL, XCR0_ALL, ["sha-ni", "avx2", "avx512"]),
    # The CPU has AVX-512 but the OS saves only the YMM state (a kernel booted without it, some VMs).
    (ECX_ALL, EBX_ALL, XCR0_AVX, ["sha-ni", "avx2"]),
    (ECX_ALL, EBX_ALL, XCR0_ALL & ~OPMASK, ["sha-ni", "avx2"]),
    (ECX_ALL, EBX_ALL, XCR0_ALL & ~ZMM_HI256, ["sha-ni", "avx2"]),
    (ECX_ALL, EBX_ALL, XCR0_ALL & ~HI16_ZMM, ["sha-ni", "avx2"]),
    # No YMM state: neither 256- nor 512-bit registers survive a context switch.
    (ECX_ALL, EBX_ALL, XCR0_ALL & ~YMM, ["sha-ni"]),
    (ECX_ALL, EBX_ALL, X87 | XMM, ["sha-ni"]),
    # Without OSXSAVE, XCR0 is not read (XGETBV would fault) and no AVX path is allowed; SHA-NI needs only XMM.
    (ECX_ALL & ~OSXSAVE, EBX_ALL, XCR0_ALL, ["sha-ni"]),
    (ECX_ALL & ~AVX, EBX_ALL & ~AVX512F, XCR0_ALL, ["sha-ni"]),
    (ECX_ALL, EBX_ALL & ~AVX2 & ~AVX512F, XCR0_ALL, ["sha-ni"]),
    (ECX_ALL, AVX2 | AVX512F, XCR0_ALL, ["avx2", "avx512"]),
    (ECX_ALL & ~SSE41, EBX_ALL, XCR0_ALL, ["avx2", "avx512"]),
    (ECX_ALL & ~SSSE3, EBX_ALL, XCR0_ALL, ["avx2", "avx512"]),
    (0, 0, 0, []),
])
def test_a_path_needs_the_cpu_instructions_and_the_os_saved_registers(ecx1, ebx7, xcr0, allowed):
    assert _cpu.x86_paths_allowed(ecx1, ebx7, xcr0) == allowed


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or not Path("/proc/cpuinfo").exists(),
                    reason="Linux on x86-64 lists the CPU and OS features in /proc/cpuinfo")
def test_dispatch_agrees_with_the_features_linux_enabled():
    """Linux lists a vector extension only when the CPU has it and the kernel saves its registers."""
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            break
    assert _cpu.supported("sha-ni") == ({"sha_ni", "ssse3", "sse4_1"} <= flags)
    assert _cpu.supported("avx2") == ({"avx", "avx2"} <= flags)
    assert _cpu.supported("avx512") == ("avx512f" in flags)


def test_a_path_this_machine_lacks_is_refused_by_name_and_by_environment(monkeypatch):
    """`--impl` and HASHBENCH_CPU_IMPL name a path the CPU lacks: one clear refusal, never a run into SIGILL."""
    supported = _cpu.supported
    monkeypatch.setattr(_cpu, "supported", lambda name: name != "avx512" and supported(name))
    backend = CythonBackend()
    job = ScanJob(Header(bytes(76)), 1)
    assert "avx512" not in backend.impls()
    with pytest.raises(InputError, match="no implementation 'avx512' on this machine"):
        backend.scan(job, 0, 16, impl="avx512")
    monkeypatch.setenv(ENV_IMPL, "avx512")
    with pytest.raises(InputError, match=f"^{ENV_IMPL}='avx512' is not a CPU implementation this machine runs"):
        backend.scan(job, 0, 16)
