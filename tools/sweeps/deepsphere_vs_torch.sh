#!/usr/bin/env bash
# DeepSphere training speed, ours vs PyTorch, as ratios: one full-batch epoch (forward + loss + backward +
# Adam) of $BUILD/experiments/bench_deepsphere (Google Benchmark, JSON) and of tools/reference/
# deepsphere_bench.py (the same network in PyTorch), same shapes, run one after the other in this script.
# Prints a markdown table (ms per epoch, ratio = torch time / ours: > 1 means ours is faster) and writes it
# to $OUT/deepsphere_vs_torch.md with the raw results next to it.
#   bash tools/sweeps/deepsphere_vs_torch.sh BUILD_DIR OUT_DIR
# Environment: MIN_TIME (seconds per measurement, default 2); THREADS (CPU threads for both sides; default 1,
# because a shared machine's oversubscribed OpenMP threads make either side's timing meaningless).
set -uo pipefail
BUILD=${1:?usage: deepsphere_vs_torch.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: deepsphere_vs_torch.sh BUILD_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
PY=/usr/bin/python3
bench="$BUILD/experiments/bench_deepsphere"
[ -x "$bench" ] || { echo "deepsphere_vs_torch: $bench not found (build the bench_deepsphere target)"; exit 1; }
min_time=${MIN_TIME:-2}
threads=${THREADS:-1}
ours="$OUT/bench_deepsphere.json"
theirs="$OUT/deepsphere_torch.jsonl"
echo "== ours: $bench (min_time ${min_time}s, threads $threads)"
env OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" "$bench" --benchmark_format=json \
  --benchmark_min_time="$min_time" > "$ours" || { echo "deepsphere_vs_torch: bench_deepsphere failed"; exit 1; }
echo "== torch: $PY $here/../reference/deepsphere_bench.py"
env OMP_NUM_THREADS="$threads" "$PY" "$here/../reference/deepsphere_bench.py" --min-time "$min_time" \
  --threads "$threads" > "$theirs" || { echo "deepsphere_vs_torch: the PyTorch script failed"; exit 1; }
"$PY" - "$ours" "$theirs" "$OUT/deepsphere_vs_torch.md" "$threads" <<'PYEOF'
import json, sys
ours_path, theirs_path, md_path, threads = sys.argv[1:5]
ours = {}
for b in json.load(open(ours_path))["benchmarks"]:
    _, shape, device = b["name"].split("/")[:3]
    ours[(shape, device)] = (b["real_time"], b["cpu_time"])  # ms (Unit kMillisecond)
theirs = {}
for line in open(theirs_path):
    if line.startswith("{"):
        r = json.loads(line)
        theirs[(r["shape"], r["device"])] = (r["seconds_per_epoch"] * 1000, r["cpu_seconds_per_epoch"] * 1000)
out = [f"DeepSphere, one full-batch training epoch, ours vs PyTorch, {threads} thread(s) "
       "(ratio = torch / ours; > 1: ours faster). Wall clock and process CPU time (CPU time is the steadier "
       "on a shared machine).", "",
       "| shape | device | ours ms (wall) | torch ms (wall) | ratio (wall) | ours ms (CPU) | torch ms (CPU) | ratio (CPU) |",
       "|---|---|---:|---:|---:|---:|---:|---:|"]
f = lambda v: "n/a" if v is None else f"{v:.1f}"
for k in sorted(set(ours) | set(theirs)):
    o, t = ours.get(k, (None, None)), theirs.get(k, (None, None))
    r = [f"{t[i] / o[i]:.2f}" if o[i] and t[i] else "n/a" for i in (0, 1)]
    out.append(f"| {k[0]} | {k[1]} | {f(o[0])} | {f(t[0])} | {r[0]} | {f(o[1])} | {f(t[1])} | {r[1]} |")
text = "\n".join(out) + "\n"
open(md_path, "w").write(text)
print(text)
PYEOF
