"""Memory bandwidth: one buffer copied into another on the device, bytes read + bytes written per second.

The buffers are several times the last-level cache, so the copy streams from DRAM/HBM. On a CPU the write also reads
the destination line first (write-allocate) unless the copy uses streaming stores; that hidden read is not counted,
so a copy shows less than the bus moves. A read-only stream (a sum over the source) is timed in alternation beside
it: an LLM decode step mostly reads, so its roof is the better of the two."""

from __future__ import annotations

from ..energy import EnergyPlan
from .device import Device, calibrate, repeat, require_torch, timed
from .result import ProbeResult

BYTES_COUNTED = "copy: read + write (2 × buffer per copy); read-only reference: 1 × buffer per sum"
READ_IMPL = "tensor.sum (read only)"


def buffer_bytes(device: Device, quick: bool) -> int:
    cache = device.last_level_cache() or (50 << 20)
    # Several times the last-level cache, so the copy streams from DRAM/HBM (twice it with --quick: still beyond the
    # cache, half the page faults to set up).
    times = 2 if quick else 4
    if device.is_cuda:
        want = max(1 << 30, 2 * times * cache)
    else:
        want = max(64 << 20, times * cache)
    # Two buffers, and never more than a quarter of what is free.
    return int(min(want, device.free_memory() // 8)) // 4096 * 4096


def run_membw(device: Device, nbytes: int, seconds: float, energy: EnergyPlan, block_s: float) -> ProbeResult:
    torch = require_torch()
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device.torch_device).fill_(1.0)
    dst = torch.zeros_like(src)  # zeros, not empty: pages are touched before the timing starts

    def copy() -> None:
        dst.copy_(src)

    def read() -> object:
        return src.sum()

    with torch.inference_mode():
        copy()
        read()
        copies = calibrate(copy, device, block_s)
        sums = calibrate(read, device, block_s)
        copy_rates: list[float] = []
        read_rates: list[float] = []
        elapsed, moved = 0.0, 0.0
        with energy.meter(device.name) as meter:
            while elapsed < seconds or len(copy_rates) < 3:
                blocks = ((copy, copies, 2.0, copy_rates), (read, sums, 1.0, read_rates))
                for fn, count, per_call, rates in blocks if len(copy_rates) % 2 == 0 else reversed(blocks):
                    t = timed(repeat(fn, count), device)
                    rates.append(per_call * nbytes * count / t)
                    elapsed += t
                    moved += per_call * nbytes * count
    return ProbeResult(
        probe="membw", device=device.name, preset=f"{nbytes / (1 << 20):.0f} MiB", dtype=None, batch=None,
        unit="B/s", samples=copy_rates, reference_samples=read_rates, impl="tensor.copy_", reference_impl=READ_IMPL,
        # Both streams ran inside the window: the joules cover the bytes of both.
        work=moved / 1e9, per="GB", seconds=elapsed, energy=meter.reading(),
        detail={"buffer_bytes": nbytes, "bytes_counted": BYTES_COUNTED, "copies_per_block": copies,
                "sums_per_block": sums, "last_level_cache_bytes": device.last_level_cache(),
                "energy_scope": "copy and read-only blocks, alternating"})
