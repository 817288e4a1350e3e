#!/usr/bin/env bash
# GPU sweep: one graph-attention training step (forward + backward) by degree distribution (degree 0-3,
# uniform 16, power law, one hub row and column of n edges; experiments/benchmarks/degree_graphs.h) at 2e4 and
# 1e6 nodes, C 64: ours (bench_graph) against PyTorch on the same graphs (tools/reference/gat_torch_step.py:
# scatter softmax + index_add with autograd; PyG's GATConv too when torch_geometric imports). Prints the table
# and writes $OUT/gpu_graph_attention.md and .png (ratio = torch time / ours; > 1: ours faster). Then the same
# for MUAD's GATv2 with the max over heads (4 heads of 64 channels): $OUT/gpu_gatv2.md and .png.
#   bash tools/sweeps/gpu_graph_attention.sh BUILD_DIR OUT_DIR
# Without a usable GPU: one line saying so, exit 0.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/gpu_sweep_lib.bash"
gpu_sweep_setup gpu_graph_attention bench_graph "graph_attention_step_by_degree/cuda" "$@"
"$BENCH" --benchmark_filter='(graph_attention|gatv2)_step_by_degree/cuda' --benchmark_out="$OUT/bench_gat_sweep.json" \
  --benchmark_out_format=json > "$OUT/bench_gat_sweep.txt" 2>&1 ||
  { echo "gpu_graph_attention: bench_graph failed (see $OUT/bench_gat_sweep.txt)"; exit 1; }
: > "$OUT/gat_torch.jsonl"
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  "$PY" "$here/../reference/gat_torch_step.py" --device cuda --nodes 20000 1000000 --channels 64 \
    >> "$OUT/gat_torch.jsonl" || echo "gpu_graph_attention: the PyTorch side failed; its columns are n/a"
else
  echo "gpu_graph_attention: PyTorch with CUDA not importable by $PY; the torch columns are n/a"
fi
"$PY" "$here/gpu_table.py" gat "$OUT/bench_gat_sweep.json" "$OUT/gat_torch.jsonl" "$OUT/gpu_graph_attention"
# GATv2 (a separate PyTorch run and table).
: > "$OUT/gatv2_torch.jsonl"
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  "$PY" "$here/../reference/gat_torch_step.py" --op gatv2 --device cuda --nodes 20000 1000000 --heads 4 \
    --channels 64 >> "$OUT/gatv2_torch.jsonl" || echo "gpu_graph_attention: the PyTorch GATv2 side failed; n/a"
fi
"$PY" "$here/gpu_table.py" gatv2 "$OUT/bench_gat_sweep.json" "$OUT/gatv2_torch.jsonl" "$OUT/gpu_gatv2"
