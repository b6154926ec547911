"""One error family: the CLI turns any of these into one clear line and a non-zero exit."""

from __future__ import annotations


class HashbenchError(Exception):
    """Base of every error hashbench reports to a user."""

    exit_code = 1


class InputError(HashbenchError):
    """Bad user input: a malformed header, an impossible range, an unknown name."""

    exit_code = 2


class BackendUnavailable(HashbenchError):
    """A backend was asked for but cannot run on this machine."""

    exit_code = 2
