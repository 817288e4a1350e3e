#!/usr/bin/env bash
# GPU sweep: our dilated causal conv (forward + both backward passes) against cuDNN (FMA and TF32 math) over
# bench_conv's shape sweep (C 16/64/256 x T 128/1024 x dilation 1/8/64 x B 8/32), in one run of bench_conv.
# Ours runs each path per shape: auto (the ops' choice by shape), the 32x32 tile kernels, the 64x64 wide tile
# kernels, im2col + cuBLAS GEMM in f32 and with TF32 (kernels/dilated_conv1d.h ConvPath), so one run shows
# where each path wins and whether Auto's provisional thresholds (kernels/dilated_conv1d_gemm.cuh) pick well.
# Prints the table and writes $OUT/gpu_conv_vs_cudnn.md and .png (ratio = cuDNN time / ours; > 1: ours faster).
#   bash tools/sweeps/gpu_conv_vs_cudnn.sh BUILD_DIR OUT_DIR
# Without a usable GPU: one line saying so, exit 0.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/gpu_sweep_lib.bash"
gpu_sweep_setup gpu_conv_vs_cudnn bench_conv CudnnDilatedConv "$@"
"$BENCH" --benchmark_out="$OUT/bench_conv_sweep.json" --benchmark_out_format=json --benchmark_min_time=0.1 \
  > "$OUT/bench_conv_sweep.txt" 2>&1 || { echo "gpu_conv_vs_cudnn: bench_conv failed (see $OUT/bench_conv_sweep.txt)"; exit 1; }
"$PY" "$here/gpu_table.py" conv "$OUT/bench_conv_sweep.json" "$OUT/gpu_conv_vs_cudnn"
