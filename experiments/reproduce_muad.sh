#!/usr/bin/env bash
# F1 against the label budget on generated data: MUAD (entropy querying + pseudo-labels), the same model
# with random querying, and the same model trained on every training label, from one settings file:
#   bash experiments/reproduce_muad.sh [settings/muad_synthetic_blocked.json] [--epochs N] [--parallel]
# --parallel runs the three variants at once (each one thread), for a machine with cores to spare.
# Writes runs/reproduce_muad/<settings name>/table.md and f1_vs_labels.png (matplotlib, when installed).
set -euo pipefail
cd "$(dirname "$0")/.."
settings=settings/muad_synthetic_blocked.json
extra=()
parallel=0
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) extra+=("$1" "$2"); shift 2 ;;
    --parallel) parallel=1; shift ;;
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
run_variant() {
  local s="$settings"
  [ "$1" = entropy ] || s="$out/$1.json"
  ./experiments/run_muad --settings "$s" "${extra[@]}" > "$out/$1.log" 2>&1
}
pids=()
for v in entropy random full; do
  if [ "$parallel" = 1 ]; then
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} run_variant "$v" & pids+=($!)
  else
    run_variant "$v" || { cat "$out/$v.log"; exit 1; }
    cat "$out/$v.log"
  fi
done
for p in "${pids[@]}"; do wait "$p" || { echo "error: a variant failed (logs in $out)"; exit 1; }; done
[ "$parallel" = 1 ] && cat "$out"/{entropy,random,full}.log
runs=()
for v in entropy random full; do runs+=("$v=$(sed -n 's/^run folder: //p' "$out/$v.log")"); done
/usr/bin/python3 tools/muad_table.py "$out" "${runs[@]}"
