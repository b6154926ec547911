"""Builds hashbench's one native extension: the C SHA-256d kernels in kernels/ behind Cython.

No -march flag: each SIMD path carries its own target attribute and the fastest one the CPU
and OS support is picked at run time, so a build on one machine runs on any x86_64.

The extension is optional: where it cannot be compiled (no C compiler, a compiler the kernels do not
support) the install still succeeds with a warning, the `cython` backend reports itself unavailable
with the reason, and everything else (python and numba backends, probes, yield, plan, results) works.
CI checks that it was built."""

import os
import sys
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

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
# HASHBENCH_REQUIRE_EXTENSION=1 makes a failed build fail (hashbench ab, which must never time a stale in-place
# build of an older tree, and CI).
REQUIRED = os.environ.get("HASHBENCH_REQUIRE_EXTENSION") == "1"
extensions = cythonize([extension], compiler_directives={"language_level": 3})
for ext in extensions:
    ext.optional = not REQUIRED  # cythonize builds new Extension objects and does not carry the flag over



class build_py_with_kernels(build_py):
    """Ships kernels/*.cu inside the package: an installed hashbench compiles them with NVRTC at run time."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "hashbench" / "kernels"
        self.mkpath(str(target))
        for source in sorted(KERNELS.glob("*.cu")):
            self.copy_file(str(source), str(target / source.name))


setup(
    ext_modules=extensions,
    cmdclass={"build_py": build_py_with_kernels},
)
