"""One error family: the CLI turns any of these into one clear line and a non-zero exit."""

from __future__ import annotations

import signal


class HashbenchError(Exception):
    """Base of every error hashbench reports to a user."""

    exit_code = 1


class InputError(HashbenchError):
    """Bad user input: a malformed header, an impossible range, an unknown name."""

    exit_code = 2


class BackendUnavailable(HashbenchError):
    """A backend was asked for but cannot run on this machine."""

    exit_code = 2


class Interrupted(KeyboardInterrupt):
    """SIGTERM (a job scheduler, `timeout`, a container stop) raised where Ctrl-C would be, so it stops a command the
    same orderly way: finished measurements kept, then exit 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


def interrupt_exit_code(exc: BaseException) -> int:
    """130 for Ctrl-C, 143 for SIGTERM (what a shell reports for a process those signals end)."""
    return getattr(exc, "exit_code", 128 + signal.SIGINT)
