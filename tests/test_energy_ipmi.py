"""`ipmitool dcmi power reading`: the sampling-period units, fields a BMC leaves out, the exact explanations of each
failure, the -P password masking in labels, and the short-window flag's boundary. Pinned by mutation testing
(benchmarks/checks/mutation.py on energy/ipmi.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hashbench.energy import ipmi
from hashbench.energy.ipmi import IpmiSource, IpmiUnavailable, parse_dcmi_power

# As ipmitool 1.8.18 prints it; the other layouts below are edits of these lines.
LINES = {
    "instant": "    Instantaneous power reading:                   247 Watts",
    "min": "    Minimum during sampling period:                 68 Watts",
    "max": "    Maximum during sampling period:                424 Watts",
    "avg": "    Average power reading over sample period:      213 Watts",
    "stamp": "    IPMI timestamp:                           Thu Feb 15 08:36:01 2024",
    "period": "    Sampling period:                          00000001 Seconds.",
    "state": "    Power reading state is:                   activated",
}


def dcmi(**changes: str | None) -> str:
    """The 1.8.18 output with some lines replaced (None: left out)."""
    lines = {**LINES, **changes}
    return "\n" + "\n".join(v for v in lines.values() if v is not None) + "\n\n"


def fake_ipmitool(where: Path, stdout: str, stderr: str = "", code: int = 0) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    (where / "out").write_text(stdout)
    (where / "err").write_text(stderr)
    script = where / "ipmitool"
    script.write_text(f"#!/bin/sh\ncat '{where}/out'\ncat '{where}/err' >&2\nexit {code}\n")
    script.chmod(0o755)
    return script


def period(text: str) -> float | None:
    return parse_dcmi_power(dcmi(period=f"    Sampling period:                          {text}")).sampling_period_s


def test_sampling_period_units():
    assert period("00000001 Seconds.") == 1.0
    assert period("1_min") == 60.0  # the rolling-average names: lower case, underscore
    assert period("00000002 Minutes.") == 120.0  # the unit's case does not matter
    assert period("00000003 Hours") == 3 * 3600.0
    assert period("250 ms") == 0.25
    assert period("00000005") == 5.0  # a bare count is seconds


def test_fields_a_bmc_leaves_out():
    r = parse_dcmi_power(dcmi(min=None, max=None, avg=None, stamp=None, period=None, state=None))
    assert r.instantaneous_w == 247.0
    assert (r.minimum_w, r.maximum_w, r.average_w, r.sampling_period_s, r.timestamp) == (None, None, None, None, "")
    assert r.active  # no state line: nothing says it is deactivated


def test_watts_in_any_case_and_the_no_reading_text():
    assert parse_dcmi_power(dcmi(instant="    Instantaneous power reading:   247 WATTS")).instantaneous_w == 247.0
    assert parse_dcmi_power(dcmi(instant="    Instantaneous power reading:   1.5 watt")).instantaneous_w == 1.5
    with pytest.raises(ValueError) as info:
        parse_dcmi_power("Error: Unable to establish IPMI v2 / RMCP+ session\n")
    assert str(info.value) == "no 'Instantaneous power reading' line in ipmitool output"


@pytest.mark.parametrize(("stdout", "stderr", "code", "said"), [
    ("", "", 0, "no 'Instantaneous power reading' in ipmitool's output (it printed nothing)"),
    ("", "", 1, "ipmitool failed: exit status 1"),
    ("", "Error: Unable to establish IPMI v2 / RMCP+ session\n", 1,
     "ipmitool failed: Error: Unable to establish IPMI v2 / RMCP+ session"),
    ("", "Could not open device at /dev/ipmi0 or /dev/ipmi/0 or /dev/ipmidev/0: No such file or directory\n", 1,
     "no local BMC interface (Could not open device at /dev/ipmi0 or /dev/ipmi/0 or /dev/ipmidev/0: No such file or "
     "directory); load ipmi_devintf/ipmi_si, or point HASHBENCH_IPMI_ARGS at the BMC over the network "
     "(-I lanplus -H ... -U ... -E)"),
    ("\n    A valid DCMI command was not returned! (80)\n", "", 1,
     "the BMC gives no DCMI power reading (A valid DCMI command was not returned! (80)): try Redfish, or declare "
     "--watts"),
], ids=["exit-0-silent", "exit-1-silent", "rmcp-session", "no-device", "no-dcmi-on-stdout"])
def test_each_failure_is_explained_in_one_exact_line(tmp_path, stdout, stderr, code, said):
    with pytest.raises(IpmiUnavailable) as info:
        IpmiSource(str(fake_ipmitool(tmp_path, stdout, stderr, code)))
    assert str(info.value) == said


def test_zero_watts_while_activated_names_no_state(tmp_path):
    with pytest.raises(IpmiUnavailable) as info:
        IpmiSource(str(fake_ipmitool(tmp_path, dcmi(instant="    Instantaneous power reading:     0 Watts"))))
    assert str(info.value) == ("the BMC reports 0 W: it has no power measurement behind DCMI; try Redfish, or "
                               "declare --watts")
    # 1 W is a (tiny) measurement, not the BMC saying it measures nothing.
    one = dcmi(instant="    Instantaneous power reading:   1 Watts")
    source = IpmiSource(str(fake_ipmitool(tmp_path / "one", one)))
    assert source.read_watts() == 1.0


def test_the_label_masks_the_password_in_either_form_and_nothing_else(tmp_path):
    tool = str(fake_ipmitool(tmp_path, dcmi()))
    detail = IpmiSource(tool, ["-I", "lanplus", "-H", "10.0.0.5", "-U", "admin", "-P", "secret"]).detail
    assert detail == ("ipmitool dcmi power reading (-I lanplus -H 10.0.0.5 -U admin -P '***'), instantaneous reading; "
                      "BMC statistics period 1 s")
    detail = IpmiSource(tool, ["-I", "lanplus", "-Psecret", "-E"]).detail
    assert detail.startswith("ipmitool dcmi power reading (-I lanplus '-P***' -E), ")
    detail = IpmiSource(tool).detail
    assert detail == "ipmitool dcmi power reading (local BMC), instantaneous reading; BMC statistics period 1 s"
    no_period = IpmiSource(str(fake_ipmitool(tmp_path / "np", dcmi(period=None)))).detail
    assert no_period.endswith("; BMC statistics period not printed")


def test_ipmitool_is_looked_up_on_path_by_default(tmp_path, monkeypatch):
    fake_ipmitool(tmp_path, dcmi())
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")  # first on PATH; sh still finds cat
    assert IpmiSource().command == [str(tmp_path / "ipmitool"), "dcmi", "power", "reading"]


def test_ipmitool_that_hangs_is_cut_off(tmp_path, monkeypatch):
    script = tmp_path / "ipmitool"
    script.write_text("#!/bin/sh\nexec sleep 3\n")  # exec: the killed process is the one holding the pipes
    script.chmod(0o755)
    monkeypatch.setattr(ipmi, "TIMEOUT_S", 0.1)
    with pytest.raises(IpmiUnavailable) as info:
        IpmiSource(str(script))
    assert str(info.value) == "ipmitool gave no answer in 0.1 s"


def test_window_flags_short_window_boundary_and_deactivated_state(tmp_path):
    source = IpmiSource(str(fake_ipmitool(tmp_path, dcmi())))
    # Ten readings a second apart is the least that is not flagged.
    assert source.window_flags(10.0) == [] and source.window_flags(30.0) == []
    assert source.window_flags(9.5) == ["node power sampled once a second: a 9.5 s window holds few BMC readings"]
    source.interval_s = 0.5  # the bound is ten sampling intervals, whatever the interval
    assert source.window_flags(5.0) == [] and len(source.window_flags(4.9)) == 1
    off = IpmiSource(str(fake_ipmitool(tmp_path / "off", dcmi(state="    Power reading state is:    deactivated"))))
    assert off.window_flags(30.0) == [
        "the BMC reports its DCMI power reading state as deactivated: readings may be stale"]


def test_output_that_is_not_utf8_is_read_not_a_traceback(tmp_path):
    """A BMC's banner in Latin-1 (or a binary byte) must not raise UnicodeDecodeError out of the reading."""
    tool = fake_ipmitool(tmp_path, "")
    (tmp_path / "out").write_bytes(b"\xff\xfe BMC r\xe9ponse" + dcmi().encode())
    assert IpmiSource(str(tool)).read_watts() == 247.0
    (tmp_path / "out").write_bytes(b"\xff garbage only\n")
    with pytest.raises(IpmiUnavailable, match=r"^no 'Instantaneous power reading' in ipmitool's output "
                                              r"\(\ufffd garbage"):
        IpmiSource(str(tool))
