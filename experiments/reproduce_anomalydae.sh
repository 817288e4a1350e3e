#!/usr/bin/env bash
# AnomalyDAE on the attributed graphs of ../shared/data/graphs with the official settings, then a markdown
# table beside the published numbers and a score-distribution plot:
#   bash experiments/reproduce_anomalydae.sh [--device cpu|cuda] [--epochs N] [datasets...]
# (default datasets: disney books inj_cora BlogCatalog). Writes runs/reproduce_anomalydae/table.md, and
# scores.png and roc.png when a Python with matplotlib is there (tools/plot_python.sh); each run folder also
# gets its own PNGs and report.html. Missing graph folders are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=()
sets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --device|--epochs) extra+=("$1" "$2"); shift 2 ;;
    *) sets+=("$1"); shift ;;
  esac
done
[ ${#sets[@]} -gt 0 ] || sets=(disney books inj_cora BlogCatalog)
out=runs/reproduce_anomalydae
mkdir -p "$out"
runs=()
for d in "${sets[@]}"; do
  lc=$(echo "$d" | tr 'A-Z' 'a-z')
  if [ ! -d "../shared/data/graphs/$d" ]; then echo "skip $d: ../shared/data/graphs/$d absent"; continue; fi
  log="$out/$lc.log"
  ./experiments/run_tracedae --settings "settings/tracedae_$lc.json" "${extra[@]}" | tee "$log"
  runs+=("$d=$(sed -n 's/^run folder: //p' "$log")")
done
py=$(bash tools/plot_python.sh) || py=python3  # without matplotlib: the table only
"$py" tools/anomalydae_table.py "$out" "${runs[@]}"
