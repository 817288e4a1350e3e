#!/usr/bin/env bash
# F1 against the label budget on generated data: MUAD (entropy querying + pseudo-labels), the same model
# with random querying, and the same model trained on every training label, from one settings file:
#   bash experiments/reproduce_muad.sh [settings/muad_synthetic_blocked.json] [--epochs N]
# Writes runs/reproduce_muad/<settings name>/table.md and f1_vs_labels.png (matplotlib, when installed).
set -euo pipefail
cd "$(dirname "$0")/.."
settings=settings/muad_synthetic_blocked.json
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) extra+=("$1" "$2"); shift 2 ;;
    *) settings="$1"; shift ;;
  esac
done
name=$(basename "$settings" .json)
out=runs/reproduce_muad/$name
mkdir -p "$out"
# The three variants differ in one key each; the copies keep everything else identical.
sed 's/"query": "entropy"/"query": "random"/' "$settings" > "$out/random.json"
sed 's/"mode": "active"/"mode": "full"/' "$settings" > "$out/full.json"
grep -q '"query": "random"' "$out/random.json" && grep -q '"mode": "full"' "$out/full.json" ||
  { echo "error: $settings: active: needs \"query\": \"entropy\" and \"mode\": \"active\" to derive the variants"; exit 1; }
runs=()
for v in entropy random full; do
  s="$settings"
  [ "$v" = entropy ] || s="$out/$v.json"
  ./experiments/run_muad --settings "$s" "${extra[@]}" 2>&1 | tee "$out/$v.log"
  runs+=("$v=$(sed -n 's/^run folder: //p' "$out/$v.log")")
done
/usr/bin/python3 tools/muad_table.py "$out" "${runs[@]}"
