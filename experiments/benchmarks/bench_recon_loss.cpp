// Reconstruction-error benchmarks (kernels/recon_loss.h): the dense attribute term, the same with a CSR target
// (sparse attributes; `dense` = 1 runs the dense form on the same matrix densified, for comparison), and the structure term
// sigmoid(Z Z^T) vs A + I, forward and backward, on one graph of N nodes (all of [0, N) per row) and on a
// block-diagonal batch of 64-node traces. CPU variants always; CUDA variants registered when a GPU is
// usable. FLOP/s counts the useful work (structure: 2H per (i, j) pair forward, 4H backward; the backward
// recomputation for H > 64 is not counted); `peak_bytes` is the device's peak tensor memory during the run
// (inputs included), which shows the structure term never holds anything N x N.
//   ./build/experiments/bench_recon_loss --benchmark_filter=structure.*cuda
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/recon_loss.h"
#include "runtime/csr.h"
#include "runtime/cuda_context.h"
#include "runtime/memory.h"
#include "runtime/tensor.h"

using namespace ad;

namespace {

constexpr int64_t kTrace = 64;  // nodes per trace in the block-diagonal batches

// Runs `body` per iteration (synchronizing CUDA so the time covers the kernels), then sets the counters.
void run_loop(benchmark::State& state, Device d, const std::function<void()>& body, double bytes, double flops) {
  body();  // warm up
  if (d == Device::CUDA) cuda_synchronize();
  for (auto _ : state) {
    body();
    if (d == Device::CUDA) cuda_synchronize();
  }
  if (bytes > 0) state.SetBytesProcessed(int64_t(bytes * double(state.iterations())));
  if (flops > 0) {
    state.SetItemsProcessed(int64_t(flops * double(state.iterations())));
    state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  }
  state.counters["peak_bytes"] = double(memory_stats(d).peak);
}

Tensor uniform(const Shape& s, double lo, double hi, uint64_t seed, Device d) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(size_t(s.numel()));
  for (double& x : v) x = u(rng);
  return Tensor::from_vector(v, s).to(d);
}

// A + I with ~4 random symmetric neighbours per node inside its block (block = n for one graph), and the
// block-diagonal ranges when `batched`.
struct Graph {
  CsrMatrix target;
  Tensor ranges;
  double pairs = 0;  // (i, j) pairs visited
};

Graph make_graph(int64_t n, bool batched) {
  int64_t block = batched ? kTrace : n;
  std::mt19937_64 rng(7);
  std::vector<int64_t> r, c;
  std::vector<double> rg;
  Graph g;
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    int64_t b = std::min(block, n - b0);
    g.pairs += double(b) * double(b);
    for (int64_t i = b0; i < b0 + b; ++i) {
      r.push_back(i);
      c.push_back(i);
      for (int k = 0; k < 4 && b > 1; ++k) {
        int64_t j = b0 + int64_t(rng() % uint64_t(b));
        r.insert(r.end(), {i, j});
        c.insert(c.end(), {j, i});
      }
      rg.insert(rg.end(), {double(b0), double(b0 + b)});
    }
  }
  g.target = csr_from_triplets(n, n, r, c, {});
  if (batched) g.ranges = Tensor::from_vector(rg, {n, 2}, DType::I64);
  return g;
}

ReconWeighting weighting() {
  ReconWeighting w;  // the official AnomalyDAE form: Linear, eta = 5, row norms
  w.pos = 5.0;
  return w;
}

// Args: N, D; backward if state.range(2).
void bench_dense(benchmark::State& state, Device d) {
  int64_t n = state.range(0), dim = state.range(1);
  bool backward = state.range(2) != 0;
  reset_peak_memory(d);
  Tensor pred = uniform({n, dim}, -1, 2, 1, d), target = uniform({n, dim}, 0, 1, 2, d);
  Tensor err = Tensor::zeros({n}, DType::F32, d), derr = Tensor::full({n}, 1.0, DType::F32, d);
  Tensor dpred = Tensor::zeros({n, dim}, DType::F32, d);
  ReconWeighting w = weighting();
  dense_recon_error_forward(pred, target, w, err);
  double elems = double(n) * double(dim);
  if (backward)
    run_loop(state, d, [&] { dense_recon_error_backward(pred, target, w, err, derr, dpred); }, 3 * elems * 4,
             5 * elems);
  else
    run_loop(state, d, [&] { dense_recon_error_forward(pred, target, w, err); }, 2 * elems * 4, 5 * elems);
}

// Args: N, D, nonzeros per 1000 entries, dense form on the densified target (1) or CSR (0), backward.
void bench_sparse_target(benchmark::State& state, Device d) {
  const int64_t n = state.range(0), dim = state.range(1), permille = state.range(2);
  const bool dense = state.range(3) != 0, backward = state.range(4) != 0;
  std::mt19937_64 rng(5);
  std::vector<int64_t> r, c;
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < dim; ++j)
      if (int64_t(rng() % 1000) < permille) r.push_back(i), c.push_back(j), v.push_back(1.0);
  CsrMatrix csr = csr_from_triplets(n, dim, r, c, v);
  reset_peak_memory(d);
  CsrMatrix target = dense ? CsrMatrix() : csr.to(d);
  Tensor target_dense = dense ? csr_to_dense(csr).to(d) : Tensor();
  Tensor pred = uniform({n, dim}, -1, 2, 1, d);
  Tensor err = Tensor::zeros({n}, DType::F32, d), derr = Tensor::full({n}, 1.0, DType::F32, d);
  Tensor dpred = Tensor::zeros({n, dim}, DType::F32, d);
  ReconWeighting w = weighting();
  auto fwd = [&] {
    if (dense) dense_recon_error_forward(pred, target_dense, w, err);
    else csr_recon_error_forward(pred, target, w, err);
  };
  auto bwd = [&] {
    if (dense) dense_recon_error_backward(pred, target_dense, w, err, derr, dpred);
    else csr_recon_error_backward(pred, target, w, err, derr, dpred);
  };
  fwd();
  const double elems = double(n) * double(dim), target_bytes = dense ? elems * 4 : double(csr.nnz()) * 8;
  if (backward)
    run_loop(state, d, bwd, 2 * elems * 4 + target_bytes, 5 * elems);
  else
    run_loop(state, d, fwd, elems * 4 + target_bytes, 5 * elems);
  state.counters["nnz"] = double(csr.nnz());
}

// Args: N, H, batched (64-node traces), backward.
void bench_structure(benchmark::State& state, Device d) {
  int64_t n = state.range(0), h = state.range(1);
  bool batched = state.range(2) != 0, backward = state.range(3) != 0;
  Graph g = make_graph(n, batched);
  reset_peak_memory(d);
  CsrMatrix target = g.target.to(d);
  Tensor ranges = g.ranges.defined() ? g.ranges.to(d) : Tensor();
  double a = 2.0 * std::sqrt(3.0 / double(h));
  Tensor z = uniform({n, h}, -a, a, 3, d);
  Tensor err = Tensor::zeros({n}, DType::F32, d), derr = Tensor::full({n}, 1.0, DType::F32, d);
  Tensor dz = Tensor::zeros({n, h}, DType::F32, d);
  ReconWeighting w = weighting();
  structure_recon_error_forward(z, target, ranges, w, err);
  double bytes = double(n) * double(h) * 4 * (backward ? 2 : 1);
  if (backward)
    run_loop(state, d, [&] { structure_recon_error_backward(z, target, ranges, w, err, derr, dz); }, bytes,
             g.pairs * 4.0 * double(h));
  else
    run_loop(state, d, [&] { structure_recon_error_forward(z, target, ranges, w, err); }, bytes,
             g.pairs * 2.0 * double(h));
  state.counters["pairs"] = g.pairs;
}

void register_all(Device d) {
  std::string dev = device_name(d);
  bool gpu = d == Device::CUDA;
  auto reg = [&](const std::string& name, void (*fn)(benchmark::State&, Device)) {
    return benchmark::RegisterBenchmark((name + "/" + dev).c_str(), [fn, d](benchmark::State& s) { fn(s, d); });
  };
  for (int bwd : {0, 1}) {
    auto* b = reg(bwd ? "dense_recon_backward" : "dense_recon_forward", bench_dense)->ArgNames({"N", "D", "bwd"});
    for (int64_t n : {int64_t(1000), int64_t(100000), int64_t(1000000)}) b->Args({n, 64, bwd});
    b->Unit(benchmark::kMicrosecond)->UseRealTime();

    // Sparse attribute targets: BlogCatalog's shape and density (5,196 x 8,189, 0.94 %), and a wide sparse batch.
    auto* sp = reg(bwd ? "csr_target_recon_backward" : "csr_target_recon_forward", bench_sparse_target)
                   ->ArgNames({"N", "D", "permille", "dense", "bwd"});
    for (int dense : {0, 1}) {
      sp->Args({5196, 8189, 9, dense, bwd});
      if (gpu) sp->Args({100000, 2048, 10, dense, bwd});
    }
    sp->Unit(benchmark::kMillisecond)->UseRealTime();

    // One graph: O(N^2 H) work, O(N H + E) memory.
    auto* s = reg(bwd ? "structure_recon_backward" : "structure_recon_forward", bench_structure)
                  ->ArgNames({"N", "H", "batched", "bwd"});
    std::vector<int64_t> single = gpu ? std::vector<int64_t>{1000, 10000, 50000} : std::vector<int64_t>{1000, 3000};
    for (int64_t n : single) s->Args({n, 64, 0, bwd});
    if (gpu) s->Args({10000, 128, 0, bwd});
    // Block-diagonal batches of 64-node traces, up to 10^6 nodes on the GPU.
    std::vector<int64_t> batch = gpu ? std::vector<int64_t>{1000, 100000, 1000000} : std::vector<int64_t>{1000, 100000};
    for (int64_t n : batch) s->Args({n, 64, 1, bwd});
    s->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all(Device::CPU);
  if (cuda_available()) register_all(Device::CUDA);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("cuda", cuda_status());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
