// Graphs by degree distribution for the graph-attention sweep, from closed formulas so that the PyTorch
// baseline (tools/reference/gat_torch_step.py) builds exactly the same graphs without sharing files.
// Row i's k-th neighbour is (i * 2654435761 + (k + 1) * 40503) mod n; duplicates are merged (values summed,
// each edge has value 1). Families:
//   0 "deg0-3":    degree i % 4 (trace graphs: most rows 1-3 edges, some empty)
//   1 "uniform16": degree 16
//   2 "powerlaw":  degree min(n, max(1, floor(4 sqrt(n / (i + 1))))) (a few rows with hundreds to thousands)
//   3 "hub":       degree 2, plus node 0 linked to and from every node (one row and one column of n edges)
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/csr.h"

namespace ad::bench {

inline const char* degree_family_name(int family) {
  static const char* names[] = {"deg0-3", "uniform16", "powerlaw", "hub"};
  return family >= 0 && family < 4 ? names[family] : "unknown";
}

inline CsrMatrix degree_family_graph(int family, int64_t n) {
  std::vector<int64_t> r, c;
  auto degree = [&](int64_t i) -> int64_t {
    switch (family) {
      case 0: return i % 4;
      case 1: return 16;
      case 2: {
        const int64_t d = int64_t(std::floor(4.0 * std::sqrt(double(n) / double(i + 1))));
        return d < 1 ? 1 : (d > n ? n : d);
      }
      default: return 2;
    }
  };
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < degree(i); ++k) {
      r.push_back(i);
      c.push_back(int64_t((uint64_t(i) * 2654435761ull + uint64_t(k + 1) * 40503ull) % uint64_t(n)));
    }
  if (family == 3)
    for (int64_t j = 0; j < n; ++j) {
      r.push_back(0), c.push_back(j);
      r.push_back(j), c.push_back(0);
    }
  return csr_from_triplets(n, n, r, c, std::vector<double>(r.size(), 1.0));
}

}  // namespace ad::bench
