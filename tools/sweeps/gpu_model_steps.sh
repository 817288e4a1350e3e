#!/usr/bin/env bash
# GPU sweep: DC-VAE and AnomalyDAE, one training step and one inference pass, ours against PyTorch eager and
# torch.compile on the same shapes and data, as ratios (their time / ours; > 1: ours faster):
#   DC-VAE      bench_dcvae's dcvae_train|dcvae_infer/{demo,original}/cuda against tools/reference/dcvae_bench.py
#               --device cuda [--compile] (the same network, settings files and batch; compile wraps the forward)
#   AnomalyDAE  bench_anomalydae's anomalydae_epoch|anomalydae_infer/cuda (AD_BENCH_CUDA_NODES = NODES) against
#               tools/reference/anomalydae_scaling.py --device cuda --infer [--compile] (dense PyGOD-style: the
#               N x N adjacency and sigmoid(Z Z^T) formed in full, so NODES stays where 8 N x N f32 tensors fit)
# Prints the table and writes $OUT/gpu_model_steps.md and .png with the raw JSON beside them.
#   bash tools/sweeps/gpu_model_steps.sh BUILD_DIR OUT_DIR
# Environment: MIN_TIME (seconds per DC-VAE measurement, default 0.5), NODES (default "1000 3000 10000 30000"),
# EPOCHS (timed AnomalyDAE epochs / passes per size on the torch side, default 10), NO_COMPILE=1 (skip the
# torch.compile column: its compiles take most of this sweep's time). Without a usable GPU: one line, exit 0.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/gpu_sweep_lib.bash"
gpu_sweep_setup gpu_model_steps bench_dcvae "dcvae_train/demo/cuda" "$@"
ADAE="$BUILD/experiments/bench_anomalydae"
[ -x "$ADAE" ] || { echo "gpu_model_steps: $ADAE not found (build the bench_anomalydae target)"; exit 1; }
min_time=${MIN_TIME:-0.5}
nodes=${NODES:-"1000 3000 10000 30000"}
epochs=${EPOCHS:-10}
rc=0
echo "== ours: bench_dcvae /cuda, min_time ${min_time} s"
"$BENCH" --benchmark_filter='/cuda$' --benchmark_min_time="$min_time" --benchmark_out="$OUT/bench_dcvae_cuda.json" \
  --benchmark_out_format=json > "$OUT/bench_dcvae_cuda.txt" 2>&1 || { echo "gpu_model_steps: bench_dcvae failed"; rc=1; }
echo "== ours: bench_anomalydae /cuda, nodes $nodes"
AD_BENCH_CUDA_NODES=$(echo $nodes | tr ' ' ,) "$ADAE" --benchmark_filter='/cuda' \
  --benchmark_out="$OUT/bench_anomalydae_cuda.json" --benchmark_out_format=json > "$OUT/bench_anomalydae_cuda.txt" 2>&1 ||
  { echo "gpu_model_steps: bench_anomalydae failed"; rc=1; }
theirs="$OUT/model_steps_torch.jsonl"
: > "$theirs"
table() { "$PY" "$here/gpu_model_steps.py" "$OUT/bench_dcvae_cuda.json" "$OUT/bench_anomalydae_cuda.json" "$theirs" \
  "$OUT/gpu_model_steps"; }
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  modes=(eager)
  [ "${NO_COMPILE:-0}" = 1 ] || modes+=(compile)
  for mode in "${modes[@]}"; do
    flag=(); [ "$mode" = compile ] && flag=(--compile)
    echo "== torch $mode: dcvae_bench.py, anomalydae_scaling.py"
    "$PY" "$here/../reference/dcvae_bench.py" --device cuda --min-time "$min_time" "${flag[@]}" >> "$theirs" ||
      echo "gpu_model_steps: dcvae_bench.py ($mode) failed; its column is n/a"
    # shellcheck disable=SC2086
    "$PY" "$here/../reference/anomalydae_scaling.py" --device cuda --nodes $nodes --epochs "$epochs" --infer \
      "${flag[@]}" >> "$theirs" || echo "gpu_model_steps: anomalydae_scaling.py ($mode) failed; its column is n/a"
    # The table after each mode: a caller's timeout during torch.compile's compiles leaves the eager one.
    [ "$mode" = eager ] && table > /dev/null
  done
else
  echo "gpu_model_steps: PyTorch with CUDA not importable by $PY; the torch columns are n/a"
fi
table || rc=1
exit $rc
