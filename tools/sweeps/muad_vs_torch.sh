#!/usr/bin/env bash
# MUAD training speed, ours vs PyTorch, as a ratio: one epoch (500 chunks, batches of 50: forward + loss +
# backward + Adam) of $BUILD/experiments/bench_muad (Google Benchmark, JSON) and of
# tools/reference/muad_bench.py (the same network in eager PyTorch), run one after the other here.
# Prints a markdown line (ms per epoch, wall and CPU; ratio = torch time / ours: > 1 means ours is faster)
# and writes it to $OUT/muad_vs_torch.md with the raw results next to it.
#   bash tools/sweeps/muad_vs_torch.sh BUILD_DIR OUT_DIR
# Environment: MIN_TIME (seconds per measurement, default 2); THREADS (default 1: on a shared machine
# oversubscribed OpenMP threads make either side's timing meaningless).
set -uo pipefail
BUILD=${1:?usage: muad_vs_torch.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: muad_vs_torch.sh BUILD_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
PY=/usr/bin/python3
bench="$BUILD/experiments/bench_muad"
[ -x "$bench" ] || { echo "muad_vs_torch: $bench not found (build the bench_muad target)"; exit 1; }
min_time=${MIN_TIME:-2}
threads=${THREADS:-1}
env OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" "$bench" --benchmark_format=json \
  --benchmark_min_time="$min_time" > "$OUT/bench_muad.json" || { echo "muad_vs_torch: bench_muad failed"; exit 1; }
env OMP_NUM_THREADS="$threads" "$PY" "$here/../reference/muad_bench.py" --min-time "$min_time" \
  --threads "$threads" > "$OUT/muad_torch.jsonl" || { echo "muad_vs_torch: the PyTorch script failed"; exit 1; }
"$PY" - "$OUT/bench_muad.json" "$OUT/muad_torch.jsonl" "$OUT/muad_vs_torch.md" "$threads" <<'PYEOF'
import json, sys
ours_path, theirs_path, md_path, threads = sys.argv[1:5]
b = json.load(open(ours_path))["benchmarks"][0]
ours_wall, ours_cpu = b["real_time"], b["cpu_time"]  # ms
t = [json.loads(l) for l in open(theirs_path) if l.startswith("{")][0]
tw, tc = t["seconds_per_epoch"] * 1000, t["cpu_seconds_per_epoch"] * 1000
text = (f"MUAD, one training epoch (500 chunks, batch 50), CPU, {threads} thread(s)\n\n"
        "| | ours ms | PyTorch ms | ratio (PyTorch / ours) |\n|---|---|---|---|\n"
        f"| wall | {ours_wall:.0f} | {tw:.0f} | {tw / ours_wall:.2f} |\n"
        f"| CPU time | {ours_cpu:.0f} | {tc:.0f} | {tc / ours_cpu:.2f} |\n")
open(md_path, "w").write(text)
print(text)
PYEOF
