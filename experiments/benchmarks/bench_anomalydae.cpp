// AnomalyDAE scaling benchmark: one full-batch training epoch (zero_grad + forward + both reconstruction
// errors + backward + Adam step) of ad::anomalydae::Network on synthetic graphs (make_synthetic_graph: ~8
// neighbours per node, 64 binary attributes, hidden 256, embed 128: the official sizes), growing N.
// The structure decoder sigmoid(Z Z^T) is never formed (kernels/recon_loss.h tiles it), so memory is
// O(N * hidden + E); time is O(N^2 * embed) for the structure term. Sizes: CPU 1e3..1e5 (the N^2 term
// makes large sizes slow: 1e5 is one iteration of minutes on 2 cores); CUDA 1e3..1e6 (when a GPU is usable).
// Counters: nodes, edges, peak_MiB (ad::memory_stats of the device: parameters, Adam state, activations,
// inputs). tools/sweeps/anomalydae_scaling.sh puts these beside the dense PyTorch (PyGOD-style) reference.
// anomalydae_infer/{cpu,cuda}: inference at the same sizes as the epoch of that device, the forward with both
// errors and the node scores (no backward, no update), for the comparisons with PyTorch eager and torch.compile
// (tools/sweeps/cpu_vs_torch.py, tools/sweeps/gpu_model_steps.sh); each adds one untimed warm-up pass.
//   ./build/experiments/bench_anomalydae --benchmark_filter='anomalydae_(epoch|infer)/cpu/(1000|3000)/'
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "experiments/benchmarks/anomalydae_epoch.h"
#include "runtime/cuda_context.h"
#include "runtime/memory.h"
#include "runtime/cpu_threads.h"

using namespace ad;
using namespace ad::anomalydae;

namespace {

void epoch_bench(benchmark::State& state, Device device) {
  const int64_t n = state.range(0);
  AttributedGraph g = bench_graph(n);
  reset_peak_memory(device);
  BenchEpoch epoch(g, device);
  for (auto _ : state) {
    benchmark::DoNotOptimize(epoch.step());
    if (device == Device::CUDA) cuda_synchronize();
  }
  state.counters["nodes"] = double(n);
  state.counters["edges"] = double(g.adjacency.nnz() / 2);
  state.counters["peak_MiB"] = double(memory_stats(device).peak) / (1 << 20);
}

void infer_bench(benchmark::State& state, Device device) {
  const int64_t n = state.range(0);
  AttributedGraph g = bench_graph(n);
  reset_peak_memory(device);
  BenchEpoch epoch(g, device);
  auto pass = [&] {
    NodeErrors e = epoch.net.forward(epoch.inputs, epoch.loss);
    benchmark::DoNotOptimize(e.score.raw());
    if (device == Device::CUDA) cuda_synchronize();
  };
  pass();  // warm-up: module loading, allocator caching
  for (auto _ : state) pass();
  state.counters["nodes"] = double(n);
  state.counters["edges"] = double(g.adjacency.nnz() / 2);
  state.counters["peak_MiB"] = double(memory_stats(device).peak) / (1 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  ad::restart_with_cpu_environment(argv);  // OpenMP wait policy and OpenBLAS kernels (runtime/cpu_threads.h)
  for (int64_t n : {1000, 3000, 10000, 30000, 100000}) {
    benchmark::RegisterBenchmark("anomalydae_epoch/cpu", [](benchmark::State& st) { epoch_bench(st, Device::CPU); })
        ->Arg(n)
        ->Iterations(n >= 10000 ? 1 : 3)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("anomalydae_infer/cpu", [](benchmark::State& st) { infer_bench(st, Device::CPU); })
        ->Arg(n)
        ->Iterations(n >= 10000 ? 1 : 5)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  // AD_BENCH_CUDA_NODES="N" (or "N1,N2,...") replaces the CUDA sizes (tools/sweeps/gpu_anomalydae_largest.sh
  // runs each size in its own process, so an out-of-memory failure ends only that size; gpu_model_steps.sh
  // picks the sizes the dense PyTorch peer fits).
  std::vector<int64_t> cuda_sizes{1000, 10000, 100000, 1000000};
  if (const char* list = std::getenv("AD_BENCH_CUDA_NODES")) {
    cuda_sizes.clear();
    const char* p = list;
    while (true) {
      char* end = nullptr;
      const long long n = std::strtoll(p, &end, 10);
      if (end == p || (*end != '\0' && *end != ',') || n < 2 || n > 2000000000LL) {
        std::fprintf(stderr, "error: AD_BENCH_CUDA_NODES: %s: not a node count in [2, 2e9] (or a comma list of them)\n",
                     list);
        return 1;
      }
      cuda_sizes.push_back(int64_t(n));
      if (*end == '\0') break;
      p = end + 1;
    }
  }
  if (cuda_available())
    for (int64_t n : cuda_sizes) {
      benchmark::RegisterBenchmark("anomalydae_epoch/cuda", [](benchmark::State& st) { epoch_bench(st, Device::CUDA); })
          ->Arg(n)
          ->Iterations(n >= 1000000 ? 1 : 3)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark("anomalydae_infer/cuda", [](benchmark::State& st) { infer_bench(st, Device::CUDA); })
          ->Arg(n)
          ->Iterations(n >= 1000000 ? 1 : 5)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("openblas_core", blas_coretype());  // what the CPU cases ran with (cpu_vs_torch.py)
  benchmark::AddCustomContext("omp_wait_policy", omp_wait_policy());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
