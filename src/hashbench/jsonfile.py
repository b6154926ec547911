"""Reading a user's JSON file (a result, a run, a market snapshot): every failure is one clear line."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import InputError


def read_json(path: Path | str, what: str) -> object:
    """The parsed file; `what` names it in the error ("result file", "market file", ...)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{what} {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} {str(path)!r}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except ValueError as exc:  # what json refuses past the syntax: an integer of more than 4300 digits
        raise InputError(f"{what} {str(path)!r} is not valid JSON: {exc}") from None
