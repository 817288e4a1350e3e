#!/usr/bin/env bash
# The paper's central claim, on our generator: DeepSphere stays robust as the contamination ratio rho of the
# (unlabelled) training data grows, where a plain LSTM autoencoder (the same code with the hypersphere off)
# degrades. For rho in 0.05 0.1 0.2 0.3: generate train and test cases (tools/generate_dynamic_networks.py,
# the shipped set's sizes: 10 nodes, 8 steps, 300 + 300 cases, seed 1; the same rho in both splits), run
# run_deepsphere with and without --lstm-ae, then write a markdown table and a plot:
#   bash experiments/reproduce_deepsphere.sh [--device cpu|cuda] [--epochs N] [--rhos "0.05 0.1 0.2 0.3"]
# Writes runs/reproduce_deepsphere/{table.md, sweep.png, data_rho*/, runs/}. One CPU thread per run by default
# (OMP_NUM_THREADS=1; set it to use more).
set -euo pipefail
cd "$(dirname "$0")/.."
device=()
epochs=""
rhos="0.05 0.1 0.2 0.3"
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=(--device "$2"); shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --rhos) rhos="$2"; shift 2 ;;
    *) echo "unknown argument $1"; exit 1 ;;
  esac
done
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
py=/usr/bin/python3
out=runs/reproduce_deepsphere
mkdir -p "$out"
runs=()
for rho in $rhos; do
  data="$out/data_rho$rho"
  [ -f "$data/test_data.npy" ] || "$py" tools/generate_dynamic_networks.py --out "$data" --nodes 10 --steps 8 \
    --train-cases 300 --test-cases 300 --contamination "$rho" --seed 1
  settings="$out/settings_rho$rho.json"
  "$py" - "$data" "$settings" "$epochs" <<'PYEOF'
import json, sys
data, path, epochs = sys.argv[1:4]
s = {"mode": "synthetic", "data": {split: {"data": f"{data}/{split}_data.npy", "labels": f"{data}/{split}_labels.csv",
                                           "deviations": f"{data}/{split}_deviations.csv"} for split in ("train", "test")},
     "train": {"progress_every": 50}, "output_dir": "runs/reproduce_deepsphere/runs"}
if epochs:
    s["train"]["epochs"] = int(epochs)
json.dump(s, open(path, "w"), indent=2)
PYEOF
  for model in deepsphere lstm_ae; do
    flag=()
    [ "$model" = lstm_ae ] && flag=(--lstm-ae)
    log="$out/rho${rho}_$model.log"
    ./experiments/run_deepsphere --settings "$settings" "${device[@]}" "${flag[@]}" --no-plots 2>&1 | tee "$log" | grep -v "^epoch"
    runs+=("$rho:$model=$(sed -n 's/^run folder: //p' "$log")")
  done
done
"$py" tools/deepsphere_sweep_table.py "$out" "${runs[@]}"
