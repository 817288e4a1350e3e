#!/usr/bin/env bash
# DC-VAE speed, ours vs PyTorch, as ratios: runs $BUILD/experiments/bench_dcvae (Google Benchmark, JSON) and
# tools/reference/dcvae_bench.py (same network, same configurations: demo = settings/model_settings.json,
# original = settings/dcvae_telco_original.json) and prints a markdown table of windows/s per training
# step and per inference batch, ratio = ours / torch (> 1: ours is faster). Writes the table to
# $OUT/dcvae_vs_torch.md and the raw results to $OUT/bench_dcvae.json and $OUT/dcvae_torch.jsonl.
#   bash tools/sweeps/dcvae_vs_torch.sh BUILD_DIR OUT_DIR
# Environment: MIN_TIME (seconds per measurement, default 1); THREADS (CPU threads for both sides: sets
# OMP_NUM_THREADS/OPENBLAS_NUM_THREADS for ours and --threads for torch; default: all cores on both).
# PYTHON: the Python whose torch to time (default /usr/bin/python3, Debian's torch 1.13).
# Without torch only our column is filled. For the CPU table against several PyTorch versions (and
# torch.compile), alternating programs with the load beside each figure, use tools/sweeps/cpu_vs_torch.py.
set -uo pipefail
BUILD=${1:?usage: dcvae_vs_torch.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: dcvae_vs_torch.sh BUILD_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
ref="$here/../reference/dcvae_bench.py"
mkdir -p "$OUT"
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "dcvae_vs_torch: no python3 found"; exit 1; }
bench="$BUILD/experiments/bench_dcvae"
[ -x "$bench" ] || { echo "dcvae_vs_torch: $bench not found (build the bench_dcvae target)"; exit 1; }
min_time=${MIN_TIME:-1}
threads=${THREADS:-}
thread_env=()
torch_args=(--min-time "$min_time")
if [ -n "$threads" ]; then
  thread_env=(env "OMP_NUM_THREADS=$threads" "OPENBLAS_NUM_THREADS=$threads")
  torch_args+=(--threads "$threads")
fi

ours="$OUT/bench_dcvae.json"
theirs="$OUT/dcvae_torch.jsonl"
: > "$theirs"
echo "== ours: $bench (min_time ${min_time}s, threads ${threads:-default})"
"${thread_env[@]}" "$bench" --benchmark_format=json --benchmark_min_time="$min_time" > "$ours" \
  || { echo "dcvae_vs_torch: bench_dcvae failed"; exit 1; }

torch_note=""
if "$PY" -c 'import torch' 2>/dev/null; then
  echo "== torch: $PY $ref ${torch_args[*]}"
  "$PY" "$ref" "${torch_args[@]}" > "$theirs" || { echo "dcvae_vs_torch: the PyTorch script failed"; exit 1; }
  cat "$theirs"
else
  torch_note="torch not available: skipping the PyTorch side"
  echo "$torch_note"
fi

"$PY" - "$ours" "$theirs" "$OUT/dcvae_vs_torch.md" "${threads:-all cores}" "$torch_note" <<'PYEOF'
import json, sys
ours_path, theirs_path, md_path, threads, note = sys.argv[1:6]
ours = json.load(open(ours_path))
rows = {}
for b in ours["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration" or "error_occurred" in b and b["error_occurred"]:
        continue
    kind, config, device = b["name"].split("/")[:3]
    mode = "train" if kind.endswith("train") else "infer"
    rows[(config, device, mode)] = (b.get("items_per_second"), b.get("peak_MiB"))
torch_rows = {}
for line in open(theirs_path):
    line = line.strip()
    if line.startswith("{"):
        r = json.loads(line)
        for mode in ("train", "infer"):
            torch_rows[(r["config"], r["device"], mode)] = r[f"{mode}_windows_per_s"]
fmt = lambda v: "n/a" if v is None else f"{v:,.1f}"
ctx = ours.get("context", {})
out = [f"DC-VAE windows/s, ours vs PyTorch (ratio = ours / torch; > 1: ours faster). "
       f"Host {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs, threads: {threads}; "
       f"cuda: {ctx.get('cuda', '?')}.", ""]
if note:
    out += [note, ""]
out += ["| config | device | step | ours windows/s | torch windows/s | ratio | ours peak MiB |",
        "|---|---|---|---:|---:|---:|---:|"]
keys = sorted(set(rows) | set(torch_rows), key=lambda k: (k[0] != "demo", k[0], k[1] != "cpu", k[1], k[2] != "train"))
for k in keys:
    o, peak = rows.get(k, (None, None))
    t = torch_rows.get(k)
    ratio = f"{o / t:.2f}" if o and t else "n/a"
    out.append(f"| {k[0]} | {k[1]} | {k[2]} | {fmt(o)} | {fmt(t)} | {ratio} | {fmt(peak)} |")
text = "\n".join(out) + "\n"
open(md_path, "w").write(text)
print(text)
PYEOF
