"""A user's file (a result, a run, a market snapshot, a site file): read with every failure one clear line;
JSON written so that no reader or interruption ever sees half of one."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path

from .errors import InputError


def read_text(path: Path | str, what: str) -> str:
    """The file's text; `what` names it in the error ("result file", "site file", ...)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} {str(path)!r} not found") from None
    except UnicodeDecodeError as exc:  # a picture, an archive, a UTF-16 export: say so, not the codec's words
        raise InputError(f"{what} {str(path)!r} is not UTF-8 text (byte {exc.start} is "
                         f"0x{exc.object[exc.start]:02x})") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {str(path)!r}: {exc.strerror or exc}") from None


def read_json(path: Path | str, what: str) -> object:
    """The parsed file; `what` names it in the error ("result file", "market file", ...)."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except ValueError as exc:  # what json refuses past the syntax: an integer of more than 4300 digits
        raise InputError(f"{what} {str(path)!r} is not valid JSON: {exc}") from None


_UMASK = os.umask(0o022)  # read once, at import (setting it is the only way to read it), and put back at once
os.umask(_UMASK)


def write_atomic(path: Path | str, text: str, what: str) -> None:
    """Readers (and a Ctrl-C) see the previous complete file or the new one, never half of one; the temporary file
    goes too when the write fails or is interrupted. A symlink's target is rewritten (the link stays), the file keeps
    its permissions, two writers never share a temporary file, and the data is on disk before it replaces the old.
    `what` names the file in the error."""
    path = Path(path)
    target = path.resolve() if path.is_symlink() else path
    tmp = None
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        tmp = Path(name)
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:  # a new file: what open() would have made under this umask
            mode = 0o666 & ~_UMASK
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {what} {str(path)!r}: {exc.strerror or exc}") from None
        raise
