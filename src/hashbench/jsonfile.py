"""Reading a user's file (a result, a run, a market snapshot, a site file): every failure is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import InputError


def read_text(path: Path | str, what: str) -> str:
    """The file's text; `what` names it in the error ("result file", "site file", ...)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} {str(path)!r}: {exc}") from None


def read_json(path: Path | str, what: str) -> object:
    """The parsed file; `what` names it in the error ("result file", "market file", ...)."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
