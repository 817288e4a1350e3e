#!/usr/bin/env bash
# GPU sweep: the largest synthetic graph AnomalyDAE trains on (one full-batch epoch of bench_anomalydae at the
# official dimensions), growing N until a size fails or MAX_NODES (default 4e6) is reached; each size in its
# own process (AD_BENCH_CUDA_NODES), so an out-of-memory failure ends only that size. Target: 1e6 nodes.
# Prints the table and writes $OUT/gpu_anomalydae_largest.md (and the raw JSON lines), with the dense N x N
# adjacency a PyGOD-style run would form beside each size.
#   bash tools/sweeps/gpu_anomalydae_largest.sh BUILD_DIR OUT_DIR
# Environment: MAX_NODES, SIZE_TIMEOUT_S (per size, default 900). Without a usable GPU: one line, exit 0.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/gpu_sweep_lib.bash"
gpu_sweep_setup gpu_anomalydae_largest bench_anomalydae "anomalydae_epoch/cuda" "$@"
max=${MAX_NODES:-4000000}
results="$OUT/gpu_anomalydae_largest.jsonl"
: > "$results"
for n in 100000 300000 1000000 2000000 4000000 8000000 16000000; do
  [ "$n" -le "$max" ] || break
  json="$OUT/bench_anomalydae_$n.json"
  AD_BENCH_CUDA_NODES=$n timeout "${SIZE_TIMEOUT_S:-900}" "$BENCH" --benchmark_filter='anomalydae_epoch/cuda' \
    --benchmark_out="$json" --benchmark_out_format=json > "$OUT/bench_anomalydae_$n.txt" 2>&1
  rc=$?
  "$PY" - "$n" "$rc" "$json" "$OUT/bench_anomalydae_$n.txt" >> "$results" <<'PYEOF'
import json, sys
n, rc, path, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rec = {"nodes": n, "status": "ok"}
try:
    b = [x for x in json.load(open(path))["benchmarks"] if not x.get("error_occurred")][0]
    rec.update(epoch_s=b["real_time"] / 1000.0, peak_MiB=b["peak_MiB"], edges=int(b["edges"]))
except Exception:
    tail = [l.strip() for l in open(log, errors="replace") if l.strip()][-1:] or ["no output"]
    rec["status"] = ("timed out" if rc == 124 else "failed: " + tail[0][:100]).replace("|", "/")
print(json.dumps(rec))
PYEOF
  tail -1 "$results"
  grep -q '"status": "ok"' <(tail -1 "$results") || break
done
"$PY" "$here/gpu_table.py" largest "$results" "$OUT/gpu_anomalydae_largest"
