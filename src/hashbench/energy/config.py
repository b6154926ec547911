"""Where energy comes from: the choice of source and each source's settings, from flags, config or environment."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError
from . import ipmi, rapl, redfish

MODES = ("auto", "nvml", "rapl", "ipmi", "redfish", "declared", "none")
DEFAULT_IDLE_SECONDS = 5.0


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
            ipmi_args=tuple(shlex.split(env.get(ipmi.ARGS_ENV, ""))),
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
        for name, value in (("--watts", self.watts), ("--idle-watts", self.idle_watts)):
            if value is not None and not value >= 0:
                raise InputError(f"{name} must be >= 0, got {value}")
        if not self.idle_seconds >= 0:
            raise InputError(f"--idle-seconds must be >= 0, got {self.idle_seconds}")
        if self.mode == "declared" and self.watts is None:
            raise InputError("--energy declared needs --watts (the power you declare)")
        if self.mode == "redfish" and not self.redfish_url:
            raise InputError(f"--energy redfish needs a URL: set {redfish.URL_ENV} (or redfish_url in the config)")
