#!/usr/bin/env bash
# GLEAD on the data we have, then a markdown table beside the authors' published runs:
#   bash experiments/reproduce_glead.sh [--device cpu|cuda] [settings names...]
# Default settings: synthetic synthetic_time_ordered bgl_2k bgl_2k_time_ordered hdfs (settings/glead_<name>.json);
# add "bgl" when the full BGL CSV is where settings/glead_bgl.json says. Runs whose data is absent are skipped
# with a message. Writes runs/reproduce_glead/table.md (each run folder also keeps its own outputs and plots).
# Or, without running anything:  python3 tools/glead_table.py OUT name=RUN_FOLDER ...
set -euo pipefail
cd "$(dirname "$0")/.."
extra=()
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --device) extra+=("$1" "$2"); shift 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(synthetic synthetic_time_ordered bgl_2k bgl_2k_time_ordered hdfs)
out=runs/reproduce_glead
mkdir -p "$out"
runs=()
for n in "${names[@]}"; do
  log="$out/$n.log"
  if ./experiments/run_glead --settings "settings/glead_$n.json" "${extra[@]}" > "$log"; then
    cat "$log"
    runs+=("$n=$(sed -n 's/^run folder: //p' "$log")")
  else
    echo "skip $n: run_glead failed (see above; absent data is the usual reason)"
  fi
done
python3 tools/glead_table.py "$out" "${runs[@]}"
