"""Whole-node power from the BMC: `ipmitool dcmi power reading`, parsed, sampled once a second and integrated.

ipmitool prints, for example:

        Instantaneous power reading:                   247 Watts
        Minimum during sampling period:                 68 Watts
        Maximum during sampling period:                424 Watts
        Average power reading over sample period:      213 Watts
        IPMI timestamp:                           Thu Jan  1 00:00:00 1970
        Sampling period:                          00000001 Seconds.
        Power reading state is:                   activated
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from .reading import NODE
from .source import PowerSource

COMMAND = ("dcmi", "power", "reading")
IPMITOOL_ENV = "HASHBENCH_IPMITOOL"  # the ipmitool program
ARGS_ENV = "HASHBENCH_IPMI_ARGS"  # interface options, e.g. "-I lanplus -H 10.0.0.5 -U admin -E"
INTERVAL_S = 1.0  # BMCs refresh the DCMI reading about once a second; sampling faster only repeats it
TIMEOUT_S = 15.0


_PERIOD_UNITS = (("ms", 1e-3), ("milli", 1e-3), ("s", 1.0), ("min", 60.0), ("h", 3600.0), ("d", 86400.0))


class IpmiUnavailable(Exception):
    """No usable DCMI power reading; the message says why in one line."""


@dataclass(frozen=True)
class DcmiPowerReading:
    instantaneous_w: float
    minimum_w: float | None
    maximum_w: float | None
    average_w: float | None
    sampling_period_s: float | None
    timestamp: str
    active: bool


def _field(text: str, label: str) -> str | None:
    match = re.search(rf"^\s*{label}\s*:\s*(.+?)\s*$", text, re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else None


def _watts(text: str, label: str) -> float | None:
    value = _field(text, label)
    match = re.match(r"([0-9]+(?:\.[0-9]+)?)\s*Watts?", value or "", re.IGNORECASE)
    return float(match.group(1)) if match else None


def _one_label_a_line(text: str) -> str:
    """ipmitool 1.8.19 prints the timestamp without its newline, so the sampling period follows on the same line
    ("IPMI timestamp:  03/06/2025 07:40:35 UTC    Sampling period:  00000001 Seconds."): split it off again."""
    return re.sub(r"[ \t]{2,}(?=(?:IPMI timestamp|Sampling period|Power reading state is)\s*:)", "\n", text)


def parse_dcmi_power(text: str) -> DcmiPowerReading:
    """Parse `ipmitool dcmi power reading` output (1.8.18 and 1.8.19 layouts). Raises ValueError when it holds no
    instantaneous reading."""
    text = _one_label_a_line(text)
    instant = _watts(text, r"Instantaneous power reading")
    if instant is None:
        raise ValueError("no 'Instantaneous power reading' line in ipmitool output")
    period = _field(text, r"Sampling period")
    period_match = re.match(r"([0-9]+)[\s_]*([A-Za-z]*)", period or "")
    period_s = None
    if period_match:
        # "00000001 Seconds." by default; "5_sec", "1_min"... for the rolling averages newer BMCs offer.
        unit = period_match.group(2).lower()
        scale = next((v for k, v in _PERIOD_UNITS if unit.startswith(k)), 1.0)
        period_s = int(period_match.group(1)) * scale
    state = (_field(text, r"Power reading state is") or "").lower()
    return DcmiPowerReading(
        instantaneous_w=instant,
        minimum_w=_watts(text, r"Minimum during sampling period"),
        maximum_w=_watts(text, r"Maximum during sampling period"),
        average_w=_watts(text, r"Average power reading over sample period"),
        sampling_period_s=period_s,
        timestamp=_field(text, r"IPMI timestamp") or "",
        active=state.startswith("activ") or state == "",  # "activated" / "deactivated"
    )


def _explain(stderr: str, stdout: str, returncode: int) -> str:
    # ipmitool prints most errors on stderr, but "A valid DCMI command was not returned!" on stdout.
    said = stderr if stderr.strip() else stdout
    first = next((line.strip() for line in said.splitlines() if line.strip()), "")
    if returncode == 0:
        return f"no 'Instantaneous power reading' in ipmitool's output ({first or 'it printed nothing'})"
    first = first or f"exit status {returncode}"
    if "Permission denied" in said:  # "Could not open device at /dev/ipmi0 ...: Permission denied"
        return f"the BMC device is root only ({first}): run as root"
    if "Could not open device" in said:
        return (f"no local BMC interface ({first}); load ipmi_devintf/ipmi_si, or point {ARGS_ENV} at the BMC "
                "over the network (-I lanplus -H ... -U ... -E)")
    if "DCMI request failed" in said or "valid DCMI command" in said:
        return f"the BMC gives no DCMI power reading ({first}): try Redfish, or declare --watts"
    return f"ipmitool failed: {first}"


def _checked(reading: DcmiPowerReading) -> DcmiPowerReading:
    """A node running this program never draws 0 W: a 0 W reading (with the state "deactivated", as OpenBMC without
    a total-power sensor prints it) is the BMC saying it measures nothing, and must not be integrated into 0 J."""
    if reading.instantaneous_w <= 0:
        state = "" if reading.active else ", reading state deactivated"
        raise IpmiUnavailable(f"the BMC reports {reading.instantaneous_w:g} W{state}: it has no power measurement "
                              "behind DCMI; try Redfish, or declare --watts")
    return reading


SECRET_OPTIONS = ("-P", "-k", "-y")  # ipmitool's password, Kg key and Kg key in hex: never written to a label


def _redact(args: Sequence[str]) -> list[str]:
    """Interface options with any password or Kg key (-P, -k, -y, apart or attached) masked, for labels."""
    shown, hide_next = [], False
    for arg in args:
        attached = next((o for o in SECRET_OPTIONS if arg.startswith(o) and arg != o), None)
        shown.append("***" if hide_next else f"{attached}***" if attached else arg)
        hide_next = arg in SECRET_OPTIONS
    return shown


class IpmiSource(PowerSource):
    name = "ipmi"
    layer = NODE
    interval_s = INTERVAL_S

    def __init__(self, ipmitool: str = "ipmitool", args: Sequence[str] = ()) -> None:
        program = shutil.which(ipmitool)
        if program is None:
            raise IpmiUnavailable(f"{ipmitool} not found on PATH (install ipmitool, or set {IPMITOOL_ENV})")
        self.command = [program, *args, *COMMAND]
        first = self.read()
        # Some BMCs (OpenBMC among them) report "deactivated" and still give live readings: flag, don't refuse.
        self.active = first.active
        where = " ".join(shlex.quote(a) for a in _redact(args)) or "local BMC"
        # The DCMI "sampling period" is the span of the BMC's min/max/average statistics (often hours since the BMC
        # booted), not an averaging of the instantaneous reading sampled here: named for what it is.
        period = first.sampling_period_s
        self.detail = (f"ipmitool dcmi power reading ({where}), instantaneous reading; BMC statistics period "
                       f"{f'{period:g} s' if period is not None else 'not printed'}")

    def read(self) -> DcmiPowerReading:
        try:
            proc = subprocess.run(self.command, capture_output=True, text=True, errors="replace", timeout=TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise IpmiUnavailable(f"ipmitool gave no answer in {TIMEOUT_S:g} s") from None
        except OSError as exc:  # on PATH but cannot start (no execute permission, a missing interpreter, wrong arch)
            raise IpmiUnavailable(f"could not run {self.command[0]}: {exc.strerror or exc}") from None
        if proc.returncode == 0:
            try:
                return _checked(parse_dcmi_power(proc.stdout))
            except ValueError:  # exit status 0 and no reading: explained from what it printed
                pass
        raise IpmiUnavailable(_explain(proc.stderr, proc.stdout, proc.returncode))

    def read_watts(self) -> float:
        return self.read().instantaneous_w

    def window_flags(self, window_s: float) -> list[str]:
        flags = []
        if window_s < 10 * self.interval_s:
            flags.append(f"node power sampled once a second: a {window_s:.1f} s window holds few BMC readings")
        if not self.active:
            flags.append("the BMC reports its DCMI power reading state as deactivated: readings may be stale")
        return flags
