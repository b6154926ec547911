"""A copy of the source tree that setup.py can build in place, away from the checkout's own build."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def source_tree(where: Path) -> Path:
    """setup.py, pyproject.toml, MANIFEST.in, README.md, LICENSE, kernels/ and src/ without any build output."""
    tree = where / "tree"
    tree.mkdir()
    for name in ("setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "LICENSE"):
        shutil.copy(REPO / name, tree / name)
    shutil.copytree(REPO / "kernels", tree / "kernels")
    shutil.copytree(REPO / "src", tree / "src", ignore=shutil.ignore_patterns("*.so", "*.pyd", "_cpu.c",
                                                                              "__pycache__", "*.egg-info"))
    return tree
