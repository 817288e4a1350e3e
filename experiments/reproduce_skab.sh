#!/usr/bin/env bash
# DC-VAE under the SKAB leaderboard protocol on valve1 and valve2, both training regimes, N seeds, then the
# markdown table and PNG beside the SKAB leaderboard and the trivial detectors:
#   bash experiments/reproduce_skab.sh [--seeds N] [--device cpu|cuda] [--data DIR] [--out DIR] [--regime R]
# --seeds 5 by default; --data is the folder of the SKAB files (default ../shared/data/mts/skab).
# One process per regime trains one model per experiment of valve1 and valve2 (20 models per seed) and
# scores each valve with its training-residual thresholds and with alphas chosen on the other valve
# (settings/dcvae_skab_valve1.json has score_alpha_set on). Regimes: a fixed epoch count (the settings
# file) and early stopping on validation windows from the training rows (the same file, early_stopping on).
# --regime fixed_epochs|early_stopping runs one regime (two such calls can run side by side; then
# `python3 tools/skab_table.py <out> fixed_epochs=<run> early_stopping=<run>` writes the table).
# Writes <out>/table.md and <out>/table.png (runs/reproduce_skab by default).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=5
data=../shared/data/mts/skab
out=runs/reproduce_skab
extra=()
regimes=(fixed_epochs early_stopping)
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --device) extra+=("$1" "$2"); shift 2 ;;
    --regime) regimes=("$2"); shift 2 ;;
    *) echo "error: reproduce_skab.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done
[ -f "$data/segments_test.csv" ] || { echo "error: reproduce_skab.sh: $data/segments_test.csv not found (--data)" >&2; exit 1; }
mkdir -p "$out"
runs=()
for regime in "${regimes[@]}"; do
  settings="$out/valve1_$regime.json"
  python3 - "$data" "$regime" "$out" "$settings" <<'PY'
import json, sys
data, regime, out, path = sys.argv[1:]
s = json.load(open("settings/dcvae_skab_valve1.json"))
s["data"] = {k: v.replace("../shared/data/mts/skab", data) for k, v in s["data"].items()}
s["early_stopping"] = regime == "early_stopping"
s["output_dir"] = f"{out}/{regime}"
json.dump(s, open(path, "w"), indent=2)
PY
  log="$out/$regime.log"
  ./experiments/run_dcvae --settings "$settings" --seeds "$seeds" ${extra[@]+"${extra[@]}"} > "$log" 2> "$out/$regime.progress"
  runs+=("$regime=$(sed -n 's/^run folder: //p' "$log")")
done
py=$(bash tools/plot_python.sh || echo python3)  # the Python with matplotlib draws the PNG too
"$py" tools/skab_table.py "$out" "${runs[@]}"
