"""The run-time choice of the C kernel path: the CPUID / XGETBV rule and the AArch64 AT_HWCAP rule on machines this
one is not, and the refusal of a path the machine cannot run (it would die of SIGILL, not fail). The Arm paths
themselves run under emulation in tests/test_arm_kernels.py."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from hashbench import _cpu
from hashbench.backends import ScanJob
from hashbench.backends.cython import ENV_IMPL, CythonBackend
from hashbench.errors import InputError
from hashbench.header import Header
from hashbench.host import _cpuinfo

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


# AArch64 AT_HWCAP bits (Linux and FreeBSD; bit 2 is EVTSTRM, not a CPU feature).
HWCAP_FP, HWCAP_ASIMD, HWCAP_AES, HWCAP_PMULL = 1 << 0, 1 << 1, 1 << 3, 1 << 4
HWCAP_SHA1, HWCAP_SHA2, HWCAP_CRC32 = 1 << 5, 1 << 6, 1 << 7
HWCAP_V8_CRYPTO = HWCAP_FP | HWCAP_ASIMD | HWCAP_AES | HWCAP_PMULL | HWCAP_SHA1 | HWCAP_SHA2 | HWCAP_CRC32


@pytest.mark.parametrize("hwcap, allowed", [
    (HWCAP_V8_CRYPTO, ["arm-sha2"]),
    (HWCAP_ASIMD | HWCAP_SHA2, ["arm-sha2"]),
    (HWCAP_V8_CRYPTO | (1 << 40), ["arm-sha2"]),  # later features in the high bits change nothing
    # A CPU built without the Cryptography Extension (some Cortex-A53/A55/A72 SoCs): AES gone, SHA2 gone.
    (HWCAP_FP | HWCAP_ASIMD | HWCAP_CRC32, []),
    (HWCAP_V8_CRYPTO & ~HWCAP_SHA2, []),
    (((1 << 64) - 1) & ~HWCAP_SHA2, []),
    # The instructions live in the Advanced SIMD registers: no ASIMD, no path.
    (HWCAP_V8_CRYPTO & ~HWCAP_ASIMD, []),
    (HWCAP_SHA2, []),
    (0, []),
])
def test_the_arm_sha2_path_needs_the_sha2_and_asimd_hwcaps(hwcap, allowed):
    assert _cpu.arm_paths_allowed(hwcap) == allowed


@pytest.mark.skipif(platform.machine() not in ("aarch64", "arm64") or not Path("/proc/cpuinfo").exists(),
                    reason="Linux on AArch64 lists the kernel's HWCAP features in /proc/cpuinfo")
def test_arm_dispatch_agrees_with_the_features_linux_reports():
    features = set(_cpuinfo()[1])  # the Features line
    assert _cpu.supported("arm-sha2") == ({"asimd", "sha2"} <= features)
    assert _cpu.best() == ("arm-sha2" if _cpu.supported("arm-sha2") else "simd128")


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or not Path("/proc/cpuinfo").exists(),
                    reason="Linux on x86-64 lists the CPU and OS features in /proc/cpuinfo")
def test_dispatch_agrees_with_the_features_linux_enabled():
    """Linux lists a vector extension only when the CPU has it and the kernel saves its registers."""
    flags = set(_cpuinfo()[1])  # the flags line
    assert _cpu.supported("sha-ni") == ({"sha_ni", "ssse3", "sse4_1"} <= flags)
    assert _cpu.supported("avx2") == ({"avx", "avx2"} <= flags)
    assert _cpu.supported("avx512") == ("avx512f" in flags)


@pytest.mark.parametrize("impl", ["avx512", "sha-ni", "arm-sha2"])
def test_a_path_this_machine_lacks_is_refused_by_name_and_by_environment(monkeypatch, impl):
    """`--impl` and HASHBENCH_CPU_IMPL name a path the CPU lacks: one clear refusal, never a run into SIGILL."""
    supported = _cpu.supported
    monkeypatch.setattr(_cpu, "supported", lambda name: name != impl and supported(name))
    backend = CythonBackend()
    job = ScanJob(Header(bytes(76)), 1)
    assert impl in backend.all_impls() and impl not in backend.impls()
    with pytest.raises(InputError, match=f"no implementation '{impl}' on this machine"):
        backend.scan(job, 0, 16, impl=impl)
    monkeypatch.setenv(ENV_IMPL, impl)
    with pytest.raises(InputError, match=f"^{ENV_IMPL}='{impl}' is not a CPU implementation this machine runs"):
        backend.scan(job, 0, 16)


def test_hashbench_cpu_impl_picks_the_path_and_one_the_machine_lacks_is_refused_naming_those_it_runs(monkeypatch):
    """The variable's name is the documented one, not only the constant; blanks around the name are forgiven, a blank
    value is no choice (the dispatcher's), and the refusal lists the runnable paths fastest first."""
    monkeypatch.setattr(_cpu, "supported", lambda name: name in ("portable", "simd128"))
    backend = CythonBackend()
    assert backend.impls() == ["simd128", "portable"]
    job = ScanJob(Header(bytes(76)), (1 << 256) - 1)
    monkeypatch.setenv("HASHBENCH_CPU_IMPL", " portable ")
    result = backend.scan(job, 0, 16)
    assert (result.impl, result.hits) == ("portable", 16)
    monkeypatch.setenv("HASHBENCH_CPU_IMPL", "avx2")
    with pytest.raises(InputError) as err:
        backend.scan(job, 0, 16)
    assert str(err.value) == ("HASHBENCH_CPU_IMPL='avx2' is not a CPU implementation this machine runs "
                              "(available: simd128, portable)")
    with pytest.raises(InputError) as err:
        backend.scan(job, 0, 16, impl="avx2")
    assert str(err.value) == ("backend 'cython' has no implementation 'avx2' on this machine "
                              "(available: simd128, portable)")
    monkeypatch.setenv("HASHBENCH_CPU_IMPL", "  ")
    assert backend.default_impl() == _cpu.best()
    monkeypatch.delenv("HASHBENCH_CPU_IMPL")
    assert backend.default_impl() == _cpu.best()


def test_the_sha_instruction_path_of_the_other_architecture_is_never_run():
    """sha-ni on Arm and arm-sha2 on x86 are stubs: dispatch says no, and the extension refuses to call them."""
    machine = platform.machine().lower()
    other = {"x86_64": "arm-sha2", "amd64": "arm-sha2", "aarch64": "sha-ni", "arm64": "sha-ni"}.get(machine)
    if other is None:
        pytest.skip(f"no SHA-instruction path for {machine}")
    assert not _cpu.supported(other) and other not in CythonBackend().impls()
    with pytest.raises(ValueError, match=f"CPU implementation '{other}' is not supported on this machine"):
        _cpu.scan(other, [0] * 8, [0] * 3, [0xFFFFFFFF] * 8, 0, 16, 16)


def test_without_the_c_extension_the_backend_says_it_was_not_built_and_what_it_needs(monkeypatch):
    """The extension is optional at install time (setup.py): a machine without a C compiler still installs, and the
    backend must then say why it cannot run and what would fix it, instead of failing on first use."""
    import hashbench.backends.cython as cython_module

    monkeypatch.setattr(cython_module, "_cpu", None)
    monkeypatch.setattr(cython_module, "_IMPORT_ERROR", "cannot import name '_cpu'")
    ok, reason = CythonBackend().available()
    assert not ok
    # Installed from an index, `pip install hashbench` again would do nothing (and `pip install -e .` needs a checkout)
    assert reason == ("the C extension was not built (cannot import name '_cpu'): it needs a C compiler at install "
                      "time (gcc or clang); install one and reinstall (pip install --force-reinstall -v hashbench, or "
                      "pip install -e . in a checkout; -v shows the build's output)")
    assert CythonBackend().impls() == []


def test_a_machine_without_a_c_compiler_still_builds_and_a_required_build_fails(tmp_path):
    """cythonize() builds new Extension objects and dropped `optional=True`: a missing compiler failed the whole
    install. With CC=false (a compiler that always fails) the build now succeeds without the extension, unless
    HASHBENCH_REQUIRE_EXTENSION=1 (CI, `hashbench ab`) asks for it."""
    pytest.importorskip("Cython", reason="hashbench[ab] brings Cython")
    import os
    import subprocess
    import sys

    from build_helpers import source_tree

    tree = source_tree(tmp_path)
    env = {**os.environ, "CC": "false"}
    env.pop("HASHBENCH_REQUIRE_EXTENSION", None)
    build = [sys.executable, "setup.py", "build_ext", "--inplace"]
    done = subprocess.run(build, cwd=tree, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "hashbench._cpu" in done.stdout + done.stderr  # the warning names what was skipped
    assert not list((tree / "src" / "hashbench").glob("_cpu*.so"))
    required = subprocess.run(build, cwd=tree, env={**env, "HASHBENCH_REQUIRE_EXTENSION": "1"},
                              capture_output=True, text=True, timeout=300)
    assert required.returncode != 0


def test_an_unavailable_backend_names_the_ones_that_run_here(monkeypatch):
    """`scan` defaults to cython; where the extension was not built the error must point at what does run."""
    import hashbench.backends.cython as cython_module
    from hashbench.backends import BackendUnavailable, get_backend

    monkeypatch.setattr(cython_module, "_cpu", None)
    with pytest.raises(BackendUnavailable, match=r"backend 'cython' is not available: .*\(available here: .*python\)$"):
        get_backend("cython")
