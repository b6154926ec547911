"""The CUDA kernel without a GPU: NVRTC compiles it for sm_80 and sm_90, and its SASS stays fast.

instructions_per_nonce is the integer/logic-pipe instruction count of one nonce in the steady-state
loop (hashbench.kernel_stats explains the method); it bounds the hash rate, so this is a static
speed guard that CI can run anywhere cuda-core and NVRTC install."""

from __future__ import annotations

import re

import pytest

from hashbench.backends.cuda_build import kernel_source, kernel_source_path
from hashbench.backends.cuda_precompute import KERNEL_NAME, KERNEL_PARAMS

ARCHS = ["sm_80", "sm_90"]
MAX_INSTRUCTIONS_PER_NONCE = 1850


def _nvrtc_or_skip() -> None:
    pytest.importorskip("cuda.core", reason='cuda-core is not installed (pip install "hashbench[cuda]")')
    from hashbench.backends.cuda_build import nvrtc_version
    from hashbench.errors import BackendUnavailable

    try:
        nvrtc_version()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module", params=ARCHS)
def compiled(request):
    """(arch, cubin, ptxas log): one NVRTC compile per architecture for the whole module."""
    _nvrtc_or_skip()
    from hashbench.backends.cuda_build import compile_with_nvrtc

    return (request.param, *compile_with_nvrtc(kernel_source(), request.param))


@pytest.fixture(scope="module")
def stats(compiled):
    from hashbench.errors import BackendUnavailable
    from hashbench.kernel_stats import analyze_cubin

    try:
        return analyze_cubin(*compiled).to_json()
    except BackendUnavailable as exc:  # no disassembler wheel
        pytest.skip(str(exc))


def test_kernel_parameters_match_the_host_order():
    source = kernel_source()
    macro = re.search(r"#define HB_JOB_PARAMS((?:.*\\\n)*.*)", source).group(1).replace("\\\n", " ")
    signature = re.search(rf"{KERNEL_NAME}\((.*?)\)\s*\{{", source, re.DOTALL).group(1)
    signature = re.sub(r"/\*.*?\*/", "", signature.replace("HB_JOB_PARAMS", macro), flags=re.DOTALL)
    names = re.findall(r"\bu(?:32|64)\s*\*?\s*(\w+)", signature)
    assert tuple(names) == KERNEL_PARAMS


def test_source_is_found_from_the_package_or_the_checkout():
    assert kernel_source_path().name == "sha256d.cu" and KERNEL_NAME in kernel_source()


def test_nvrtc_compiles_a_cubin(compiled):
    arch, cubin, log = compiled
    assert cubin[:4] == b"\x7fELF"
    assert f"Compiling entry function '{KERNEL_NAME}' for '{arch}'" in log


def test_compiled_kernel_is_cached_on_disk(tmp_path, monkeypatch):
    _nvrtc_or_skip()
    from hashbench.backends import cuda_build

    builds = []
    monkeypatch.setattr(cuda_build, "compile_with_nvrtc",
                        lambda source, arch, defines: builds.append(arch) or (b"\x7fELF" + arch.encode(), "log"))
    compiled_kernel = cuda_build.compiled_kernel
    first = compiled_kernel("sm_80", driver_version=13000, cache_dir=tmp_path)
    again = compiled_kernel("sm_80", driver_version=13000, cache_dir=tmp_path)
    other_driver = compiled_kernel("sm_80", driver_version=13010, cache_dir=tmp_path)
    assert not first.from_cache and again.from_cache and again.cubin == first.cubin
    assert not other_driver.from_cache and len(list(tmp_path.glob("*.cubin"))) == 2
    assert builds == ["sm_80", "sm_80"]


def test_a_damaged_cache_file_is_compiled_again_and_replaced(tmp_path, monkeypatch):
    """Whatever is at the cache path and is not an ELF object (empty, cut short before the magic, another file) is a
    miss: compiled again, replaced, never handed to the driver as a cubin."""
    _nvrtc_or_skip()
    from hashbench.backends import cuda_build

    builds = []
    monkeypatch.setattr(cuda_build, "compile_with_nvrtc",
                        lambda source, arch, defines: builds.append(arch) or (b"\x7fELF" + arch.encode(), "log"))
    first = cuda_build.compiled_kernel("sm_90", driver_version=13000, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.cubin")
    for damage in (b"", b"\x7fEL", b"<html>proxy error</html>"):
        path.write_bytes(damage)
        again = cuda_build.compiled_kernel("sm_90", driver_version=13000, cache_dir=tmp_path)
        assert not again.from_cache and again.cubin == first.cubin and path.read_bytes() == first.cubin
    # refresh: the driver refused a cached file that does look like ELF; compiled even so, and the file replaced.
    path.write_bytes(b"\x7fELF truncated")
    fresh = cuda_build.compiled_kernel("sm_90", driver_version=13000, cache_dir=tmp_path, refresh=True)
    assert not fresh.from_cache and path.read_bytes() == first.cubin
    assert builds == ["sm_90"] * 5


def test_cache_folder_without_a_home(monkeypatch):
    """A container's arbitrary uid may have neither HOME nor a passwd entry: Path.home() raises RuntimeError there.
    The cache moves to a per-user folder under the temp directory instead of ending the command."""
    from pathlib import Path

    from hashbench.backends import cuda_build

    monkeypatch.delenv("HASHBENCH_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(cuda_build.sys, "platform", "linux")

    def no_home(cls=None):
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", classmethod(no_home))
    folder = cuda_build.user_cache_dir()
    assert folder.parts[-2:] == ("hashbench", "cuda") and str(folder).startswith(cuda_build.tempfile.gettempdir())


def test_instructions_per_nonce_within_budget(stats):
    assert stats["nonces_per_iteration"] >= 1
    assert stats["instructions_per_nonce"] <= MAX_INSTRUCTIONS_PER_NONCE, stats


def test_no_spills_and_at_most_64_registers(stats):
    assert stats["spills"] == 0 and stats["stack_bytes"] == 0, stats
    assert stats["registers"] <= 64, stats


def test_logic_is_lop3_and_rotates_are_funnel_shifts(stats):
    """Ch, Maj and the 3-way XORs are single LOP3s (LUT 0xb8-type select, 0xe8 majority, 0x96
    xor3); no two-input LOP, and (nearly) no IADD3 left in the loop: adds run on the IMAD pipe."""
    assert stats["lop"] == 0 and stats["iadd3"] <= 4, stats
    luts = stats["lop3_luts"]
    assert luts.get("0x96", 0) >= 300 and luts.get("0xe8", 0) >= 100, luts
    assert stats["shf"] >= 800, stats


# --- what mutation testing of cuda_build.py found unpinned ------------------------------------------------------

def test_nvrtc_loads_wherever_the_cuda_extra_is_installed():
    """Every NVRTC test skips when NVRTC cannot load, so a broken loader would pass as 'skipped'. Where the extra's
    NVRTC wheel is installed (the test extra installs it), loading it must work."""
    from importlib import metadata

    from hashbench.backends.cuda_build import nvrtc_version

    try:
        wheel = metadata.version("nvidia-cuda-nvrtc")
    except metadata.PackageNotFoundError:
        pytest.skip('nvidia-cuda-nvrtc is not installed (pip install "hashbench[cuda]")')
    assert nvrtc_version()[0] == int(wheel.split(".")[0])


def test_a_build_switch_reaches_nvrtc_and_the_compiled_kernel_records_it(tmp_path):
    """HB_SHR_ON_FMA=0 puts the schedule's shifts back on the integer pipe: more SHF, fewer IMAD. If the
    switches did not reach NVRTC, a GPU measurement of HASHBENCH_CUDA_DEFINES would time the default kernel."""
    _nvrtc_or_skip()
    from hashbench.backends.cuda_build import cache_key, compiled_kernel, kernel_source, nvrtc_version
    from hashbench.errors import BackendUnavailable
    from hashbench.kernel_stats import analyze_cubin

    default = compiled_kernel("sm_90", driver_version=13000, cache_dir=tmp_path)
    switched = compiled_kernel("sm_90", defines={"HB_SHR_ON_FMA": "0"}, driver_version=13000, cache_dir=tmp_path)
    assert (default.arch, default.from_cache, default.defines) == ("sm_90", False, {})
    assert switched.defines == {"HB_SHR_ON_FMA": "0"} and switched.cubin != default.cubin
    assert switched.key == cache_key(kernel_source(), "sm_90", {"HB_SHR_ON_FMA": "0"}, nvrtc_version(), 13000)
    assert f"Compiling entry function '{KERNEL_NAME}' for 'sm_90'" in switched.log
    again = compiled_kernel("sm_90", defines={"HB_SHR_ON_FMA": "0"}, driver_version=13000, cache_dir=tmp_path)
    assert (again.from_cache, again.log, again.key, again.arch, again.defines, again.cubin) == (
        True, "", switched.key, "sm_90", {"HB_SHR_ON_FMA": "0"}, switched.cubin)
    try:
        base, shr = (analyze_cubin("sm_90", k.cubin, k.log).to_json() for k in (default, switched))
    except BackendUnavailable as exc:  # no disassembler wheel
        pytest.skip(str(exc))
    assert shr["shf"] > base["shf"] and shr["opcodes"]["IMAD"] < base["opcodes"]["IMAD"], (base, shr)


def test_the_cache_key_changes_with_each_thing_that_changes_the_cubin():
    from hashbench.backends.cuda_build import cache_key

    base = ("src", "sm_90", {}, (13, 0), 13000)
    keys = {cache_key(*base),
            cache_key("src2", *base[1:]),
            cache_key(base[0], "sm_80", *base[2:]),
            cache_key(*base[:2], {"HB_ROT_ON_FMA": "1"}, *base[3:]),
            cache_key(*base[:2], {"HB_ROT_ON_FMA": "0"}, *base[3:]),
            cache_key(*base[:3], (13, 1), base[4]),
            cache_key(*base[:4], 13010),
            cache_key(*base[:4], None)}
    assert len(keys) == 8 and all(len(k) == 32 for k in keys)
    assert cache_key("ab", "c", {}, (13, 0), None) != cache_key("a", "bc", {}, (13, 0), None)  # parts kept apart


@pytest.mark.parametrize("platform, env, expected", [
    ("linux", {"XDG_CACHE_HOME": "{tmp}/xdg"}, "{tmp}/xdg"),
    ("linux", {}, "{home}/.cache"),
    ("win32", {"LOCALAPPDATA": "{tmp}/local"}, "{tmp}/local"),
    ("win32", {}, "{home}/AppData/Local"),
    ("darwin", {}, "{home}/Library/Caches"),
])
def test_the_cubin_cache_folder_follows_each_platforms_convention(tmp_path, monkeypatch, platform, env, expected):
    from pathlib import Path

    from hashbench.backends import cuda_build

    home = tmp_path / "home"
    for name in ("HASHBENCH_CACHE_DIR", "XDG_CACHE_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    monkeypatch.setattr(cuda_build.sys, "platform", platform)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    assert cuda_build.user_cache_dir() == Path(expected.format(tmp=tmp_path, home=home)) / "hashbench" / "cuda"


def test_a_cubin_is_written_into_new_folders_and_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    from hashbench.backends import cuda_build

    target = tmp_path / "a" / "b" / "k.cubin"
    cuda_build._write_atomically(target, b"\x7fELF1")
    assert target.read_bytes() == b"\x7fELF1" and [p.name for p in target.parent.iterdir()] == ["k.cubin"]

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(cuda_build.os, "replace", refuse)
    cuda_build._write_atomically(target, b"\x7fELF2")  # a cache that cannot be written is only slower
    assert target.read_bytes() == b"\x7fELF1" and [p.name for p in target.parent.iterdir()] == ["k.cubin"]


def test_the_installed_packages_copy_of_the_kernel_comes_first_and_a_missing_one_is_named(tmp_path, monkeypatch):
    from hashbench.backends import cuda_build

    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "sha256d.cu").write_text("// packaged\n")
    monkeypatch.setattr(cuda_build.importlib.resources, "files", lambda package: tmp_path)
    assert cuda_build.kernel_source_path() == tmp_path / "kernels" / "sha256d.cu"
    assert cuda_build.kernel_source() == "// packaged\n"
    checkout = cuda_build.Path(cuda_build.__file__).resolve().parents[3] / "kernels" / "sha256d.cu"
    (tmp_path / "kernels" / "sha256d.cu").unlink()
    if checkout.is_file():  # a source checkout: its kernels/ is next
        assert cuda_build.kernel_source_path() == checkout
    monkeypatch.setattr(cuda_build, "__file__", str(tmp_path / "x" / "y" / "z" / "cuda_build.py"))
    with pytest.raises(cuda_build.KernelSourceMissing, match=r"^sha256d\.cu is not in the installed package nor at "
                       rf"{re.escape(str(tmp_path / 'kernels' / 'sha256d.cu'))}; reinstall hashbench$"):
        cuda_build.kernel_source_path()


def test_missing_cuda_python_pieces_are_named_with_the_install_command(monkeypatch):
    import sys

    from hashbench.backends import cuda_build
    from hashbench.errors import BackendUnavailable

    monkeypatch.setitem(sys.modules, "cuda.core", None)
    with pytest.raises(BackendUnavailable, match=r"^cuda-core is not installed \(.*\); pip install "
                                                 r"\"hashbench\[cuda\]\"$"):
        cuda_build.require_cuda_core()
    monkeypatch.setitem(sys.modules, "cuda.bindings", None)
    with pytest.raises(BackendUnavailable, match=r"^cuda-bindings is not installed \(.*\); pip install "
                                                 r"\"hashbench\[cuda\]\"$"):
        cuda_build.nvrtc_version()
