"""hashbench: what a watt is worth hashing SHA-256d versus serving AI tokens, measured on one machine."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hashbench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"


def main() -> None:
    """The `hashbench` command. The CLI is imported here, inside the guard, so a Ctrl-C while it loads (rich, click,
    the backends: a few tenths of a second) ends in one line and exit 130 like any other, not a traceback."""
    import sys

    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("hashbench: interrupted\n")
        raise SystemExit(130) from None
    cli_main()
