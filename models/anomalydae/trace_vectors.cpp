#include "models/anomalydae/trace_vectors.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <random>

#include "kernels/gemm.h"
#include "runtime/error.h"
#include "runtime/zip.h"

namespace ad::anomalydae {

TraceVectors read_trace_vectors(const std::string& path, const ZipLimits& zip) {
  const char* op = "read_trace_vectors";
  const std::string text = read_maybe_zipped(path, op, zip);
  TraceVectors tv;
  size_t at = 0;
  int64_t lineno = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    ++lineno;
    std::string_view line(text.data() + at, end - at);
    at = end + 1;
    // The TrainTicket files end lines with "\n\r": strip carriage returns at both ends.
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && line.front() == '\r') line.remove_prefix(1);
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    AD_CHECK(colon != std::string_view::npos && colon > 0, op, path, ":", lineno,
             ": expected \"<trace id>:<values>\"");
    tv.ids.emplace_back(line.substr(0, colon));
    std::vector<std::pair<int32_t, float>> nz;
    int64_t col = 0;
    const char* p = line.data() + colon + 1;
    const char* stop = line.data() + line.size();
    while (true) {
      float v = 0;
      auto [next, ec] = std::from_chars(p, stop, v);
      AD_CHECK(ec == std::errc() && std::isfinite(v) && v >= 0, op, path, ":", lineno, ": value ", col + 1,
               " is not a non-negative number");
      if (v > 1e-5f) nz.emplace_back(int32_t(col), v);
      ++col;
      if (next == stop) break;
      AD_CHECK(*next == ',', op, path, ":", lineno, ": value ", col, " is followed by '", *next, "', not ','");
      p = next + 1;
    }
    if (tv.width == 0) tv.width = col;
    AD_CHECK(col == tv.width, op, path, ":", lineno, ": ", col, " values, the first line has ", tv.width);
    tv.present.push_back(std::move(nz));
  }
  AD_CHECK(!tv.ids.empty(), op, path, ": no traces");
  return tv;
}

namespace {

// Up to `count` indices of [0, n) in random order (all of them when count is 0 or >= n).
std::vector<size_t> sample(size_t n, int64_t count, std::mt19937_64& rng) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t(0));
  std::shuffle(idx.begin(), idx.end(), rng);
  if (count > 0 && size_t(count) < n) idx.resize(size_t(count));
  return idx;
}

}  // namespace

AttributedGraph load_trace_vectors(const TraceVectorGraphSettings& s, uint64_t seed) {
  const char* op = "load_trace_vectors";
  AD_CHECK(s.knn >= 1, op, "knn must be >= 1, got ", s.knn);
  AD_CHECK(s.normal_count >= 0 && s.abnormal_count >= 0, op, "trace counts must be >= 0");
  TraceVectors normal = read_trace_vectors(s.normal, s.zip), abnormal = read_trace_vectors(s.abnormal, s.zip);
  AD_CHECK(normal.width == abnormal.width, op, s.normal, " has ", normal.width, " call paths per trace, ",
           s.abnormal, " has ", abnormal.width);

  // Sample each file, then shuffle the nodes together so that node order says nothing about the label.
  std::mt19937_64 rng(seed);
  struct Node {
    const TraceVectors* from;
    size_t row;
    int label;
  };
  std::vector<Node> nodes;
  for (size_t r : sample(normal.ids.size(), s.normal_count, rng)) nodes.push_back({&normal, r, 0});
  for (size_t r : sample(abnormal.ids.size(), s.abnormal_count, rng)) nodes.push_back({&abnormal, r, 1});
  std::shuffle(nodes.begin(), nodes.end(), rng);
  const int64_t n = int64_t(nodes.size());
  AD_CHECK(n > s.knn, op, n, " traces sampled; knn ", s.knn, " needs more");

  // Columns: call paths present in some sampled trace; statistics over the traces where each occurs.
  const int64_t w = normal.width;
  std::vector<int64_t> count(size_t(w), 0);
  std::vector<double> sum(size_t(w), 0), sumsq(size_t(w), 0);
  for (const Node& v : nodes)
    for (auto [c, x] : v.from->present[v.row]) {
      count[size_t(c)] += 1;
      sum[size_t(c)] += x;
      sumsq[size_t(c)] += double(x) * x;
    }
  std::vector<int64_t> column(size_t(w), -1);
  int64_t d = 0;
  for (int64_t c = 0; c < w; ++c)
    if (count[size_t(c)] > 0) column[size_t(c)] = d++;
  std::vector<float> mean(size_t(w), 0), scale(size_t(w), 1);
  for (int64_t c = 0; c < w; ++c)
    if (count[size_t(c)] > 0) {
      const double m = sum[size_t(c)] / double(count[size_t(c)]);
      const double var = std::max(0.0, sumsq[size_t(c)] / double(count[size_t(c)]) - m * m);
      mean[size_t(c)] = float(m);
      scale[size_t(c)] = float(std::max(1.0, std::sqrt(var)));
    }

  AttributedGraph g;
  g.features = Tensor::full({n, d}, -1.0);
  std::vector<float> presence(size_t(n * d), 0.0f), norm(size_t(n), 0.0f);
  float* f = g.features.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const Node& v = nodes[size_t(i)];
    const auto& nz = v.from->present[v.row];
    for (auto [c, x] : nz) {
      const int64_t j = column[size_t(c)];
      f[i * d + j] = (x - mean[size_t(c)]) / scale[size_t(c)];
      presence[size_t(i * d + j)] = 1.0f;
    }
    norm[size_t(i)] = std::sqrt(float(nz.size()));  // 0 for an empty trace: similarity 0 to all
    g.labels.push_back(v.label);
    g.names.push_back(v.from->ids[v.row]);
  }

  // k nearest neighbours by cosine similarity of the presence vectors, a block of rows at a time so that
  // memory stays O(block * n). Every trace as similar as the k-th is a neighbour too: traces repeat the same
  // few call-path sets thousands of times, and picking k of many identical traces would make the structure
  // arbitrary (a trace linked to 10 of its 800 twins and not to the other 790).
  std::vector<int64_t> src, dst;
  const int64_t block = 512;
  std::vector<float> sim(size_t(block * n));
  std::vector<int64_t> order(static_cast<size_t>(n), 0);
  for (int64_t r0 = 0; r0 < n; r0 += block) {
    const int64_t rows = std::min(block, n - r0);
    cpu::gemm<float>(false, true, rows, n, d, 1.0f, presence.data() + r0 * d, d, presence.data(), d, 0.0f,
                     sim.data(), n);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = r0 + r;
      float* row = sim.data() + r * n;
      for (int64_t j = 0; j < n; ++j) {
        const float den = norm[size_t(i)] * norm[size_t(j)];
        row[j] = den > 0 ? row[j] / den : 0.0f;
      }
      row[i] = -INFINITY;  // not its own neighbour
      std::iota(order.begin(), order.end(), int64_t(0));
      std::nth_element(order.begin(), order.begin() + (s.knn - 1), order.end(),
                       [&](int64_t a, int64_t b) { return row[a] > row[b]; });
      const float kth = row[order[size_t(s.knn - 1)]];
      for (int64_t j = 0; j < n; ++j)
        if (j != i && row[j] >= kth) {
          src.push_back(i);
          dst.push_back(j);
        }
    }
  }
  g.adjacency = undirected_adjacency(n, src, dst);
  return g;
}

}  // namespace ad::anomalydae
