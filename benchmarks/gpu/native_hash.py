"""The hash of the sources the C extension is built from (kernels/*.c *.h, src/hashbench/_cpu.pyx, setup.py).

prepare.sh records it beside the hashbench wheel it builds; run_gpu_checks.sh compares it with the checkout's, and
takes the wheel's compiled extension only where the two match. Everything else runs from the checkout itself, so a
wheel built a few commits ago never puts old Python code behind the figures."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path


def native_hash(root: Path) -> str:
    paths = sorted([*(root / "kernels").glob("*.[ch]"), root / "src" / "hashbench" / "_cpu.pyx", root / "setup.py"])
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    print(native_hash(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
