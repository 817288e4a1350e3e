// Graph op benchmarks: AnomalyDAE's sparse graph attention (forward, backward), MUAD's GATv2 step and SpMM,
// on the CPU and, when a GPU is usable, on CUDA (registered at runtime). Random graphs with a fixed seed:
// `nodes` nodes, `deg` out-neighbours each (duplicates merged), `C` channels. Counters: bytes/s (an estimate of the
// compulsory traffic: index arrays, per-edge arrays and one gathered feature row per edge), FLOP/s for
// SpMM (2 nnz N) and peak_bytes, the peak tensor memory of the device during the run (runtime/memory.h).
//   ./build/experiments/benchmarks/bench_graph --benchmark_filter=cuda
#include <benchmark/benchmark.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "experiments/benchmarks/degree_graphs.h"
#include "kernels/graph_attention.h"
#include "kernels/spmm.h"
#include "runtime/csr.h"
#include "runtime/cuda_context.h"
#include "runtime/memory.h"
#include "runtime/tensor.h"
#include "runtime/cpu_threads.h"

using namespace ad;

namespace {

// Square (graph) or rectangular (attributes) random CSR with values in [0.5, 1.5).
CsrMatrix random_csr(int64_t rows, int64_t cols, int64_t per_row, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> col(0, cols - 1);
  std::uniform_real_distribution<double> val(0.5, 1.5);
  std::vector<int64_t> r, c;
  std::vector<double> v;
  r.reserve(size_t(rows * per_row));
  c.reserve(size_t(rows * per_row));
  v.reserve(size_t(rows * per_row));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t k = 0; k < per_row; ++k) {
      r.push_back(i);
      c.push_back(col(gen));
      v.push_back(val(gen));
    }
  return csr_from_triplets(rows, cols, r, c, v);
}

Tensor filled(const Shape& s, double v, Device d) { return Tensor::full(s, v, DType::F32, d); }

void run_loop(benchmark::State& state, Device d, const std::function<void()>& body, double bytes, double flops) {
  body();  // warm up: library setup and allocator growth stay out of the timing
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

struct GatSetup {
  AttentionGraph g;
  Tensor feat, fs, fd, attn, out, dout, edge_grad, dfeat, dfs, dfd;
  GatSetup(int64_t nodes, int64_t deg, int64_t C, Device d) {
    g = AttentionGraph::build(random_csr(nodes, nodes, deg, 42)).to(d);
    int64_t E = g.edges();
    feat = filled({nodes, C}, 0.5, d);
    fs = filled({nodes}, 0.1, d);
    fd = filled({nodes}, -0.2, d);
    attn = filled({E}, 0, d);
    out = filled({nodes, C}, 0, d);
    dout = filled({nodes, C}, 0.3, d);
    edge_grad = filled({E}, 0, d);
    dfeat = filled({nodes, C}, 0, d);
    dfs = filled({nodes}, 0, d);
    dfd = filled({nodes}, 0, d);
  }
};

void bench_gat_forward(benchmark::State& state, Device d) {
  int64_t nodes = state.range(0), deg = state.range(1), C = state.range(2);
  reset_peak_memory(d);
  GatSetup s(nodes, deg, C, d);
  const double N = double(nodes), E = double(s.g.edges());
  // row_ptr, f_src, col, val, f_dst gather, attn write, feat row gather per edge, out write.
  const double bytes = 8 * N + 4 * N + 4 * E * 4 + 4 * E * double(C) + 4 * N * double(C);
  GraphAttentionOptions opt;
  run_loop(state, d, [&] { graph_attention_forward(s.g, s.feat, s.fs, s.fd, opt, s.attn, s.out); }, bytes, 0);
}

void bench_gat_backward(benchmark::State& state, Device d) {
  int64_t nodes = state.range(0), deg = state.range(1), C = state.range(2);
  reset_peak_memory(d);
  GatSetup s(nodes, deg, C, d);
  GraphAttentionOptions opt;
  graph_attention_forward(s.g, s.feat, s.fs, s.fd, opt, s.attn, s.out);
  const double N = double(nodes), E = double(s.g.edges());
  // Rows: row_ptr, f_src, dout, col, val, f_dst, attn, edge_grad (write, read, write), feat gather, df_src.
  // Columns: t_row_ptr, t_col, edge_of (8), attn and edge_grad gathers, dout gather, dfeat, df_dst.
  const double bytes = (8 * N + 4 * N + 4 * N * double(C) + 4 * E * 7 + 4 * E * double(C) + 4 * N) +
                       (8 * N + 4 * E + 8 * E + 4 * E * 2 + 4 * E * double(C) + 4 * N * double(C) + 4 * N);
  run_loop(state, d,
           [&] {
             graph_attention_backward(s.g, s.feat, s.fs, s.fd, s.attn, s.dout, opt, s.edge_grad, s.dfeat, s.dfs,
                                      s.dfd);
           },
           bytes, 0);
}

// One training step's graph attention (forward then backward) on a graph of a degree family
// (degree_graphs.h); tools/sweeps/gpu_graph_attention.sh compares it with PyTorch on the same graphs.
void bench_gat_step_by_degree(benchmark::State& state, Device d) {
  const int family = int(state.range(0));
  const int64_t nodes = state.range(1), C = state.range(2);
  reset_peak_memory(d);
  const CsrMatrix m = bench::degree_family_graph(family, nodes);
  int64_t max_degree = 0;
  for (int64_t i = 0; i < nodes; ++i)
    max_degree = std::max(max_degree, m.row_ptr.data<int64_t>()[i + 1] - m.row_ptr.data<int64_t>()[i]);
  AttentionGraph g = AttentionGraph::build(m).to(d);
  const int64_t E = g.edges();
  Tensor feat = filled({nodes, C}, 0.5, d), fs = filled({nodes}, 0.1, d), fd = filled({nodes}, -0.2, d);
  Tensor attn = filled({E}, 0, d), out = filled({nodes, C}, 0, d), dout = filled({nodes, C}, 0.3, d);
  Tensor edge_grad = filled({E}, 0, d), dfeat = filled({nodes, C}, 0, d), dfs = filled({nodes}, 0, d),
         dfd = filled({nodes}, 0, d);
  GraphAttentionOptions opt;
  run_loop(state, d,
           [&] {
             graph_attention_forward(g, feat, fs, fd, opt, attn, out);
             graph_attention_backward(g, feat, fs, fd, attn, dout, opt, edge_grad, dfeat, dfs, dfd);
           },
           0, 0);
  state.counters["edges"] = double(E);
  state.counters["max_degree"] = double(max_degree);
  state.SetLabel(bench::degree_family_name(family));
}

// The same for GATv2 with the max over heads (MUAD's graph stage; H heads of D channels): forward then backward
// (datt's column sums included); the sweep's GATv2 table compares it with PyTorch on the same graphs.
void bench_gatv2_step_by_degree(benchmark::State& state, Device d) {
  const int family = int(state.range(0));
  const int64_t nodes = state.range(1), H = state.range(2), D = state.range(3), HD = H * D;
  reset_peak_memory(d);
  const CsrMatrix m = bench::degree_family_graph(family, nodes);
  int64_t max_degree = 0;
  for (int64_t i = 0; i < nodes; ++i)
    max_degree = std::max(max_degree, m.row_ptr.data<int64_t>()[i + 1] - m.row_ptr.data<int64_t>()[i]);
  AttentionGraph g = AttentionGraph::build(m).to(d);
  const int64_t E = g.edges();
  Tensor src = filled({nodes, HD}, 0.5, d), dst = filled({nodes, HD}, -0.2, d), att = filled({HD}, 0.1, d);
  Tensor attn = filled({E, H}, 0, d), out = filled({nodes, D}, 0, d), dout = filled({nodes, D}, 0.3, d);
  Tensor arg = Tensor::full({nodes, D}, 0, DType::I32, d), edge_grad = filled({E, H}, 0, d);
  Tensor rows = filled({nodes, HD}, 0, d), dsrc = filled({nodes, HD}, 0, d), ddst = filled({nodes, HD}, 0, d),
         datt = filled({HD}, 0, d);
  Gatv2Options opt;
  opt.heads = H;
  run_loop(state, d,
           [&] {
             gatv2_forward(g, src, dst, att, opt, attn, out, arg);
             gatv2_backward(g, src, dst, att, attn, arg, dout, opt, edge_grad, rows, dsrc, ddst, datt);
           },
           0, 0);
  state.counters["edges"] = double(E);
  state.counters["max_degree"] = double(max_degree);
  state.SetLabel(bench::degree_family_name(family));
}

// A [rows, cols] sparse with `per_row` nonzeros per row times B [cols, n].
void bench_spmm(benchmark::State& state, Device d) {
  int64_t rows = state.range(0), cols = state.range(1), per_row = state.range(2), n = state.range(3);
  reset_peak_memory(d);
  CsrMatrix a = random_csr(rows, cols, per_row, 7).to(d);
  Tensor b = filled({cols, n}, 0.5, d), c = filled({rows, n}, 0, d);
  const double nnz = double(a.nnz());
  const double bytes = 8 * double(rows) + 8 * nnz + 4 * nnz * double(n) + 4 * double(rows) * double(n);
  run_loop(state, d, [&] { spmm(a, b, c); }, bytes, 2 * nnz * double(n));
}

void register_all(Device d) {
  std::string dev = device_name(d);
  const bool gpu = d == Device::CUDA;
  auto reg = [&](const std::string& name, void (*fn)(benchmark::State&, Device)) {
    return benchmark::RegisterBenchmark((name + "/" + dev).c_str(), [fn, d](benchmark::State& s) { fn(s, d); });
  };
  for (auto name_fn : {std::make_pair("graph_attention_forward", bench_gat_forward),
                       std::make_pair("graph_attention_backward", bench_gat_backward)}) {
    auto* b = reg(name_fn.first, name_fn.second)->ArgNames({"nodes", "deg", "C"});
    b->Args({10000, 10, 16})->Args({10000, 10, 64})->Args({100000, 10, 64});
    if (gpu) b->Args({100000, 50, 64})->Args({1000000, 10, 32})->Args({100000, 10, 256});
    b->Unit(benchmark::kMicrosecond)->UseRealTime();
  }
  auto* st = reg("graph_attention_step_by_degree", bench_gat_step_by_degree)->ArgNames({"family", "nodes", "C"});
  for (int family = 0; family < 4; ++family) {
    st->Args({family, 20000, 64});
    if (gpu) st->Args({family, 1000000, 64});
  }
  st->Unit(benchmark::kMicrosecond)->UseRealTime();
  auto* st2 = reg("gatv2_step_by_degree", bench_gatv2_step_by_degree)->ArgNames({"family", "nodes", "H", "D"});
  for (int family = 0; family < 4; ++family) {
    st2->Args({family, 20000, 4, 64});  // MUAD's heads and width
    if (gpu) st2->Args({family, 1000000, 4, 64});
  }
  st2->Unit(benchmark::kMicrosecond)->UseRealTime();
  auto* s = reg("spmm", bench_spmm)->ArgNames({"rows", "cols", "per_row", "N"});
  s->Args({10000, 5000, 20, 64})->Args({100000, 10000, 10, 64});
  if (gpu) s->Args({1000000, 50000, 20, 128});
  s->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  ad::restart_with_cpu_environment(argv);  // OpenMP wait policy and OpenBLAS kernels (runtime/cpu_threads.h)
  register_all(Device::CPU);
  if (cuda_available()) register_all(Device::CUDA);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("cuda", cuda_status());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
