#!/usr/bin/env bash
# AnomalyDAE scaling: time per full-batch training epoch and peak memory on synthetic graphs of growing N,
# ours ($BUILD/experiments/bench_anomalydae: tiled structure loss, memory O(N*h + E)) next to a dense PyTorch
# AnomalyDAE run the way PyGOD runs it (tools/reference/anomalydae_scaling.py: N x N adjacency and
# sigmoid(Z Z^T) formed in full). Prints a markdown table (ratio = torch time / our time; > 1: ours faster)
# and writes it to $OUT/anomalydae_scaling.md with the raw results beside it.
#   bash tools/sweeps/anomalydae_scaling.sh BUILD_DIR OUT_DIR
# Environment: THREADS (CPU threads for both sides; default all), TORCH_MAX_GIB (dense-size cap for the
# torch CPU side, default 16: larger sizes are recorded as "oom-predicted" with the bytes they need).
set -uo pipefail
BUILD=${1:?usage: anomalydae_scaling.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: anomalydae_scaling.sh BUILD_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
bench="$BUILD/experiments/bench_anomalydae"
[ -x "$bench" ] || { echo "anomalydae_scaling: $bench not found (build the bench_anomalydae target)"; exit 1; }
threads=${THREADS:-}
env_threads=()
targs=()
if [ -n "$threads" ]; then env_threads=(env "OMP_NUM_THREADS=$threads" "OPENBLAS_NUM_THREADS=$threads"); targs=(--threads "$threads"); fi
"${env_threads[@]}" "$bench" --benchmark_filter=anomalydae_epoch --benchmark_format=json > "$OUT/bench_anomalydae.json" || { echo "anomalydae_scaling: bench failed"; exit 1; }
: > "$OUT/anomalydae_torch.jsonl"
if "$PY" -c 'import torch' 2>/dev/null; then
  "$PY" "$here/../reference/anomalydae_scaling.py" --nodes 1000 3000 10000 30000 100000 --epochs 2 \
      --max-gib "${TORCH_MAX_GIB:-16}" "${targs[@]}" >> "$OUT/anomalydae_torch.jsonl" || echo "torch cpu side failed"
  if "$PY" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    "$PY" "$here/../reference/anomalydae_scaling.py" --device cuda --nodes 1000 10000 30000 100000 1000000 --epochs 2 \
        >> "$OUT/anomalydae_torch.jsonl" || echo "torch cuda side failed"
  fi
fi
"$PY" - "$OUT/bench_anomalydae.json" "$OUT/anomalydae_torch.jsonl" "$OUT/anomalydae_scaling.md" <<'PYEOF'
import json, sys
ours, theirs, md = sys.argv[1:4]
rows = {}
for b in json.load(open(ours))["benchmarks"]:
    if b.get("error_occurred"):
        continue
    dev = b["name"].split("/")[1]
    n = int(b["nodes"])
    rows.setdefault((dev, n), {})["ours"] = (b["real_time"] / 1000.0, b["peak_MiB"])
for line in open(theirs):
    if line.startswith("{"):
        r = json.loads(line)
        rows.setdefault((r["device"], r["nodes"]), {})["torch"] = r
out = ["| device | nodes | ours s/epoch | ours peak MiB | dense torch s/epoch | torch peak MiB | ratio |", "|---|---|---|---|---|---|---|"]
for (dev, n) in sorted(rows):
    r = rows[(dev, n)]
    o = r.get("ours")
    t = r.get("torch")
    os_ = f"{o[0]:.3f}" if o else "not run"
    om = f"{o[1]:.0f}" if o else ""
    if t is None:
        ts, tm, ratio = "not run", "", ""
    elif t["status"] != "ok":
        ts, tm, ratio = t["status"], f"needs {t['needed_bytes'] / 2**30:.0f} GiB", ""
    else:
        ts, tm = f"{t['seconds_per_epoch']:.3f}", f"{t['peak_bytes'] / 2**20:.0f}"
        ratio = f"{t['seconds_per_epoch'] / o[0]:.2f}" if o else ""
    out.append(f"| {dev} | {n:,} | {os_} | {om} | {ts} | {tm} | {ratio} |")
text = "\n".join(out) + "\n(torch peak on the CPU is the process's max RSS; ours is tensor bytes.)\n"
open(md, "w").write(text)
print(text)
PYEOF
