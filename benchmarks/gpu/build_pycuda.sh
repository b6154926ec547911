#!/usr/bin/env bash
# Build a PyCUDA wheel for the GPU machine's Python 3.12 HERE, where there is a CUDA toolkit's headers but no NVIDIA
# driver, so that the `pycuda` backend can be measured beside `cuda` in the same GPU call (the GPU machine reaches no
# package index and building there would spend its minutes). Called by prepare.sh; writes into .whl/:
#   pycuda (cp312, built from the sdist), and what it needs that the GPU image lacks: pytools, siphash24, mako.
#
# PyCUDA links against the driver library, libcuda.so.1, which only a machine with the driver has. The link is made
# against a stand-in generated from the toolkit's own cuda.h: every driver entry point, each returning
# CUDA_ERROR_NO_DEVICE. The wheel records libcuda.so.1 as needed and binds to the real driver where it runs; the
# stand-in is not shipped.
#   PY312=/path/to/python3.12 CUDA_ROOT=/usr/local/cuda benchmarks/gpu/build_pycuda.sh [DEST]
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
DEST=$(realpath -m "${1:-.whl}")
PY312=${PY312:-python3.12}
CUDA_ROOT=${CUDA_ROOT:-/usr/local/cuda}
PYCUDA_VERSION=2026.1
[ -f "$CUDA_ROOT/include/cuda.h" ] || { echo "build_pycuda: no $CUDA_ROOT/include/cuda.h (set CUDA_ROOT)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$DEST" "$work/stub"

# The stand-in driver: every CUresult-returning function the headers declare, under the versioned names the macros
# in cuda.h map them to (cuCtxCreate -> cuCtxCreate_v4), which are the names PyCUDA's objects refer to.
printf '#include <cuda.h>\n#include <cudaProfiler.h>\n' |
  gcc -E -P -I"$CUDA_ROOT/include" -x c - | tr '\n' ' ' |
  grep -oE 'CUresult +cu[A-Za-z0-9_]+ *\(' | sed -E 's/^CUresult +//; s/ *\($//' | sort -u >"$work/stub/names.txt"
echo "build_pycuda: stand-in libcuda with $(wc -l <"$work/stub/names.txt") entry points"
sed -E 's/.*/int &(void) { return 100; }/' "$work/stub/names.txt" >"$work/stub/stub.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$work/stub/libcuda.so" "$work/stub/stub.c"

"$PY312" -m venv "$work/venv"
"$work/venv/bin/pip" install -q numpy setuptools wheel
"$work/venv/bin/pip" download -q --no-deps --no-binary :all: --no-build-isolation -d "$work" "pycuda==$PYCUDA_VERSION"
tar xzf "$work/pycuda-$PYCUDA_VERSION.tar.gz" -C "$work"
(
  cd "$work/pycuda-$PYCUDA_VERSION"
  "$work/venv/bin/python" configure.py --cuda-root="$CUDA_ROOT" --cudadrv-lib-dir="$work/stub" >/dev/null
  # CURAND is a toolkit library the GPU image may not match; hashbench does not use pycuda.curandom.
  sed -i 's/^CUDA_ENABLE_CURAND = True/CUDA_ENABLE_CURAND = False/' siteconf.py
  "$work/venv/bin/pip" wheel -q --no-deps --no-build-isolation -w "$work/dist" .
)
wheel=$(ls "$work"/dist/pycuda-*.whl)
# A wheel whose extension does not name libcuda.so.1 would fail to load on the GPU machine with "undefined symbol".
mkdir -p "$work/check" && (cd "$work/check" && "$work/venv/bin/python" -m zipfile -e "$wheel" .)
readelf -d "$work"/check/pycuda/_driver*.so | grep -q 'NEEDED.*libcuda\.so\.1' ||
  { echo "build_pycuda: the built extension does not link libcuda.so.1" >&2; exit 1; }
cp "$wheel" "$DEST/"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$DEST" \
  pytools==2026.1.1 siphash24==1.9 mako==1.4.3
echo "build_pycuda: $(basename "$wheel") and its dependencies in $DEST"
