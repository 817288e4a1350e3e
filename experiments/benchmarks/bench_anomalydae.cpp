// AnomalyDAE scaling benchmark: one full-batch training epoch (zero_grad + forward + both reconstruction
// errors + backward + Adam step) of ad::anomalydae::Network on synthetic graphs (make_synthetic_graph: ~8
// neighbours per node, 64 binary attributes, hidden 256, embed 128: the official sizes), growing N.
// The structure decoder sigmoid(Z Z^T) is never formed (kernels/recon_loss.h tiles it), so memory is
// O(N * hidden + E); time is O(N^2 * embed) for the structure term. Sizes: CPU 1e3..1e5 (the N^2 term
// makes large sizes slow: 1e5 is one iteration of minutes on 2 cores); CUDA 1e3..1e6 (when a GPU is usable).
// Counters: nodes, edges, peak_MiB (ad::memory_stats of the device: parameters, Adam state, activations,
// inputs). tools/sweeps/anomalydae_scaling.sh puts these beside the dense PyTorch (PyGOD-style) reference.
//   ./build/experiments/bench_anomalydae --benchmark_filter=cpu
#include <benchmark/benchmark.h>

#include <string>

#include "layers/optimizer.h"
#include "models/anomalydae/graph_data.h"
#include "models/anomalydae/network.h"
#include "runtime/cuda_context.h"
#include "runtime/memory.h"

using namespace ad;
using namespace ad::anomalydae;

namespace {

void epoch_bench(benchmark::State& state, Device device) {
  const int64_t n = state.range(0);
  SyntheticGraphSettings y;
  y.nodes = n;
  y.attrs = 64;
  y.communities = std::max<int64_t>(1, n / 100);
  y.avg_degree = 8;
  y.cliques = std::min<int64_t>(10, n / 100);
  y.clique_size = 15;
  y.attribute_anomalies = std::min<int64_t>(150, n / 10);
  y.candidates = 50;
  AttributedGraph g = make_synthetic_graph(y, 1);
  Settings s;  // official defaults: hidden 256, embed 128, eta 5, theta 40, alpha 0.7, transposed encoder
  reset_peak_memory(device);
  GraphInputs in = make_inputs(g.adjacency, g.features, Tensor(), device);
  Network net(NetworkConfig::from(s, g.attrs(), g.nodes()), device);
  AdamOptions ao;
  ao.lr = s.lr;
  Adam opt(net.parameters(), ao);
  LossConfig lc = LossConfig::from(s);
  for (auto _ : state) {
    opt.zero_grad();
    NodeErrors e = net.forward(in, lc);
    net.backward();
    opt.step();
    if (device == Device::CUDA) cuda_synchronize();
    benchmark::DoNotOptimize(e.loss);
  }
  state.counters["nodes"] = double(n);
  state.counters["edges"] = double(g.adjacency.nnz() / 2);
  state.counters["peak_MiB"] = double(memory_stats(device).peak) / (1 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  for (int64_t n : {1000, 3000, 10000, 30000, 100000})
    benchmark::RegisterBenchmark("anomalydae_epoch/cpu", [](benchmark::State& st) { epoch_bench(st, Device::CPU); })
        ->Arg(n)
        ->Iterations(n >= 10000 ? 1 : 3)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  if (cuda_available())
    for (int64_t n : {1000, 10000, 100000, 1000000})
      benchmark::RegisterBenchmark("anomalydae_epoch/cuda", [](benchmark::State& st) { epoch_bench(st, Device::CUDA); })
          ->Arg(n)
          ->Iterations(n >= 1000000 ? 1 : 3)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
