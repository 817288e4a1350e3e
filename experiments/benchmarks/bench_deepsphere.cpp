// DeepSphere model benchmark: one full-batch training epoch (forward with input dropout + loss + backward +
// Adam step, what Trainer::epoch runs) on random cases of two shapes:
//   synthetic:  300 cases, T 8,  N 10 (D 100)   = settings/deepsphere_synthetic.json's shipped data
//   callgraph:  813 cases, T 5,  N 38 (D 1444)  = settings/deepsphere_callgraph.json on traces_tt_like
// hidden 30, on the CPU and, when a GPU is usable, on CUDA. items_per_second = cases per second.
// tools/sweeps/model_vs_torch.sh deepsphere puts these next to tools/reference/deepsphere_bench.py.
#include <benchmark/benchmark.h>

#include <random>

#include "models/deepsphere/deepsphere.h"
#include "runtime/cuda_context.h"

using namespace ad;

namespace {
struct Shape3 {
  const char* name;
  int64_t cases, T, N;
};
const Shape3 kShapes[] = {{"synthetic", 300, 8, 10}, {"callgraph", 813, 5, 38}};

void bench_epoch(benchmark::State& state, Shape3 shape, Device device) {
  deepsphere::Dataset train;
  train.C = shape.cases, train.T = shape.T, train.N = shape.N;
  train.cases = Tensor::empty({shape.cases, shape.T, shape.N, shape.N});
  std::mt19937_64 gen(1);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (int64_t k = 0; k < train.cases.numel(); ++k) train.cases.data<float>()[k] = u(gen);
  deepsphere::Settings s;
  deepsphere::Trainer trainer(s, train, device);
  trainer.epoch();  // warm-up (allocator, first-touch)
  for (auto _ : state) {
    benchmark::DoNotOptimize(trainer.epoch().loss);  // the loss comes back to the host: the step is done
    if (device == Device::CUDA) cuda_synchronize();
  }
  state.SetItemsProcessed(state.iterations() * shape.cases);
}

const bool registered = [] {
  for (const Shape3& s : kShapes) {
    benchmark::RegisterBenchmark((std::string("epoch/") + s.name + "/cpu").c_str(), bench_epoch, s, Device::CPU)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    if (cuda_available())
      benchmark::RegisterBenchmark((std::string("epoch/") + s.name + "/cuda").c_str(), bench_epoch, s, Device::CUDA)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
  }
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
