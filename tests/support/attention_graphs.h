// Graphs for the graph-attention kernel tests (tests/kernels/test_graph_attention.cpp, test_gatv2.cpp):
// random graphs with empty rows and columns and an optional hub, a degree 0-3 trace-like graph, and the
// registration of an AttentionGraph's index arrays with the emulation.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "kernels/graph_attention.h"
#include "runtime/csr.h"
#include "tests/support/helpers.h"

namespace ad::test {

// Random directed graph on n nodes with adjacency values in [0.5, 1.5): node i gets up to max_deg
// out-neighbours, except every 7th node (no out-edges) and targets that are 5 mod 11 (no in-edges) are
// skipped. hub >= 0 adds a node linked to and from every node (degree n, above any block size when n > 256).
inline CsrMatrix random_graph(int64_t n, int max_deg, uint64_t seed, int64_t hub = -1, bool self_loops = true) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> node(0, std::max<int64_t>(n - 1, 0));
  std::uniform_int_distribution<int> deg(0, max_deg);
  std::uniform_real_distribution<double> val(0.5, 1.5);
  std::vector<int64_t> r, c;
  std::vector<double> v;
  auto add = [&](int64_t i, int64_t j) {
    r.push_back(i);
    c.push_back(j);
    v.push_back(val(gen));
  };
  for (int64_t i = 0; i < n; ++i) {
    if (i % 7 == 3) continue;
    if (self_loops && i % 3 == 0) add(i, i);
    for (int d = deg(gen); d > 0; --d) {
      int64_t j = node(gen);
      if (j % 11 != 5 && j != i) add(i, j);
    }
  }
  if (hub >= 0)
    for (int64_t j = 0; j < n; ++j) {
      add(hub, j);
      if (j != hub) add(j, hub);
    }
  // Duplicates are summed by csr_from_triplets; values stay positive.
  return csr_from_triplets(n, n, r, c, v);
}

// A trace-like graph: every node has out-degree 0..3 (n % 4), targets spread; no hubs.
inline CsrMatrix low_degree_graph(int64_t n) {
  std::vector<int64_t> r, c;
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < i % 4; ++d) {
      r.push_back(i);
      c.push_back((i * 7 + d * 13 + 1) % n);
      v.push_back(0.5 + 0.1 * double(d));
    }
  return csr_from_triplets(n, n, r, c, v);
}

// Registers every index array of an AttentionGraph (and its splits) with the emulation.
struct RegisteredGraph {
  std::vector<std::unique_ptr<RegisteredMemory>> parts;
  explicit RegisteredGraph(const AttentionGraph& g) {
    auto add = [&](const Tensor& t, const char* name) { parts.push_back(std::make_unique<RegisteredMemory>(t, name)); };
    add(g.adj.row_ptr, "adj.row_ptr");
    add(g.adj.col, "adj.col");
    add(g.adj_t.row_ptr, "adj_t.row_ptr");
    add(g.adj_t.col, "adj_t.col");
    add(g.edge_of, "edge_of");
    for (const GatSplitPlan* p : {&g.row_split, &g.col_split}) {
      add(p->light_rows, "split.light_rows");
      add(p->heavy_rows, "split.heavy_rows");
      add(p->heavy_seg_ptr, "split.heavy_seg_ptr");
      add(p->seg_heavy, "split.seg_heavy");
    }
  }
};

// Adjacency values are needed when scaling; a pattern-only matrix (no triplets) gets an empty value array.
inline CsrMatrix with_values(CsrMatrix m) {
  if (!m.has_values()) m.val = Tensor::empty({m.nnz()}, DType::F32);
  return m;
}

}  // namespace ad::test
