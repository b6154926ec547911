"""Finding kernels/sha256d.cu and compiling it with NVRTC (through cuda.core), cached on disk.

No CUDA toolkit is needed: NVRTC comes as a wheel (nvidia-cuda-nvrtc). Compiling for the exact
architecture of the GPU (sm_XY) gives a cubin the driver loads as is. The cubin cache key covers
everything that can change the binary: the source, the architecture, the build options, the NVRTC
version and the driver version (a new driver can reject or mis-handle an old cubin; recompiling
once after an upgrade is cheap).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BackendUnavailable, HashbenchError, InputError

KERNEL_FILE = "sha256d.cu"
ELF_MAGIC = b"\x7fELF"  # a cubin is an ELF object
CACHE_ENV = "HASHBENCH_CACHE_DIR"
# Compile-time switches of the kernel (see the .cu); values the launcher does not override.
DEFAULT_DEFINES: Mapping[str, str] = {}


class KernelSourceMissing(HashbenchError):
    """The .cu file is neither in the installed package nor in a source checkout."""


def kernel_source_path() -> Path:
    """The packaged copy (hashbench/kernels/, put there at build time) or the checkout's kernels/."""
    packaged = importlib.resources.files("hashbench").joinpath("kernels", KERNEL_FILE)
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "kernels" / KERNEL_FILE
    if checkout.is_file():
        return checkout
    raise KernelSourceMissing(
        f"{KERNEL_FILE} is not in the installed package nor at {checkout}; reinstall hashbench")


def kernel_source() -> str:
    return kernel_source_path().read_text(encoding="utf-8")


def user_cache_dir() -> Path:
    """$HASHBENCH_CACHE_DIR, else the platform's per-user cache directory, + hashbench/cuda."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser() / "cuda"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        try:
            base = Path(xdg) if xdg else Path.home() / ".cache"
        except RuntimeError:  # no HOME and no passwd entry (a container's arbitrary uid): a per-user temp folder
            base = Path(tempfile.gettempdir()) / f"hashbench-{os.getuid()}"
    return base / "hashbench" / "cuda"


def require_cuda_core():
    try:
        import cuda.core as cuda_core
    except ImportError as exc:
        raise BackendUnavailable(f'cuda-core is not installed ({exc}); pip install "hashbench[cuda]"') from None
    if not hasattr(cuda_core, "Program"):  # releases before 0.4 kept everything under .experimental
        try:
            import cuda.core.experimental as cuda_core
        except ImportError:
            raise BackendUnavailable("this cuda-core release has no Program API; upgrade cuda-core") from None
    return cuda_core


def nvrtc_version() -> tuple[int, int]:
    """The NVRTC library's (major, minor); raises BackendUnavailable when it cannot be loaded."""
    try:
        from cuda.bindings import nvrtc
    except ImportError as exc:
        raise BackendUnavailable(f'cuda-bindings is not installed ({exc}); pip install "hashbench[cuda]"') from None
    try:
        err, major, minor = nvrtc.nvrtcVersion()
    except Exception as exc:  # the bindings raise their loader's own error types
        raise BackendUnavailable(f"NVRTC cannot be loaded ({exc}); pip install nvidia-cuda-nvrtc") from None
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise BackendUnavailable(f"NVRTC reports {err!r}")
    return int(major), int(minor)


@dataclass(frozen=True)
class CompiledKernel:
    arch: str
    cubin: bytes
    log: str  # NVRTC / ptxas output (ptxas -v: registers, spills); empty when loaded from cache
    key: str
    from_cache: bool
    defines: Mapping[str, str] = field(default_factory=dict)


def _options_list(defines: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted((str(k), str(v)) for k, v in {**DEFAULT_DEFINES, **defines}.items())


def cache_key(source: str, arch: str, defines: Mapping[str, str], nvrtc: tuple[int, int],
              driver_version: int | None) -> str:
    h = hashlib.sha256()
    for part in (source, arch, repr(_options_list(defines)), repr(nvrtc), repr(driver_version)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def kernel_switches(source: str) -> list[str]:
    """The build switches the kernel source lets a -D set: each `#ifndef HB_...` of it."""
    return re.findall(r"^#ifndef (HB_\w+)", source, re.MULTILINE)


def check_arch(arch: str) -> None:
    """An architecture this NVRTC compiles for ("sm_90", "sm_90a"), or one line naming those it does."""
    if not re.fullmatch(r"sm_\d{2,3}[a-z]?", arch):
        raise InputError(f"architecture must look like sm_90, got {arch!r}")
    try:
        from cuda.bindings import nvrtc

        err, archs = nvrtc.nvrtcGetSupportedArchs()
    except Exception:  # noqa: BLE001 - no NVRTC here: compiling says so in its own words
        return
    if err == nvrtc.nvrtcResult.NVRTC_SUCCESS and int(re.sub(r"\D", "", arch)) not in archs:
        major, minor = nvrtc_version()
        raise InputError(f"NVRTC {major}.{minor} compiles for {', '.join(f'sm_{a}' for a in archs)}; not {arch}")


def compile_with_nvrtc(source: str, arch: str, defines: Mapping[str, str] | None = None) -> tuple[bytes, str]:
    """(cubin, log) for `arch` ("sm_90"); works without a GPU or driver."""
    known = kernel_switches(source)
    if unknown := sorted(set(defines or {}) - set(known)):  # a typo would build the default kernel without a word
        raise InputError(f"kernel build switch {', '.join(unknown)}: {KERNEL_FILE} has {', '.join(known)}")
    cuda_core = require_cuda_core()
    macros = _options_list(defines or {})
    options = cuda_core.ProgramOptions(arch=arch, name=KERNEL_FILE, ptxas_options=["-v"],
                                       define_macro=macros or None)
    log = io.StringIO()
    try:
        program = cuda_core.Program(source, "c++", options)
        code = program.compile("cubin", logs=log)
    except Exception as exc:  # NVRTC errors carry the compiler log in their message
        raise HashbenchError(f"NVRTC could not compile {KERNEL_FILE} for {arch}: {exc}") from exc
    return bytes(code.code), log.getvalue()


def compiled_kernel(arch: str, *, defines: Mapping[str, str] | None = None, driver_version: int | None = None,
                    cache_dir: Path | None = None, use_cache: bool = True, refresh: bool = False) -> CompiledKernel:
    """The cubin for `arch`, from the disk cache when an identical build is there. `refresh`: compile even so and
    replace the cached file (the driver refused to load it)."""
    defines = dict(defines or {})
    source = kernel_source()
    key = cache_key(source, arch, defines, nvrtc_version(), driver_version)
    path = (cache_dir or user_cache_dir()) / f"sha256d-{arch}-{key}.cubin"
    if use_cache and not refresh:
        try:
            cached = path.read_bytes()
        except OSError:
            cached = b""
        # Writes are atomic, but a disk, a copy or a hand can still leave something else there: not an ELF
        # object is a miss, compiled again and replaced, never handed to the driver.
        if cached[:4] == ELF_MAGIC:
            return CompiledKernel(arch, cached, "", key, True, defines)
    cubin, log = compile_with_nvrtc(source, arch, defines)
    if use_cache:
        _write_atomically(path, cubin)
    return CompiledKernel(arch, cubin, log, key, False, defines)


def _write_atomically(path: Path, data: bytes) -> None:
    """A cache that cannot be written is only slower, never an error; rename keeps readers from
    seeing a half-written cubin when several processes compile at once."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
