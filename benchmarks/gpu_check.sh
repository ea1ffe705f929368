#!/usr/bin/env bash
# Everything a GPU machine can measure for gpu-envkit, in one call, into one folder:
#   benchmarks/gpu_check.sh [OUT_DIR]        (default: $OUT if set, else ./gpu-check-out)
# Runs from the repository root, with the python3 that holds a CUDA torch (PYTHON overrides):
#   1. nvidia-smi, as the machine reports itself
#   2. the GPU tests (pytest -m gpu), JUnit XML
#   3. envcheck --json on this machine (the report, and the human report in the log)
#   3b. envcheck perf --json: GEMM, memory, host link and peers against the GPU's row of
#       envcheck/data/perf.toml (within its default 60 s)
#   4. workloads digits --device cuda --scales 1,10,100 (JSON and plot)
#   5. benchmarks/digits_speed.py --device cuda --scale 100 (fast path vs the seed's skorch)
# Each step runs under its own timeout and the next one runs whatever its exit code: log.txt
# holds every step's output and, at the end, one line per step with its exit code and seconds.
# A machine without a package gpu-envkit needs (skorch, the Docker SDK) takes wheels from
# ./.whl when that folder exists (pip download them where an index is reachable).
set -uo pipefail
cd "$(dirname "$0")/.."

out=${1:-${OUT:-gpu-check-out}}
mkdir -p "$out"
log="$out/log.txt"
: >"$log"
PY=${PYTHON:-python3}
site=$(mktemp -d /tmp/envkit-gpu-check.XXXXXX)
trap 'rm -rf "$site"' EXIT
if [ -d .whl ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$site" .whl/*.whl >>"$log" 2>&1
fi
# The checkout itself, not an installed copy: what is measured is this tree.
export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

summary=()
step() {  # step NAME SECONDS COMMAND...: run it, log it, remember its exit code and time
  local name=$1 limit=$2
  shift 2
  echo "===== $name: $*" >>"$log"
  local start=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  local code=$?
  summary+=("$name: exit $code in $((SECONDS - start)) s")
}

step nvidia-smi 60 nvidia-smi
step machine 60 "$PY" -c "import torch, platform; print(platform.node(), torch.__version__, \
torch.version.cuda, torch.backends.cudnn.version(), [torch.cuda.get_device_name(i) for i in \
range(torch.cuda.device_count())])"
step gpu-tests 600 "$PY" -m pytest -q -m gpu -p no:cacheprovider --junitxml="$out/gpu-tests.xml" tests
# envcheck's JSON on stdout; the human report goes to stderr, hence to the log.
echo "===== envcheck --json" >>"$log"
start=$SECONDS
timeout --kill-after=10 300 "$PY" -m envcheck --json >"$out/envcheck.json" 2>>"$log"
summary+=("envcheck: exit $? in $((SECONDS - start)) s")
echo "===== envcheck perf --json" >>"$log"
start=$SECONDS
timeout --kill-after=10 300 "$PY" -m envcheck perf --json >"$out/envcheck-perf.json" 2>>"$log"
summary+=("envcheck perf: exit $? in $((SECONDS - start)) s")
step digits 900 "$PY" -m workloads digits --device cuda --scales 1,10,100 \
  --json "$out/digits.json" --plot "$out/digits.png"
step digits-speed 900 "$PY" benchmarks/digits_speed.py --device cuda --scale 100 \
  --json "$out/digits-speed.json"

{
  echo "===== summary"
  printf '%s\n' "${summary[@]}"
} | tee -a "$log"
