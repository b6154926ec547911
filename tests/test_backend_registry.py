"""The backend registry (hashbench.backends): the names it knows, the errors it gives for an unknown or unavailable
backend, and what `hashbench backends` lists. In process and fast: no backend is run here."""

from __future__ import annotations

import pytest

from hashbench.backends import BackendInfo, all_backends, describe, get_backend
from hashbench.backends.cuda import CudaBackend
from hashbench.backends.cython import CythonBackend
from hashbench.backends.numba import NumbaBackend
from hashbench.backends.pycuda import PycudaBackend
from hashbench.backends.python import PythonBackend
from hashbench.errors import BackendUnavailable, InputError

NAMES = ["cython", "numba", "cuda", "pycuda", "python"]


def only_these_run(monkeypatch, *names: str) -> None:
    """Every registered backend but `names` unavailable, each with its own reason."""
    for cls in (CythonBackend, NumbaBackend, CudaBackend, PycudaBackend, PythonBackend):
        if cls.name in names:
            monkeypatch.setattr(cls, "available", lambda self: (True, ""))
        else:
            monkeypatch.setattr(cls, "available", lambda self: (False, f"no {self.name} here"))


def test_the_registry_holds_every_backend_once_in_its_order():
    backends = all_backends()
    assert [b.name for b in backends] == NAMES
    assert [type(b) for b in backends] == [CythonBackend, NumbaBackend, CudaBackend, PycudaBackend, PythonBackend]
    assert all(get_backend(b.name, require_available=False) is b for b in backends)
    backends.clear()  # a copy: the caller cannot empty the registry
    assert [b.name for b in all_backends()] == NAMES


def test_a_backend_gives_a_reason_exactly_when_it_cannot_run():
    """`hashbench backends` prints the reason column as given: an available backend with a reason would show one."""
    for backend in all_backends():
        ok, why = backend.available()
        assert isinstance(ok, bool) and ok == (why == ""), (backend.name, why)
    assert PythonBackend().available() == (True, "")  # hashlib: always


def test_an_unknown_backend_is_refused_with_the_known_names():
    with pytest.raises(InputError) as err:
        get_backend("cpu")
    assert str(err.value) == "unknown backend 'cpu' (known: cython, numba, cuda, pycuda, python)"
    with pytest.raises(InputError, match="^unknown backend 'cpu'"):
        get_backend("cpu", require_available=False)


def test_an_unavailable_backend_is_refused_with_its_reason_and_the_others_that_run(monkeypatch):
    only_these_run(monkeypatch, "numba", "python")
    with pytest.raises(BackendUnavailable) as err:
        get_backend("cuda")
    assert str(err.value) == "backend 'cuda' is not available: no cuda here (available here: numba, python)"
    # asked for one that runs, among others that do: no refusal, whatever the others say
    assert get_backend("python").name == "python"
    # not asked to run: the registry hands it over for its reason (`hashbench energy-check` asks it)
    assert get_backend("cuda", require_available=False).available() == (False, "no cuda here")


def test_an_unavailable_backend_does_not_name_itself_among_those_that_run(monkeypatch):
    only_these_run(monkeypatch, "python")
    with pytest.raises(BackendUnavailable) as err:
        get_backend("pycuda")
    assert str(err.value) == "backend 'pycuda' is not available: no pycuda here (available here: python)"


def test_where_nothing_runs_the_refusal_names_no_alternative(monkeypatch):
    only_these_run(monkeypatch)
    with pytest.raises(BackendUnavailable) as err:
        get_backend("python")
    assert str(err.value) == "backend 'python' is not available: no python here"


def test_describe_lists_every_backend_with_its_reason_and_implementations(monkeypatch):
    import hashbench.backends.cython as cython_module

    monkeypatch.setattr(cython_module, "_cpu", None)  # the C extension not built
    monkeypatch.setattr(cython_module, "_IMPORT_ERROR", "cannot import name '_cpu'")
    # numba can name its implementation (LLVM's CPU name) even where it cannot run: none is listed then
    monkeypatch.setattr(NumbaBackend, "available", lambda self: (False, "numba cannot run here"))
    infos = {i.name: i for i in describe()}
    assert list(infos) == NAMES
    assert infos["python"] == BackendInfo("python", True, "", ["python"], "python")
    cython = infos["cython"]
    assert (cython.available, cython.impls, cython.default_impl) == (False, [], None)
    assert infos["numba"] == BackendInfo("numba", False, "numba cannot run here", [], None)
    assert cython.reason == CythonBackend().available()[1] and "C extension was not built" in cython.reason
    for info in infos.values():
        backend = get_backend(info.name, require_available=False)
        ok, why = backend.available()
        assert (info.available, info.reason) == (ok, why)
        if ok:
            assert info.impls == backend.impls() and info.default_impl == backend.impls()[0]
        else:
            assert info.impls == [] and info.default_impl is None


def test_backend_info_json_is_what_backends_json_prints():
    info = BackendInfo("cython", True, "", ["avx2", "portable"], "avx2")
    assert info.to_json() == {"name": "cython", "available": True, "reason": "", "impls": ["avx2", "portable"],
                              "default_impl": "avx2"}
    off = BackendInfo("cuda", False, "no NVIDIA driver found", [], None)
    assert off.to_json() == {"name": "cuda", "available": False, "reason": "no NVIDIA driver found", "impls": [],
                             "default_impl": None}


@pytest.fixture
def gpu_backends():
    """The registry's GPU backends (cuda, pycuda), their device choice put back after the test."""
    from hashbench.backends.cuda_launch import GpuBackend

    backends = [b for b in all_backends() if isinstance(b, GpuBackend)]
    assert [b.name for b in backends] == ["cuda", "pycuda"]
    yield backends
    for b in backends:
        b.use_devices(None)


def test_devices_are_checked_against_the_first_gpu_backend_that_can_count_them(monkeypatch, gpu_backends):
    """`--devices`: a machine where cuda has no driver but pycuda counts two GPUs takes GPU 1, and refuses GPU 2 with
    pycuda's count; where neither can count, the first backend's reason is the one given."""
    from hashbench.backends import select_gpus

    def unavailable(reason):
        def gpu_count(self):
            raise BackendUnavailable(reason)
        return gpu_count

    monkeypatch.setattr(CudaBackend, "gpu_count", unavailable("no NVIDIA driver found"))
    monkeypatch.setattr(PycudaBackend, "gpu_count", lambda self: 2)
    assert select_gpus("1") == [1]
    assert all(b._devices_setting == [1] for b in gpu_backends)
    with pytest.raises(InputError) as err:
        select_gpus("2")
    assert str(err.value) == "--devices 2: no CUDA GPU 2 (this machine has 2)"
    # a bad list is refused before any GPU is counted, in the option's name (not HASHBENCH_CUDA_DEVICES's)
    with pytest.raises(InputError) as err:
        select_gpus("0,0")
    assert str(err.value) == "--devices must list distinct GPU indices >= 0, got '0,0'"
    monkeypatch.setattr(PycudaBackend, "gpu_count", unavailable("pycuda is not installed"))
    with pytest.raises(InputError) as err:
        select_gpus("0")
    assert str(err.value) == "--devices 0: no CUDA GPU can be used here (no NVIDIA driver found)"


def test_devices_without_any_gpu_backend_say_so(monkeypatch):
    import hashbench.backends as registry
    from hashbench.backends import select_gpus

    cpu_only = {n: b for n, b in registry._REGISTRY.items() if n not in ("cuda", "pycuda")}
    monkeypatch.setattr(registry, "_REGISTRY", cpu_only)
    with pytest.raises(InputError) as err:
        select_gpus("0")
    assert str(err.value) == "--devices 0: no CUDA GPU can be used here (no GPU backend)"
