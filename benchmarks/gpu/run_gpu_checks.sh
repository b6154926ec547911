#!/usr/bin/env bash
# Every GPU acceptance check of issues 3 and 4 in one call, for a lease of a few minutes on an H100/H200.
#
# Before (here, with a package index):  PY312=/path/to/python3.12 benchmarks/gpu/prepare.sh
#                                       (fills .whl/ and .gpu-data/, both ignored by .gitignore)
# Device tool call:  command  "bash benchmarks/gpu/run_gpu_checks.sh"
#                    carry    [".whl", ".gpu-data"]      timeout_s 600
# After:             tar xzf <files_at>/gpu-results.tar.gz -C benchmarks/results/gpu-<name>-<date>/
#                    python3 benchmarks/gpu/summarize.py benchmarks/results/gpu-<name>-<date>/
#
# Each step runs under its own time limit and the whole stays under HB_BUDGET_S; results are packed into
# $OUT/gpu-results.tar.gz after every step, so a call cut short still brings back what finished.
# HB_DRY_RUN=cpu runs the same steps on the CPU (cython for cuda, cpu for cuda:0) with the current environment:
# a check of this script, not of a GPU.
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/hb-gpu-out}
W=${HB_WORK:-/tmp/hb-gpu}
BUDGET=${HB_BUDGET_S:-540}
DRY=${HB_DRY_RUN:-}
START=$SECONDS
rm -rf "$W" && mkdir -p "$W" "$OUT"
export PYTHONUNBUFFERED=1 HASHBENCH_CACHE_DIR="$W/cache" HASHBENCH_DB="$W/history.sqlite"
[ -d .gpu-data ] && export HASHBENCH_SHARED_DATA="$PWD/.gpu-data"
PY=${PY:-python3}

# Written aside and renamed: a call cut short while packing still leaves the previous step's whole archive. (tar's
# status 1 only says a file changed while it was read; the archive is whole.)
pack() {
  tar czf "$OUT/gpu-results.part" -C "$W" --exclude cache . 2>/dev/null
  (($? <= 1)) && mv -f "$OUT/gpu-results.part" "$OUT/gpu-results.tar.gz"
}

step() {  # step NAME LIMIT_S COMMAND...: stdout to NAME.json/.txt, stderr to NAME.err
  local name=$1 limit=$2; shift 2
  local left=$((BUDGET - (SECONDS - START)))
  if ((left < 15)); then
    echo "$name skipped: budget spent" | tee -a "$W/steps.txt"; return
  fi
  ((limit > left)) && limit=$left
  echo "== $name (limit ${limit}s)"
  local t0=$SECONDS
  timeout -k 10 "$limit" "$@" >"$W/$name.out" 2>"$W/$name.err"
  local rc=$?
  echo "$name rc=$rc $((SECONDS - t0))s" | tee -a "$W/steps.txt"
  tail -n 3 "$W/$name.err"
  pack
}

if [ -z "$DRY" ]; then
  BACKEND=cuda; DEVICE=cuda:0; LLM=llama-8b; BENCH_S=10; CHECK_S=60; PROBE_S=5
  # What the image lacks travels as wheels: hashbench (built for cp312), the results extra, and cuda-core /
  # cuda-bindings only where the image's are older than what CI tests.
  wheels=$("$PY" - <<'PY'
import glob
from importlib.metadata import PackageNotFoundError, version

def have(name, at_least):
    try:
        got = tuple(int(p) for p in version(name).split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return got >= at_least

picked = []
for path in sorted(glob.glob(".whl/*.whl")):
    name = path.split("/")[-1].split("-")[0].lower().replace("_", "-")
    if name in ("cuda-core", "cuda-bindings", "cuda-pathfinder") and have("cuda-core", (1, 2)) \
            and have("cuda-bindings", (13, 0)):
        continue
    picked.append(path)
print(" ".join(picked))
PY
)
  echo "installing: ${wheels:-nothing carried (.whl/ missing: run benchmarks/gpu/prepare.sh first)}"
  if [ -n "$wheels" ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site $wheels \
      >"$W/install.txt" 2>&1 || { cat "$W/install.txt"; pack; exit 1; }
  fi
  # The checkout's own Python code first, whatever commit the carried wheel was built at; from the wheel, its
  # metadata, and its compiled C extension where it was built from the checkout's very sources (NATIVE_SOURCES).
  export PYTHONPATH="$PWD/src:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
  built=$(cat .whl/NATIVE_SOURCES 2>/dev/null); here=$("$PY" benchmarks/gpu/native_hash.py .)
  if [ -n "$built" ] && [ "$built" = "$here" ]; then
    cp /tmp/site/hashbench/_cpu.*.so src/hashbench/ 2>>"$W/install.txt"
  else
    echo "carried C extension built from other sources (${built:-unknown}, checkout $here)" | tee -a "$W/install.txt"
  fi
  # PyCUDA compiles kernels with the toolkit's nvcc (the pycuda steps and pytest -m gpu's pycuda cases).
  [ -x /usr/local/cuda/bin/nvcc ] && export PATH="$PATH:/usr/local/cuda/bin"
  # No usable carried extension: build it in place (the image has Cython, setuptools and a compiler). Failing that,
  # the cython backend says it was not built and every GPU step still runs.
  if ! "$PY" -c "import hashbench._cpu" 2>>"$W/install.txt"; then
    echo "building the C extension from the checkout" | tee -a "$W/install.txt"
    "$PY" setup.py -q build_ext --inplace >>"$W/install.txt" 2>&1 \
      || echo "C extension not built: the cython backend is left out" | tee -a "$W/install.txt"
  fi
  "$PY" -c "import hashbench; print('hashbench from', hashbench.__file__)" | tee -a "$W/install.txt"
  nvidia-smi -q >"$W/nvidia-smi-q.txt" 2>&1
  nvidia-smi --query-gpu=name,uuid,driver_version,pci.bus_id,clocks.max.sm,clocks.max.mem,power.limit,power.max_limit,memory.total,compute_cap \
    --format=csv >"$W/gpu-identity.csv" 2>&1
else
  # Short windows and the tiny preset: this checks the script, it measures nothing worth keeping.
  BACKEND=cython; DEVICE=cpu; LLM=cpu-tiny; BENCH_S=1; CHECK_S=1; PROBE_S=0.2
fi
"$PY" - >"$W/versions.txt" 2>&1 <<'PY'
import platform
from importlib.metadata import PackageNotFoundError, version
print("python", platform.python_version())
for name in ("hashbench", "torch", "cuda-core", "cuda-bindings", "nvidia-cuda-nvrtc", "nvidia-ml-py", "numba", "numpy",
             "pycuda"):
    try:
        print(name, version(name))
    except PackageNotFoundError:
        print(name, "not installed")
PY
cat "$W/versions.txt"
HB=("$PY" -m hashbench)

step backends 60 "${HB[@]}" backends --json
step verify 150 "${HB[@]}" verify --backend "$BACKEND" --json \
  $( [ -d .gpu-data ] && printf -- '--headers %s ' .gpu-data/*.csv )
step bench 90 "${HB[@]}" bench --backend "$BACKEND" --seconds "$BENCH_S" --json
step energy-check 110 "${HB[@]}" energy-check --backend "$BACKEND" --seconds "$CHECK_S" --json
# The issues' goals first (decode at batch 1 and 64, then every probe: a probe cut short by the limit prints what
# finished), then the GPU tests, then what only informs: eager decode, the kernel's build switches, PyCUDA.
step decode-b1 120 "${HB[@]}" probe --device "$DEVICE" --probe llm-decode --preset "$LLM" --batch 1 --seconds "$PROBE_S" --json
step decode-b64 120 "${HB[@]}" probe --device "$DEVICE" --probe llm-decode --preset "$LLM" --batch 64 --seconds "$PROBE_S" --json
step probes 240 "${HB[@]}" probe --device "$DEVICE" --seconds "$PROBE_S" $( [ -n "$DRY" ] && echo --quick ) --json
# One test module that cannot be collected must not cancel the others.
step pytest-gpu 150 "$PY" -m pytest -q -m gpu -p no:cacheprovider --continue-on-collection-errors tests
# What graph replay is worth: the batch-1 decode again, one kernel launch at a time.
step decode-b1-eager 120 "${HB[@]}" probe --device "$DEVICE" --probe llm-decode --preset "$LLM" --batch 1 \
  --seconds "$PROBE_S" --no-cuda-graphs --json
# The kernel's build switches (kernels/sha256d.cu): which pipe the shifts and rotations go to, measured, not guessed.
if [ -z "$DRY" ]; then
  HASHBENCH_CUDA_DEFINES=HB_ROT_ON_FMA=1 step bench-rot-on-fma 45 "${HB[@]}" bench --backend cuda --seconds 5 \
    --energy none --json
  HASHBENCH_CUDA_DEFINES=HB_SHR_ON_FMA=0 step bench-shr-on-int 45 "${HB[@]}" bench --backend cuda --seconds 5 \
    --energy none --json
fi
# The same kernel through PyCUDA (the wheel build_pycuda.sh made, carried in .whl/), where it imports: last, so a slow
# start cuts these and not the cuda figures.
if [ -z "$DRY" ] && "$PY" -c "import pycuda.driver" 2>>"$W/install.txt"; then
  step verify-pycuda 60 "${HB[@]}" verify --backend pycuda --json $( [ -d .gpu-data ] && printf -- '--headers %s ' .gpu-data/*.csv )
  step bench-pycuda 40 "${HB[@]}" bench --backend pycuda --seconds 5 --energy none --json
fi
"$PY" benchmarks/gpu/summarize.py "$W" | tee "$W/summary.txt"
pack
echo "total $((SECONDS - START))s; results in $OUT/gpu-results.tar.gz"
