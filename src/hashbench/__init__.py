"""hashbench: what a watt is worth hashing SHA-256d versus serving AI tokens, measured on one machine."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hashbench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
