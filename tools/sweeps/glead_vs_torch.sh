#!/usr/bin/env bash
# GLEAD speed, ours vs PyTorch, as ratios: one training epoch (34 batches of 60 windows: forward + loss +
# backward + Adam) and inference (2,000 windows in batches of 1,000) of $BUILD/experiments/bench_glead
# (Google Benchmark, JSON) and of tools/reference/glead_bench.py (the same network in PyTorch), same shapes,
# run one after the other in this script. Prints a markdown table (ms, ratio = torch time / ours: > 1 means
# ours is faster) and writes it to $OUT/glead_vs_torch.md with the raw results next to it.
#   bash tools/sweeps/glead_vs_torch.sh BUILD_DIR OUT_DIR
# Environment: MIN_TIME (seconds per measurement, default 2); THREADS (CPU threads for both sides; default 1,
# because a shared machine's oversubscribed OpenMP threads make either side's timing meaningless).
set -uo pipefail
BUILD=${1:?usage: glead_vs_torch.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: glead_vs_torch.sh BUILD_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
PY=/usr/bin/python3
bench="$BUILD/experiments/bench_glead"
[ -x "$bench" ] || { echo "glead_vs_torch: $bench not found (build the bench_glead target)"; exit 1; }
min_time=${MIN_TIME:-2}
threads=${THREADS:-1}
ours="$OUT/bench_glead.json"
theirs="$OUT/glead_torch.jsonl"
echo "== ours: $bench (min_time ${min_time}s, threads $threads)"
env OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" "$bench" --benchmark_format=json \
  --benchmark_min_time="$min_time" > "$ours" || { echo "glead_vs_torch: bench_glead failed"; exit 1; }
echo "== torch: $PY $here/../reference/glead_bench.py"
env OMP_NUM_THREADS="$threads" "$PY" "$here/../reference/glead_bench.py" --min-time "$min_time" \
  --threads "$threads" > "$theirs" || { echo "glead_vs_torch: the PyTorch script failed"; exit 1; }
"$PY" - "$ours" "$theirs" "$OUT/glead_vs_torch.md" "$threads" <<'PYEOF'
import json, sys
ours_path, theirs_path, md_path, threads = sys.argv[1:5]
ours = {}
for b in json.load(open(ours_path))["benchmarks"]:
    what, shape, device = b["name"].split("/")[:3]
    ours[(what, shape, device)] = (b["real_time"], b["cpu_time"])  # ms (Unit kMillisecond)
theirs = {}
for line in open(theirs_path):
    if line.startswith("{"):
        r = json.loads(line)
        theirs[(r["what"], r["shape"], r["device"])] = (r["seconds"] * 1000, r["cpu_seconds"] * 1000)
out = [f"GLEAD, ours vs PyTorch, {threads} thread(s) (ratio = torch / ours; > 1: ours faster). epoch: 34 batches "
       "of 60 windows (training); infer: 2,000 windows in batches of 1,000. Wall clock and process CPU time "
       "(CPU time is the steadier on a shared machine).", "",
       "| what | shape | device | ours ms (wall) | torch ms (wall) | ratio (wall) | ours ms (CPU) | torch ms (CPU) | ratio (CPU) |",
       "|---|---|---|---:|---:|---:|---:|---:|---:|"]
f = lambda v: "n/a" if v is None else f"{v:.1f}"
for k in sorted(set(ours) | set(theirs)):
    o, t = ours.get(k, (None, None)), theirs.get(k, (None, None))
    r = [f"{t[i] / o[i]:.2f}" if o[i] and t[i] else "n/a" for i in (0, 1)]
    out.append(f"| {k[0]} | {k[1]} | {k[2]} | {f(o[0])} | {f(t[0])} | {r[0]} | {f(o[1])} | {f(t[1])} | {r[1]} |")
text = "\n".join(out) + "\n"
open(md_path, "w").write(text)
print(text)
PYEOF
