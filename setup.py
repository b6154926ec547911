"""Builds hashbench's one native extension: the C SHA-256d kernels in kernels/ behind Cython.

No -march flag: each SIMD path carries its own target attribute and the fastest one the CPU
and OS support is picked at run time, so a build on one machine runs on any x86_64."""

import sys
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

KERNELS = Path("kernels")
C_SOURCES = sorted(str(p) for p in KERNELS.glob("*.c"))

if sys.platform == "win32":
    compile_args = ["/O2"]
else:
    compile_args = ["-O3", "-fno-strict-aliasing", "-Wall", "-Wno-unused-function"]

extension = Extension(
    "hashbench._cpu",
    sources=["src/hashbench/_cpu.pyx", *C_SOURCES],
    include_dirs=[str(KERNELS)],
    depends=[str(p) for p in KERNELS.glob("*.h")],
    extra_compile_args=compile_args,
)

setup(ext_modules=cythonize([extension], compiler_directives={"language_level": 3}))
