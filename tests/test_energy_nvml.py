"""hashbench.energy.nvml against a stand-in for the pynvml module whose calls answer what NVML documents, in NVML's
units: nvmlDeviceGetTotalEnergyConsumption in millijoules since the driver loaded, nvmlDeviceGetPowerUsage and
nvmlDeviceGetEnforcedPowerLimit in milliwatts, NVML_FI_DEV_POWER_INSTANT as a field value in milliwatts,
nvmlDeviceGetMaxClockInfo in MHz, nvmlDeviceGetMemoryBusWidth in bits. Each figure asserted is worked out by hand
from those values; no test sleeps (the counter's update-period probe is replaced by a fixed answer)."""

from __future__ import annotations

import sys
import types

import pytest

from hashbench.energy import nvml as nv
from hashbench.energy.nvml import (
    NvmlCounterSource,
    NvmlPowerSource,
    NvmlUnavailable,
    cuda_index,
    cuda_indices,
    handle_for,
    load_nvml,
    nominal_memory_bandwidth,
    open_nvml,
)
from hashbench.energy.source import SumCounterSource, SumPowerSource

H100 = "NVIDIA H100 80GB HBM3"


class NVMLError(Exception):
    pass


class FakeNvml(types.ModuleType):
    """Boards by NVML index: each has a total-energy counter (mJ) or none, an instant-power field or none, and an
    averaged power reading (mW). Handles are the strings "gpuN"; UUID handles are the UUID itself."""

    NVML_CLOCK_MEM = 2

    def __init__(self, boards: int = 1, *, counter_mj: int | None = 1_000_000, instant_mw: int | None = 301_250,
                 usage_mw: int = 250_000, name: str | bytes = H100, limit_mw: int | None = 700_000) -> None:
        super().__init__("pynvml")
        self.NVMLError = NVMLError
        self.NVML_FI_DEV_POWER_INSTANT = 186  # absent from older nvidia-ml-py
        self.uuids: set[str] = set()
        self.boards = boards
        self.counter_mj = {f"gpu{i}": counter_mj for i in range(boards)}
        self.instant_mw, self.usage_mw, self.name, self.limit_mw = instant_mw, usage_mw, name, limit_mw
        self.shutdowns = 0

    def nvmlInit(self) -> None:
        pass

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        if index >= self.boards:
            raise NVMLError("Invalid Argument")
        return f"gpu{index}"

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> str:
        self.uuids.add(uuid)
        return uuid

    def _check(self, handle: object) -> None:
        # NVML answers NVML_ERROR_INVALID_ARGUMENT for a handle it never gave out.
        if handle not in self.counter_mj and handle not in self.uuids:
            raise NVMLError("Invalid Argument")

    def nvmlDeviceGetName(self, handle: str) -> str | bytes:
        self._check(handle)
        return self.name

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: str) -> int:
        self._check(handle)
        if self.limit_mw is None:
            raise NVMLError("Not Supported")
        return self.limit_mw

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: str) -> int:
        self._check(handle)
        mj = self.counter_mj.get(handle)
        if mj is None:
            raise NVMLError("Not Supported")
        return mj

    def nvmlDeviceGetFieldValues(self, handle: str, ids: list[int]) -> list:
        self._check(handle)
        ok = self.instant_mw is not None and ids == [self.NVML_FI_DEV_POWER_INSTANT]
        return [types.SimpleNamespace(nvmlReturn=0 if ok else 3, value=types.SimpleNamespace(uiVal=self.instant_mw))]

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        self._check(handle)
        return self.usage_mw

    def nvmlDeviceGetMaxClockInfo(self, handle: str, kind: int) -> int:
        self._check(handle)
        if kind != self.NVML_CLOCK_MEM:
            raise NVMLError("Invalid Argument")
        return 2619

    def nvmlDeviceGetMemoryBusWidth(self, handle: str) -> int:
        self._check(handle)
        return 5120


@pytest.fixture(autouse=True)
def no_cuda(monkeypatch):
    """No torch, no CUDA driver bindings, no CUDA_VISIBLE_DEVICES: NVML's index is the CUDA index; the counter's
    update-period probe answers 0.1 s after one read, so no test waits on it."""
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setitem(sys.modules, "cuda.bindings.driver", None)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(nv, "estimate_update_period", lambda read: (read(), 0.1)[1])


def install(monkeypatch, fake: FakeNvml) -> FakeNvml:
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    return fake


# --- device numbers --------------------------------------------------------------------------------------------------


def test_cuda_indices_of_every_device_spelling():
    assert cuda_indices("cuda:0,2") == [0, 2]
    assert cuda_indices("cuda:2,2,1") == [2, 1]  # a board named twice is metered once
    assert cuda_indices("cuda: 1, x") == [1]
    assert cuda_indices("cuda") == [0] and cuda_indices("cuda:x") == [0] and cuda_indices(None) == [0]
    assert cuda_indices(3) == [3] and cuda_indices(0) == [0]
    assert cuda_index("cuda:3,1") == 3 and cuda_index(None) == 0


# --- loading the library ---------------------------------------------------------------------------------------------


def test_load_nvml_without_the_package_or_the_driver_says_which(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(NvmlUnavailable) as info:
        load_nvml()
    assert str(info.value) == "nvidia-ml-py is not installed (pip install 'hashbench[nvml]')"
    fake = FakeNvml()

    def no_driver() -> None:
        raise NVMLError("Driver Not Loaded")

    fake.nvmlInit = no_driver
    install(monkeypatch, fake)
    with pytest.raises(NvmlUnavailable) as info:
        load_nvml()
    assert str(info.value) == "NVML cannot start (Driver Not Loaded): no NVIDIA driver on this machine"


# --- which board is cuda:N -------------------------------------------------------------------------------------------


def test_handle_by_index_and_the_error_for_a_board_nvml_lacks():
    fake = FakeNvml(boards=2)
    assert handle_for(fake, "cuda:1") == ("gpu1", "NVML index 1")
    with pytest.raises(NvmlUnavailable) as info:
        handle_for(fake, "cuda:5")
    assert str(info.value) == "NVML has no GPU for cuda:5 (Invalid Argument)"


def test_cuda_visible_devices_entries_past_the_list_and_mig(monkeypatch):
    fake = FakeNvml(boards=4)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", " 3 , 1 ")
    assert handle_for(fake, "cuda:1") == ("gpu1", "NVML index 1")
    assert handle_for(fake, "cuda:0") == ("gpu3", "NVML index 3")
    assert handle_for(fake, "cuda:2") == ("gpu2", "NVML index 2")  # not in the list: the CUDA index is taken
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aaaa,MIG-bbbb")
    assert handle_for(fake, "cuda:0") == ("GPU-aaaa", "GPU-aaaa")
    with pytest.raises(NvmlUnavailable) as info:
        handle_for(fake, "cuda:1")
    assert str(info.value) == "cuda:1 is a MIG instance (MIG-bbbb): NVML has no energy per instance"


def fake_torch(uuids: dict[int, str], initialized: bool = True) -> types.ModuleType:
    torch = types.ModuleType("torch")

    def props(index: int) -> types.SimpleNamespace:
        return types.SimpleNamespace(uuid=uuids[index])  # KeyError stands for an older torch's failure

    torch.cuda = types.SimpleNamespace(is_initialized=lambda: initialized, get_device_properties=props)
    return torch


def test_torch_uuid_is_used_in_nvml_form_when_torch_has_cuda_up(monkeypatch):
    fake = FakeNvml(boards=2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,0")  # torch's answer wins over the environment
    monkeypatch.setitem(sys.modules, "torch", fake_torch({0: "58a1c2d4-0000-1111-2222-333344445555",
                                                          1: "GPU-already-prefixed"}))
    assert handle_for(fake, "cuda:0") == ("GPU-58a1c2d4-0000-1111-2222-333344445555",) * 2
    assert handle_for(fake, "cuda:1") == ("GPU-already-prefixed",) * 2
    monkeypatch.setitem(sys.modules, "torch", fake_torch({}, initialized=True))  # torch fails: environment
    assert handle_for(fake, "cuda:0") == ("gpu1", "NVML index 1")
    monkeypatch.setitem(sys.modules, "torch", fake_torch({0: "GPU-x"}, initialized=False))  # CUDA not set up
    assert handle_for(fake, "cuda:0") == ("gpu1", "NVML index 1")


def fake_driver(uuids: dict[int, bytes], *, init_ok: bool = True, uuid_ok: bool = True,
                v2: bool = False) -> types.ModuleType:
    ok, bad = object(), object()
    driver = types.ModuleType("cuda.bindings.driver")
    driver.CUresult = types.SimpleNamespace(CUDA_SUCCESS=ok)
    driver.cuInit = lambda flags: (ok if init_ok and flags == 0 else bad,)  # "Flags: must be 0"
    driver.cuDeviceGet = lambda index: (ok, index) if index in uuids else (bad, None)

    def get_uuid(dev: int) -> tuple:
        return (ok if uuid_ok else bad), types.SimpleNamespace(bytes=uuids[dev])

    if v2:
        driver.cuDeviceGetUuid_v2 = get_uuid
        driver.cuDeviceGetUuid = lambda dev: (ok, types.SimpleNamespace(bytes=bytes(16)))  # the old call: not used
    else:
        driver.cuDeviceGetUuid = get_uuid
    return driver


def test_driver_uuid_formats_sixteen_bytes_and_gives_up_on_any_failure(monkeypatch):
    fake = FakeNvml(boards=2)
    uuids = {0: bytes(range(16)), 1: bytes(range(100, 115))}  # board 1: 15 bytes, not a UUID
    monkeypatch.setitem(sys.modules, "cuda.bindings.driver", fake_driver(uuids, v2=True))
    assert handle_for(fake, "cuda:0") == ("GPU-00010203-0405-0607-0809-0a0b0c0d0e0f",) * 2
    assert handle_for(fake, "cuda:1") == ("gpu1", "NVML index 1")
    # cuda-bindings without cuDeviceGetUuid_v2 (older releases): the first call gives the same UUID.
    monkeypatch.setitem(sys.modules, "cuda.bindings.driver", fake_driver(uuids))
    assert handle_for(fake, "cuda:0") == ("GPU-00010203-0405-0607-0809-0a0b0c0d0e0f",) * 2
    monkeypatch.setitem(sys.modules, "cuda.bindings.driver", fake_driver(uuids, init_ok=False))
    assert handle_for(fake, "cuda:0") == ("gpu0", "NVML index 0")
    monkeypatch.setitem(sys.modules, "cuda.bindings.driver", fake_driver(uuids, uuid_ok=False))
    assert handle_for(fake, "cuda:0") == ("gpu0", "NVML index 0")


# --- the energy counter ----------------------------------------------------------------------------------------------


def test_counter_joules_are_millijoule_deltas_from_opening(monkeypatch):
    fake = install(monkeypatch, FakeNvml())
    source = open_nvml("cuda:0")
    assert isinstance(source, NvmlCounterSource) and source.update_period_s == 0.1
    assert source.detail == f"{H100}, NVML index 0, power limit 700 W; nvmlDeviceGetTotalEnergyConsumption counter"
    assert source.read_joules() == 0.0
    fake.counter_mj["gpu0"] = 1_250_500
    assert source.read_joules() == 250.5
    assert source.read_joules() == 250.5 and source.resets == 0  # an unmoved counter is no reset
    source.close()
    assert fake.shutdowns == 1


def test_counter_restart_adds_nothing_is_counted_and_says_why(monkeypatch):
    fake = install(monkeypatch, FakeNvml())
    source = open_nvml("cuda:0")
    fake.counter_mj["gpu0"] = 1_250_500
    assert source.read_joules() == 250.5
    fake.counter_mj["gpu0"] = 400  # the driver reloaded: the counter started again from 0
    assert source.read_joules() == 250.5
    assert source.resets == 1
    assert source.reset_why == ("NVML energy counter of NVML index 0 went backwards (1250500 mJ, then 400 mJ): the "
                                "driver reloaded or the GPU was reset; energy across it unknown")
    fake.counter_mj["gpu0"] = 1_400  # counted on from the restarted value
    assert source.read_joules() == 251.5 and source.resets == 1
    fake.counter_mj["gpu0"] = 0  # and again
    assert source.read_joules() == 251.5 and source.resets == 2


def test_short_window_flag_text_and_its_boundary(monkeypatch):
    install(monkeypatch, FakeNvml())
    source = open_nvml("cuda:0")
    assert source.window_flags(59.94) == ["GPU window 59.9 s is under 60 s: board power sensors average or sample "
                                          "part of the time, so short windows can be off"]
    assert source.window_flags(60.0) == []


def test_description_of_a_board_with_bytes_name_or_missing_facts():
    assert nv._describe(FakeNvml(name=H100.encode(), limit_mw=450_500), "gpu0", "NVML index 0") == (
        f"{H100}, NVML index 0, power limit 450.5 W")
    broken = FakeNvml(limit_mw=None)
    broken.nvmlDeviceGetName = None  # calling it fails
    assert nv._describe(broken, "gpu0", "NVML index 0") == "NVML index 0"


# --- sampled power ---------------------------------------------------------------------------------------------------


def test_instant_power_field_in_milliwatts(monkeypatch):
    fake = install(monkeypatch, FakeNvml(counter_mj=None))
    source = open_nvml("cuda:0")
    assert isinstance(source, NvmlPowerSource) and source.instant and source.interval_s == 0.05
    assert source.detail == (f"{H100}, NVML index 0, power limit 700 W; no energy counter, NVML_FI_DEV_POWER_INSTANT "
                             "sampled at 20 Hz")
    assert source.read_watts() == 301.25
    assert source.window_flags(120.0) == []
    fake.instant_mw = None
    with pytest.raises(NvmlUnavailable) as info:
        source.read_watts()
    assert str(info.value) == "NVML_FI_DEV_POWER_INSTANT read failed"
    source.close()
    assert fake.shutdowns == 1


@pytest.mark.parametrize("why", ["field refused", "no field constant", "no field values call"])
def test_averaged_power_where_the_instant_field_is_missing(monkeypatch, why):
    fake = FakeNvml(counter_mj=None, instant_mw=None if why == "field refused" else 301_250)
    if why == "no field constant":
        del fake.NVML_FI_DEV_POWER_INSTANT
    if why == "no field values call":
        fake.nvmlDeviceGetFieldValues = None
    install(monkeypatch, fake)
    source = open_nvml("cuda:0")
    assert not source.instant and source.read_watts() == 250.0
    assert source.detail.endswith("; no energy counter, nvmlDeviceGetPowerUsage sampled at 20 Hz")
    smeared = ("power from nvmlDeviceGetPowerUsage, a ~1 s average on recent GPUs: the window's edges are smeared")
    assert source.window_flags(120.0) == [smeared]
    assert source.window_flags(30.0) == ["GPU window 30.0 s is under 60 s: board power sensors average or sample "
                                         "part of the time, so short windows can be off", smeared]


# --- choosing and summing sources ------------------------------------------------------------------------------------


def test_kinds_narrow_the_choice_and_nothing_readable_says_what_failed(monkeypatch):
    fake = install(monkeypatch, FakeNvml())
    assert isinstance(open_nvml("cuda:0", ("power",)), NvmlPowerSource)
    fake.counter_mj["gpu0"] = None
    fake.nvmlDeviceGetPowerUsage = fake.nvmlDeviceGetTotalEnergyConsumption  # raises "Not Supported" too
    fake.instant_mw = None
    fake.shutdowns = 0
    with pytest.raises(NvmlUnavailable) as info:
        open_nvml("cuda:0")
    assert str(info.value) == ("NVML reads no counter or power on NVML index 0 (energy counter: Not Supported; "
                               "power: Not Supported)")
    assert fake.shutdowns == 1
    with pytest.raises(NvmlUnavailable) as info:
        open_nvml("cuda:0,1", ())
    assert str(info.value) == "no NVML source kind asked for (())"


def test_a_missing_board_shuts_nvml_down_again(monkeypatch):
    fake = install(monkeypatch, FakeNvml())
    with pytest.raises(NvmlUnavailable, match=r"^NVML has no GPU for cuda:3 \(Invalid Argument\)$"):
        open_nvml("cuda:3")
    assert fake.shutdowns == 1


def test_several_boards_sum_their_counters(monkeypatch):
    fake = install(monkeypatch, FakeNvml(boards=2))
    source = open_nvml("cuda:0,1")
    assert isinstance(source, SumCounterSource) and len(source.parts) == 2
    fake.counter_mj["gpu0"] += 100_000
    fake.counter_mj["gpu1"] += 20_500
    assert source.read_joules() == 120.5


def test_one_board_without_a_counter_puts_every_board_on_sampled_power(monkeypatch):
    fake = install(monkeypatch, FakeNvml(boards=2))
    fake.counter_mj["gpu1"] = None
    source = open_nvml("cuda:0,1")
    assert isinstance(source, SumPowerSource) and [p.instant for p in source.parts] == [True, True]
    assert source.read_watts() == 602.5
    # board 1's NVML session shut down when its counter failed, and board 0's counter, already open, closed
    assert fake.shutdowns == 2


def test_several_boards_none_readable_raises_the_last_kinds_reason(monkeypatch):
    fake = install(monkeypatch, FakeNvml(boards=1))
    with pytest.raises(NvmlUnavailable, match=r"^NVML has no GPU for cuda:1 \(Invalid Argument\)$"):
        open_nvml("cuda:0,1")
    assert fake.shutdowns == 4  # each kind: board 0 opened then closed, board 1's NVML session shut down
    with pytest.raises(NvmlUnavailable, match=r"^NVML has no GPU for cuda:1 \(Invalid Argument\)$"):
        open_nvml("cuda:0,1", ("counter",))  # one kind asked for: its failure is the answer


# --- nominal memory bandwidth ----------------------------------------------------------------------------------------


def test_nominal_bandwidth_figure_and_text(monkeypatch):
    fake = install(monkeypatch, FakeNvml())
    peak, basis = nominal_memory_bandwidth("cuda:0")
    assert peak == 2619e6 * 2 * 5120 / 8 == 3.35232e12
    assert basis == "NVML nominal peak: 2619 MHz × 5120-bit bus × 2 = 3.35 TB/s"
    assert fake.shutdowns == 1


def test_nominal_bandwidth_is_none_when_nvml_cannot_tell(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert nominal_memory_bandwidth("cuda:0") is None
    fake = install(monkeypatch, FakeNvml())
    assert nominal_memory_bandwidth("cuda:4") is None
    assert fake.shutdowns == 1
