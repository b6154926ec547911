#!/usr/bin/env bash
# Run HERE (a machine with a package index), before a GPU session. Fills two folders the repository's .gitignore
# ignores: .gpu-data/ (the real headers of ../shared/data, which does not travel) and .whl/ (what the GPU
# machine's image lacks, for its Python 3.12). The GPU machine reaches no index,
# so these travel with the working tree (`carry: [".whl"]`, ~35 MB of the 64 MiB limit).
#   - hashbench itself, built here as a cp312 wheel (the C extension compiled once, no compiler time on the GPU; its
#     Python code is not used there: the checkout's is), with the hash of the sources the extension came from;
#   - cuda-core / cuda-bindings / cuda-pathfinder at the versions CI tests (installed there only if the image's are
#     older or missing: see run_gpu_checks.sh);
#   - SQLAlchemy, platformdirs, plotly (the results extra: history database and HTML report);
#   - PyCUDA (cp312, build_pycuda.sh) with pytools, siphash24 and mako, for the pycuda backend.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
rm -rf .gpu-data && mkdir -p .gpu-data && cp ../shared/data/*.csv .gpu-data/
rm -rf .whl && mkdir -p .whl
PY312=${PY312:-python3.12}
HASHBENCH_REQUIRE_EXTENSION=1 "$PY312" -m pip wheel -q --no-deps -w .whl .  # a wheel without the C kernels must fail here
# What the wheel's C extension was built from: the GPU machine takes the extension only if its checkout's is the same
# (its Python code always comes from the checkout itself).
python3 benchmarks/gpu/native_hash.py . > .whl/NATIVE_SOURCES
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  cuda-core==1.2.2 cuda-bindings==13.5.0 cuda-pathfinder==1.9.1 SQLAlchemy==2.1.9 platformdirs==4.14.9 plotly==7.1.0
# PyCUDA for the pycuda backend's steps, where this machine has a CUDA toolkit's headers; without it those steps
# are left out there, nothing else.
if [ -f "${CUDA_ROOT:-/usr/local/cuda}/include/cuda.h" ]; then
  PY312="$PY312" benchmarks/gpu/build_pycuda.sh .whl || echo "prepare: no PyCUDA wheel (build_pycuda.sh failed)"
else
  echo "prepare: no CUDA toolkit headers here: no PyCUDA wheel, the pycuda steps will not run"
fi
ls -la .whl .gpu-data
du -sh .whl .gpu-data
