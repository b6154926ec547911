"""RAPL energy counters through Linux powercap sysfs: package and DRAM domains, Intel and AMD.

Each zone directory (intel-rapl:0, intel-rapl:0:1, amd-rapl:0 ...) has a `name` file ("package-0", "dram",
"core", "uncore", "psys"), a cumulative `energy_uj` and the value it wraps at, `max_energy_range_uj`. Only package
and dram domains are summed: core and uncore are parts of a package (counting them would count twice), psys is a
platform domain that contains the packages. Mainline kernels expose AMD's RAPL under the intel-rapl names too.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from .reading import CPU_PACKAGE
from .source import CounterSource

DEFAULT_ROOT = Path("/sys/class/powercap")
ROOT_ENV = "HASHBENCH_RAPL_ROOT"
_ZONE = re.compile(r"^(intel|amd)-rapl(:\d+)+$")  # not intel-rapl-mmio: that repeats package-0 through MMIO
# The hardware updates the energy status MSRs about every millisecond (Intel SDM; AMD the same order).
NOMINAL_UPDATE_S = 0.001
# No package or DRAM domain draws this much (the largest server packages are rated about 500 W): a wraparound that
# would mean more, over the time since the last read, is the counter restarting. The slack covers reads close
# together, where one counter update can land between them.
MAX_DOMAIN_W = 2000.0
SLACK_S = 0.01


class RaplUnavailable(Exception):
    """No readable RAPL domain; the message says why in one line."""


@dataclass(frozen=True)
class RaplDomain:
    zone: str  # intel-rapl:0
    name: str  # package-0
    path: Path
    max_range_uj: int


def _root_only(path: Path, root: Path) -> RaplUnavailable:
    return RaplUnavailable(
        f"RAPL energy counters are readable by root only ({path}: permission denied; Linux restricts energy_uj "
        f"since the November 2020 fix for CVE-2020-8694, in 5.10 and the stable kernels): run as root, or on a "
        f"trusted machine grant read access, e.g. "
        f"sudo chmod a+r {root}/*-rapl:*/energy_uj")


def find_domains(root: Path = DEFAULT_ROOT) -> list[RaplDomain]:
    if not root.is_dir():
        raise RaplUnavailable(f"no powercap interface at {root} (no RAPL driver, or not Linux)")
    domains = []
    for zone in sorted(root.iterdir(), key=lambda p: p.name):
        if not _ZONE.match(zone.name):
            continue
        try:
            name = (zone / "name").read_text().strip()
        except OSError:
            continue
        if not (name.startswith("package") or name == "dram"):
            continue
        try:
            max_range = int((zone / "max_energy_range_uj").read_text().strip())
        except PermissionError:
            raise _root_only(zone / "max_energy_range_uj", root) from None
        except (OSError, ValueError) as exc:
            raise RaplUnavailable(f"cannot read {zone / 'max_energy_range_uj'}: {exc}") from None
        domains.append(RaplDomain(zone.name, name, zone / "energy_uj", max_range))
    if not domains:
        raise RaplUnavailable(f"no RAPL package or dram zone under {root}")
    return domains


def _labels(domains: list[RaplDomain]) -> list[str]:
    """"package-0", "dram of package-0", ...: on a two-socket machine each socket has a "dram" zone, told apart by the
    package zone it sits under (intel-rapl:1:0 is under intel-rapl:1)."""
    by_zone = {d.zone: d.name for d in domains}
    labels = []
    for d in domains:
        parent = d.zone.rsplit(":", 1)[0]
        labels.append(f"{d.name} of {by_zone.get(parent, parent)}" if d.zone.count(":") > 1 else d.name)
    return labels


def wrapped_delta(before: int, after: int, max_range: int) -> int:
    """Microjoules between two reads of a counter that wraps to 0 after max_range (at most one wrap between)."""
    return after - before if after >= before else after + (max_range - before)


class RaplSource(CounterSource):
    name = "rapl"
    layer = CPU_PACKAGE
    update_period_s = NOMINAL_UPDATE_S
    poll_interval_s = 1.0  # a server package counter wraps after minutes at full power: 1 s never misses one

    def __init__(self, root: Path = DEFAULT_ROOT) -> None:
        self.root = root
        self.domains = find_domains(root)
        self._last = [self._raw(d) for d in self.domains]  # also proves energy_uj is readable now
        self._last_t = time.monotonic()
        self._total_uj = 0
        # update_period_s is the nominal figure, not a measurement (polling cannot resolve 1 ms): said where it shows.
        self.detail = (f"RAPL domains {', '.join(_labels(self.domains))} under {root}, summed; counter update "
                       f"period {NOMINAL_UPDATE_S * 1e3:g} ms nominal, not measured")

    def _raw(self, domain: RaplDomain) -> int:
        try:
            return int(domain.path.read_text().strip())
        except PermissionError:
            raise _root_only(domain.path, self.root) from None
        except (OSError, ValueError) as exc:
            raise RaplUnavailable(f"cannot read {domain.path}: {exc}") from None

    def read_joules(self) -> float:
        now = time.monotonic()
        most_uj = MAX_DOMAIN_W * (now - self._last_t + SLACK_S) * 1e6
        self._last_t = now
        for i, domain in enumerate(self.domains):
            raw, last = self._raw(domain), self._last[i]
            delta = wrapped_delta(last, raw, domain.max_range_uj)
            # Read once a second, a real wrap adds a small part of the range (a package at 500 W takes minutes to
            # wrap); a step back that would need more than half of it, or more energy than any domain draws in the
            # time since the last read, is the counter restarting, not a wrap.
            if delta < 0 or (raw < last and (delta > domain.max_range_uj // 2 or delta > most_uj)):
                self.resets += 1
                self.reset_why = (f"RAPL {domain.zone} ({domain.name}) energy_uj went backwards from {last} to {raw} "
                                  "without a wraparound: the counter restarted, energy across it unknown")
            else:
                self._total_uj += delta
            self._last[i] = raw
        return self._total_uj / 1e6
