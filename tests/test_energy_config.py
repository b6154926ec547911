"""EnergyConfig: what the environment sets when a flag does not, and the exact one-line refusal of each impossible
combination of flags, at its boundary (0 W, idle = load, infinity). Pinned by mutation testing
(benchmarks/checks/mutation.py on energy/config.py)."""

from __future__ import annotations

import math

import pytest

from hashbench.energy import EnergyConfig
from hashbench.errors import InputError


def refused(**flags: object) -> str:
    with pytest.raises(InputError) as info:
        EnergyConfig.from_env({}, **flags)
    return str(info.value)


def test_an_empty_environment_gives_the_defaults():
    # Unset and set-but-empty variables alike: ipmitool found on PATH, no interface options, no Redfish URL, TLS on.
    assert EnergyConfig.from_env({}) == EnergyConfig()
    empty = {name: "" for name in ("HASHBENCH_RAPL_ROOT", "HASHBENCH_IPMITOOL", "HASHBENCH_IPMI_ARGS",
                                   "HASHBENCH_REDFISH_URL", "HASHBENCH_REDFISH_USER", "HASHBENCH_REDFISH_PASSWORD",
                                   "HASHBENCH_REDFISH_INSECURE")}
    config = EnergyConfig.from_env(empty)
    assert config == EnergyConfig()
    assert (config.ipmitool, config.ipmi_args, config.redfish_url, config.redfish_verify_tls) == \
        ("ipmitool", (), None, True)
    assert EnergyConfig.from_env({"HASHBENCH_IPMITOOL": "/opt/ipmi/bin/ipmitool"}).ipmitool == "/opt/ipmi/bin/ipmitool"


@pytest.mark.parametrize(("value", "insecure"), [
    ("1", True), ("true", True), ("TRUE", True), ("yes", True), ("Yes", True), ("on", True), (" ON\n", True),
    ("0", False), ("false", False), ("no", False), ("off", False), ("", False), ("2", False)])
def test_redfish_insecure_takes_the_usual_spellings_of_yes_in_any_case(value, insecure):
    config = EnergyConfig.from_env({"HASHBENCH_REDFISH_INSECURE": value})
    assert config.redfish_verify_tls is not insecure


def test_an_ipmi_argument_list_with_an_open_quote_is_refused_naming_the_variable():
    with pytest.raises(InputError) as info:
        EnergyConfig.from_env({"HASHBENCH_IPMI_ARGS": '-I lanplus -H "bmc'})
    assert str(info.value) == ("HASHBENCH_IPMI_ARGS='-I lanplus -H \"bmc': cannot split into arguments "
                               "(No closing quotation)")


def test_an_unknown_mode_lists_the_modes():
    assert refused(mode="wall") == "--energy must be one of auto, nvml, rapl, ipmi, redfish, declared, none, got 'wall'"


def test_declared_watts_must_be_above_zero_and_finite():
    assert EnergyConfig.from_env({}, watts=0.5).watts == 0.5  # a small device: under 1 W is still power
    assert refused(watts=0.0) == "--watts must be > 0 and finite, got 0.0"
    assert refused(watts=math.inf) == "--watts must be > 0 and finite, got inf"
    assert refused(watts=math.nan) == "--watts must be > 0 and finite, got nan"


def test_idle_watts_from_zero_up_to_the_load_power():
    for idle in (0.0, 0.5, 100.0):  # no idle draw at all, a fraction of a watt, idle as high as the load
        config = EnergyConfig.from_env({}, watts=100.0, idle_watts=idle)
        assert (config.watts, config.idle_watts) == (100.0, idle)
    assert refused(watts=100.0, idle_watts=-1.0) == "--idle-watts must be >= 0 and finite, got -1.0"
    assert refused(watts=100.0, idle_watts=math.inf) == "--idle-watts must be >= 0 and finite, got inf"
    assert refused(watts=100.0, idle_watts=100.5) == ("--idle-watts 100.5 is above --watts 100: idle power cannot "
                                                      "exceed the power under load")
    assert refused(idle_watts=15.0) == ("--idle-watts goes with --watts (the declared load power it is the idle "
                                        "part of)")


def test_idle_seconds_from_zero_and_finite():
    assert EnergyConfig.from_env({}, idle_seconds=0.0).idle_seconds == 0.0  # no idle measurement
    assert refused(idle_seconds=-1.0) == "--idle-seconds must be >= 0 and finite, got -1.0"
    assert refused(idle_seconds=math.inf) == "--idle-seconds must be >= 0 and finite, got inf"


def test_watts_with_a_named_source_says_what_that_source_does_instead():
    assert EnergyConfig.from_env({}, mode="declared", watts=65.0).watts == 65.0
    assert refused(mode="rapl", watts=65.0) == (
        "--watts declares the power and --energy rapl measures it: give one of them (--energy auto measures where it "
        "can and falls back to --watts)")
    assert refused(mode="none", watts=65.0) == (
        "--watts declares the power and --energy none turns metering off: give one of them (--energy auto measures "
        "where it can and falls back to --watts)")


def test_declared_needs_watts_and_redfish_needs_a_url():
    assert refused(mode="declared") == "--energy declared needs --watts (the power you declare)"
    assert refused(mode="redfish") == "--energy redfish needs a URL: set HASHBENCH_REDFISH_URL"
    url = "https://bmc/redfish/v1"
    assert EnergyConfig.from_env({"HASHBENCH_REDFISH_URL": url}, mode="redfish").redfish_url == url
