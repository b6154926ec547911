"""AI inference probes (GEMM, memory bandwidth, Llama prefill and decode) measured inside energy windows.

torch is an optional extra (`pip install 'hashbench[ai]'`): importing this package does not import it."""

from .device import ProbeUnavailable, available_devices
from .result import ProbeResult
from .runner import PROBES, ProbeRun, ProbeSettings, Skipped, run_probes

__all__ = ["PROBES", "ProbeResult", "ProbeRun", "ProbeSettings", "ProbeUnavailable", "Skipped", "available_devices",
           "run_probes"]
