"""The host fingerprint `compare` refuses mismatches by, and the conditions it reports as notes."""

from __future__ import annotations

from dataclasses import replace

from results_helpers import HOST

from hashbench.results.fingerprint import GpuInfo

H100 = GpuInfo("NVIDIA H100 80GB HBM3", "580.65", 81559)


def test_condition_differences_name_what_was_read_on_both_sides():
    changed = replace(HOST, cpu_governor="powersave", turbo=False, usable_cpus=1, python="3.12.1", system="Linux 6.8",
                      gpus=(replace(H100, driver="535.1"),), hostname="elsewhere",
                      packages={"hashbench": "0.2.0", "numpy": "2.2.0", "torch": "2.5"})
    assert HOST.condition_differences(changed) == [
        "cpu_governor: 'performance' vs 'powersave'", "turbo: True vs False", "usable_cpus: 2 vs 1",
        "python: '3.11.7' vs '3.12.1'", "system: 'Linux 6.1' vs 'Linux 6.8'",
        "GPU driver: ['580.65'] vs ['535.1']", "numpy: 2.1.0 vs 2.2.0"]
    # None, "" and a CPU count of 0 are "could not read": no difference to report; nor a GPU driver nobody read
    unread = replace(HOST, cpu_governor=None, turbo=None, usable_cpus=0, python="", system="",
                     gpus=(replace(H100, driver=""),))
    assert HOST.condition_differences(unread) == unread.condition_differences(HOST) == []
    no_gpu = replace(HOST, gpus=())
    assert HOST.condition_differences(no_gpu) == no_gpu.condition_differences(HOST) == []
