# Sourced by the tools/sweeps/gpu_*.sh sweeps: usage, the build's benchmark binary, and the GPU check. Without
# a usable GPU a sweep prints one line saying so and exits 0 (nothing measured, nothing written).
#   gpu_sweep_setup NAME BENCH_NAME GPU_PATTERN "$@"   -> sets BUILD, OUT, BENCH, PY
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
  PY=/usr/bin/python3
  [ -x "$PY" ] || PY=$(command -v python3)
  mkdir -p "$OUT"
}
