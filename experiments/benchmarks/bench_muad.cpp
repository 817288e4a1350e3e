// MUAD model benchmark: one training epoch (per batch of 50 chunks: forward with sampled z + loss +
// hand-written backward + Adam step, what a round's training runs) over 500 generated SocialNetwork chunks
// (12 services, 10 s, 7 metrics, 15 log templates; hidden 64, 4 heads), on the CPU (the network runs on the
// CPU only). items_per_second = chunks per second. tools/sweeps/model_vs_torch.sh muad puts this next to
// tools/reference/muad_bench.py (the same network in eager PyTorch).
#include <benchmark/benchmark.h>

#include <numeric>

#include "layers/optimizer.h"
#include "models/muad/muad.h"

using namespace ad;

namespace {

void bench_epoch(benchmark::State& state) {
  muad::ServiceGraph g;
  for (int i = 0; i < 12; ++i) g.services.push_back("s" + std::to_string(i));
  g.edges = {{1, 1}, {1, 10}, {1, 6},  {1, 2},  {1, 7},  {1, 8},  {1, 5},  {1, 3},  {10, 10}, {10, 2}, {10, 0}, {2, 2},
             {0, 0}, {0, 5},  {7, 7},  {7, 4},  {7, 9},  {5, 5},  {3, 3},  {11, 1}, {11, 10}, {11, 11}, {11, 0}, {11, 5}};
  muad::GeneratorSettings gs;
  gs.seconds = 600;
  muad::ChunkSet d = muad::generate_chunks(gs, g);
  const int64_t n = 500, B = 50;
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  muad::standardise(d, rows);
  muad::NetworkConfig cfg;
  muad::Network net(cfg);
  Adam opt(net.parameters());
  muad::BatchGraph bg = muad::BatchGraph::build(12, g.edges, B);
  std::vector<muad::Batch> batches;
  for (int64_t a = 0; a < n; a += B) {
    std::vector<int64_t> part(rows.begin() + a, rows.begin() + a + B);
    std::vector<int> y;
    for (int64_t k : part) y.push_back(d.label[size_t(k)]);
    batches.push_back(muad::make_batch(d, part, &y));
  }
  uint64_t offset = 0;
  auto epoch = [&] {
    double loss = 0;
    for (const muad::Batch& b : batches) {
      opt.zero_grad();
      loss += net.forward(b, bg, true, 1, offset, true).loss;
      offset += uint64_t(3 * B * cfg.hidden);
      net.backward();
      opt.step();
    }
    return loss;
  };
  epoch();  // warm-up
  for (auto _ : state) benchmark::DoNotOptimize(epoch());
  state.SetItemsProcessed(state.iterations() * n);
}

const bool registered = [] {
  benchmark::RegisterBenchmark("epoch/sn500/cpu", bench_epoch)->Unit(benchmark::kMillisecond)->UseRealTime();
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
