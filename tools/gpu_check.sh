#!/usr/bin/env bash
# On a machine with a GPU, in one call: build with CUDA, run every test (GPU parity included), run
# compute-sanitizer's memcheck, racecheck, synccheck and initcheck on the GPU tests (the caching allocator
# in its debug mode: exact sizes, no reuse, so one-element overruns show), run the benchmarks and the sweeps
# (tools/sweeps/*.sh; the gpu_* ones time the conv vs cuDNN, graph attention by degree vs PyTorch and the
# largest AnomalyDAE graph, each writing markdown + PNG into $out), print a table last.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/cuda/bin:$PATH"
out=${OUT:-gpu_check_out}
mkdir -p "$out"
summary=()
row() { summary+=("$(printf '%-34s %s' "$1" "$2")"); }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
# The GPU machine may have no package mirror: install only when something is missing.
command -v cmake >/dev/null && [ -f /usr/include/nlohmann/json.hpp ] || bash tools/setup.sh > "$out/setup.log" 2>&1
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)
cmake -S . -B build-gpu -DAD_CUDA=ON -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CUDA_ARCHITECTURES=${arch}-real" \
  > "$out/configure.log" 2>&1 && cmake --build build-gpu -j"$(nproc)" > "$out/build.log" 2>&1
rc=$?; row "build (sm_${arch})" "$([ $rc = 0 ] && echo ok || echo FAILED)"
[ $rc = 0 ] || { tail -30 "$out/build.log"; printf '%s\n' "${summary[@]}"; exit 1; }

ctest --test-dir build-gpu --output-on-failure -j4 > "$out/ctest.log" 2>&1
row "ctest (all)" "$(grep -E 'tests passed' "$out/ctest.log")"
skipped=$(grep -c '\*\*\*Skipped' "$out/ctest.log"); row "  skipped" "$skipped"
parity=$(grep -E 'GpuParity' "$out/ctest.log" | grep -c 'Passed'); row "  GpuParity passed" "$parity"
grep -E 'GpuParity' "$out/ctest.log" | grep -v Passed | head -20

for tool in memcheck racecheck synccheck initcheck; do
  fails=0; runs=0
  for t in build-gpu/tests/test_*; do
    [ -x "$t" ] || continue
    "$t" --gtest_list_tests --gtest_filter='GpuParity*' | grep -q '^  ' || continue  # no GPU tests in it
    runs=$((runs + 1))
    AD_CUDA_ALLOCATOR_DEBUG=1 compute-sanitizer --tool $tool --error-exitcode 9 "$t" --gtest_filter='GpuParity*' \
      > "$out/sanitizer_${tool}_$(basename "$t").log" 2>&1 \
      || { fails=$((fails + 1)); echo "compute-sanitizer $tool failed on $t"; tail -20 "$out/sanitizer_${tool}_$(basename "$t").log"; }
  done
  row "compute-sanitizer $tool" "$((runs - fails))/$runs binaries clean"
done

for b in build-gpu/experiments/bench_*; do
  [ -x "$b" ] || continue
  "$b" --benchmark_format=console --benchmark_out="$out/$(basename "$b").json" --benchmark_out_format=json \
    --benchmark_min_time=0.05s > "$out/$(basename "$b").txt" 2>&1 ||
  "$b" --benchmark_format=console --benchmark_out="$out/$(basename "$b").json" --benchmark_out_format=json \
    --benchmark_min_time=0.05 > "$out/$(basename "$b").txt" 2>&1  # older Google Benchmark: no unit suffix
  row "benchmark $(basename "$b")" "$([ $? = 0 ] && echo ok || echo FAILED) ($out/$(basename "$b").txt)"
done
for s in tools/sweeps/*.sh; do
  [ -f "$s" ] || continue
  bash "$s" build-gpu "$out" > "$out/$(basename "$s" .sh).txt" 2>&1
  row "sweep $(basename "$s" .sh)" "$([ $? = 0 ] && echo ok || echo FAILED)"
done
grep -hE 'Ours|Cudnn|dcvae_' "$out"/bench_conv.txt "$out"/bench_dcvae.txt 2>/dev/null | grep -E 'B:32|dcvae' | head -40
cat "$out"/*.md 2>/dev/null

echo
echo "== gpu_check summary =="
printf '%s\n' "${summary[@]}"
