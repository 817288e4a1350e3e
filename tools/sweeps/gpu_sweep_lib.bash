# Sourced by the tools/sweeps/gpu_*.sh sweeps: usage, the build's benchmark binary, and the GPU check. Without
# a usable GPU a sweep prints one line saying so and exits 0 (nothing measured, nothing written).
#   gpu_sweep_setup NAME BENCH_NAME GPU_PATTERN "$@"   -> sets BUILD, OUT, BENCH, PY
# Google Benchmark 1.7 (Debian 12's, carried to the GPU machine by tools/device_deps.sh) takes
# --benchmark_min_time as a bare number of seconds; "0.1s" is 1.8's form and 1.7 rejects it.
gpu_sweep_setup() {
  local name=$1 bench_name=$2 pattern=$3
  shift 3
  BUILD=${1:?usage: $name.sh BUILD_DIR OUT_DIR}
  OUT=${2:?usage: $name.sh BUILD_DIR OUT_DIR}
  BENCH="$BUILD/experiments/$bench_name"
  [ -x "$BENCH" ] || { echo "$name: $BENCH not found (build the $bench_name target)"; exit 1; }
  if ! "$BENCH" --benchmark_list_tests 2>/dev/null | grep -q -- "$pattern"; then
    local why
    if command -v nvidia-smi >/dev/null; then why="nvidia-smi: $(nvidia-smi -L 2>&1 | head -1)"; else why="no nvidia-smi"; fi
    echo "$name: skipped: no usable GPU ($bench_name registers no GPU benchmarks; $why); nothing measured"
    exit 0
  fi
  # AD_PYTHON: the Python with torch and matplotlib (tools/gpu_check.sh sets it: on the GPU image that is
  # python3 on PATH, /opt/torch/.venv, while /usr/bin/python3 may have neither).
  PY=${AD_PYTHON:-/usr/bin/python3}
  [ -x "$PY" ] || PY=$(command -v python3)
  mkdir -p "$OUT"
}
