"""Where energy comes from: the choice of source and each source's settings, from flags, config or environment."""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError
from . import ipmi, rapl, redfish

MODES = ("auto", "nvml", "rapl", "ipmi", "redfish", "declared", "none")
DEFAULT_IDLE_SECONDS = 5.0


def _split_args(text: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(text))
    except ValueError as exc:  # an unclosed quote
        raise InputError(f"{ipmi.ARGS_ENV}={text!r}: cannot split into arguments ({exc})") from None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class EnergyConfig:
    mode: str = "auto"
    watts: float | None = None  # declared load power
    idle_watts: float | None = None  # declared idle power (only with a declared source)
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    rapl_root: Path = rapl.DEFAULT_ROOT
    ipmitool: str = "ipmitool"
    ipmi_args: tuple[str, ...] = ()
    redfish_url: str | None = None
    redfish_user: str | None = None
    redfish_password: str | None = field(default=None, repr=False)
    redfish_verify_tls: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> EnergyConfig:
        """Settings from HASHBENCH_* environment variables, then `overrides` (flags; None means not given)."""
        env = os.environ if env is None else env
        base = cls(
            rapl_root=Path(env.get(rapl.ROOT_ENV) or rapl.DEFAULT_ROOT),
            ipmitool=env.get(ipmi.IPMITOOL_ENV) or "ipmitool",
            ipmi_args=_split_args(env.get(ipmi.ARGS_ENV, "")),
            redfish_url=env.get(redfish.URL_ENV) or None,
            redfish_user=env.get(redfish.USER_ENV) or None,
            redfish_password=env.get(redfish.PASSWORD_ENV) or None,
            redfish_verify_tls=not _flag(env.get(redfish.INSECURE_ENV)),
        )
        config = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        config.validate()
        return config

    def validate(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"--energy must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.watts is not None and not 0 < self.watts < math.inf:
            raise InputError(f"--watts must be > 0 and finite, got {self.watts}")
        if self.idle_watts is not None:
            if not 0 <= self.idle_watts < math.inf:
                raise InputError(f"--idle-watts must be >= 0 and finite, got {self.idle_watts}")
            if self.watts is None:
                raise InputError("--idle-watts goes with --watts (the declared load power it is the idle part of)")
            if self.idle_watts > self.watts:
                raise InputError(f"--idle-watts {self.idle_watts:g} is above --watts {self.watts:g}: idle power "
                                 "cannot exceed the power under load")
        if not 0 <= self.idle_seconds < math.inf:
            raise InputError(f"--idle-seconds must be >= 0 and finite, got {self.idle_seconds}")
        if self.watts is not None and self.mode not in ("auto", "declared"):
            # A named source is used or the command fails; --watts would be dropped without a word.
            raise InputError(f"--watts declares the power and --energy {self.mode} "
                             f"{'turns metering off' if self.mode == 'none' else 'measures it'}: give one of them "
                             "(--energy auto measures where it can and falls back to --watts)")
        if self.mode == "declared" and self.watts is None:
            raise InputError("--energy declared needs --watts (the power you declare)")
        if self.mode == "redfish" and not self.redfish_url:
            raise InputError(f"--energy redfish needs a URL: set {redfish.URL_ENV}")
