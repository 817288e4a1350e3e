#!/usr/bin/env bash
# A detector's training (and, where benchmarked, inference) speed, ours vs PyTorch, as ratios: runs
# $BUILD/experiments/bench_<model> (Google Benchmark, JSON; benchmark names "what/shape/device") and
# tools/reference/<model>_bench.py (the same network in eager PyTorch, same shapes; one JSON line per
# measurement with what, shape, device, seconds, cpu_seconds) one after the other, and prints a markdown table
# (ms, ratio = torch time / ours: > 1 means ours is faster), also written to $OUT/<model>_vs_torch.md with the
# raw results next to it. What each model's benchmark times is said in its bench_<model>.cpp and its README.
#   bash tools/sweeps/model_vs_torch.sh MODEL BUILD_DIR OUT_DIR      # MODEL: glead, deepsphere, muad
# Environment: MIN_TIME (seconds per measurement, default 2); THREADS (CPU threads for both sides; default 1,
# because a shared machine's oversubscribed OpenMP threads make either side's timing meaningless).
# DC-VAE has its own script (dcvae_vs_torch.sh: windows/s per configuration).
set -uo pipefail
usage="usage: model_vs_torch.sh MODEL BUILD_DIR OUT_DIR"
MODEL=${1:?$usage}
BUILD=${2:?$usage}
OUT=${3:?$usage}
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
bench="$BUILD/experiments/bench_$MODEL"
ref="$here/../reference/${MODEL}_bench.py"
[ -x "$bench" ] || { echo "model_vs_torch: $bench not found (build the bench_$MODEL target)"; exit 1; }
[ -f "$ref" ] || { echo "model_vs_torch: no PyTorch reference $ref"; exit 1; }
mkdir -p "$OUT"
min_time=${MIN_TIME:-2}
threads=${THREADS:-1}
ours="$OUT/bench_$MODEL.json"
theirs="$OUT/${MODEL}_torch.jsonl"
echo "== ours: $bench (min_time ${min_time}s, threads $threads)"
env OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" "$bench" --benchmark_format=json \
  --benchmark_min_time="$min_time" > "$ours" || { echo "model_vs_torch: bench_$MODEL failed"; exit 1; }
echo "== torch: $PY $ref"
env OMP_NUM_THREADS="$threads" "$PY" "$ref" --min-time "$min_time" --threads "$threads" > "$theirs" \
  || { echo "model_vs_torch: the PyTorch script failed"; exit 1; }
"$PY" "$here/vs_torch_table.py" "$MODEL" "$ours" "$theirs" "$OUT/${MODEL}_vs_torch.md" "$threads"
