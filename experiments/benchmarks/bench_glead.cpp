// GLEAD benchmark: one training epoch (per batch: zero_grad + forward + triplet loss and penalty + backward +
// Adam step) and inference (forward + scores to the host) of ad::glead::Network, for the original's shapes:
//   original: window 20, hidden 150, attention 300, 5 heads, vocabulary 120 (BGL's keys), batch 60,
//             2,040 training windows (34 batches, the original's train set) and 2,000 test windows scored
//             in batches of 1,000.
// on the CPU and, when a GPU is usable, on CUDA (each CUDA iteration ends with cuda_synchronize()).
// tools/sweeps/model_vs_torch.sh glead puts these next to the PyTorch reference (tools/reference/glead_bench.py).
//   ./build/experiments/bench_glead --benchmark_filter=epoch
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "layers/optimizer.h"
#include "models/glead/network.h"
#include "runtime/cuda_context.h"

using namespace ad;
using namespace ad::glead;

namespace {
constexpr int64_t kVocab = 120, kWindow = 20, kHidden = 150, kAttention = 300, kHeads = 5;
constexpr int64_t kBatch = 60, kTrainWindows = 2040, kTestWindows = 2000, kTestBatch = 1000;

Tensor random_ids(int64_t n, uint64_t seed) {
  Tensor ids = Tensor::empty({n, kWindow}, DType::I32);
  std::mt19937_64 g(seed);
  for (int64_t i = 0; i < ids.numel(); ++i) ids.data<int32_t>()[i] = int32_t(g() % kVocab);
  return ids;
}

void bench_epoch(benchmark::State& state, Device device) {
  Network net(NetworkConfig{kVocab, kWindow, kHidden, kAttention, kHeads, false}, 1, device);
  Adam adam(net.parameters(), AdamOptions{0.005});
  std::vector<Tensor> batches;
  for (int64_t b = 0; b < kTrainWindows / kBatch; ++b) batches.push_back(random_ids(kBatch, uint64_t(b)));
  // Two labelled anomalies per batch, the rest unlabelled or labelled normal (the original's mix).
  std::vector<int> labels(size_t(kBatch), 0), semi(size_t(kBatch), 1);
  for (int i = 0; i < 2; ++i) labels[size_t(i)] = 1, semi[size_t(i)] = 0;
  semi[2] = semi[3] = 0;
  for (auto _ : state) {
    for (const Tensor& ids : batches) {
      adam.zero_grad();
      StepLoss l = loss_and_backward(net, ids, labels, semi, LossOptions{}, 1.0);
      adam.step();
      benchmark::DoNotOptimize(l.total);
    }
    if (device == Device::CUDA) cuda_synchronize();
  }
  state.SetItemsProcessed(state.iterations() * kTrainWindows);
}

void bench_infer(benchmark::State& state, Device device) {
  Network net(NetworkConfig{kVocab, kWindow, kHidden, kAttention, kHeads, false}, 1, device);
  std::vector<Tensor> batches;
  for (int64_t b = 0; b < kTestWindows / kTestBatch; ++b) batches.push_back(random_ids(kTestBatch, uint64_t(100 + b)));
  for (auto _ : state) {
    for (const Tensor& ids : batches) {
      Network::Output o = net.forward(ids);
      std::vector<double> d = o.distances.to_vector(), a = o.attention.to_vector();  // scores and explanations
      benchmark::DoNotOptimize(d.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * kTestWindows);
}
}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::vector<Device> devices{Device::CPU};
  if (cuda_available()) devices.push_back(Device::CUDA);
  for (Device d : devices) {
    const std::string dev = d == Device::CUDA ? "cuda" : "cpu";
    benchmark::RegisterBenchmark(("epoch/original/" + dev).c_str(), bench_epoch, d)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("infer/original/" + dev).c_str(), bench_infer, d)->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
