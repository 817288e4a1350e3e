#include "models/anomalydae/graph_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "runtime/checked.h"
#include "runtime/csr.h"
#include "runtime/fs_util.h"
#include "runtime/npy.h"

namespace ad::anomalydae {
namespace {

// Rows of a small comma-separated file with a fixed header; errors name file and line.
std::vector<std::vector<std::string>> read_rows(const std::string& path, const std::vector<std::string>& need,
                                                size_t min_cols, std::vector<std::string>* header_out = nullptr) {
  const char* op = "load_graph_dir";
  std::ifstream in(path);
  AD_CHECK(in.good(), op, "cannot open ", path);
  std::string line;
  AD_CHECK(bool(std::getline(in, line)), op, path, ": empty file (expected a header)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, ',')) header.push_back(f);
  }
  for (size_t i = 0; i < need.size(); ++i)
    AD_CHECK(i < header.size() && header[i] == need[i], op, path, ":1: expected column ", i + 1, " to be \"",
             need[i], "\", header is \"", line, "\"");
  if (header_out) *header_out = header;
  std::vector<std::vector<std::string>> rows;
  int64_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (!line.empty() && line.back() == ',') f.push_back("");
    AD_CHECK(f.size() >= min_cols && f.size() <= header.size(), op, path, ":", lineno, ": expected ", header.size(),
             " fields, got ", f.size());
    rows.push_back(std::move(f));
  }
  return rows;
}

int64_t parse_id(const std::string& s, const std::string& path, size_t row, int col) {
  size_t pos = 0;
  int64_t v = -1;
  try {
    v = std::stoll(s, &pos);
  } catch (...) {
    pos = 0;
  }
  AD_CHECK(pos == s.size() && !s.empty(), "load_graph_dir", path, ":", row + 2, ":", col, ": \"", s,
           "\" is not an integer");
  return v;
}

}  // namespace

CsrMatrix undirected_adjacency(int64_t nodes, const std::vector<int64_t>& src, const std::vector<int64_t>& dst) {
  std::vector<int64_t> r, c;
  r.reserve(src.size() * 2);
  c.reserve(src.size() * 2);
  for (size_t k = 0; k < src.size(); ++k) {
    if (src[k] == dst[k]) continue;
    r.push_back(src[k]);
    c.push_back(dst[k]);
    r.push_back(dst[k]);
    c.push_back(src[k]);
  }
  CsrMatrix m = csr_from_triplets(nodes, nodes, r, c, {});
  m.val = Tensor::full({m.nnz()}, 1.0);
  return m;
}

AttributedGraph load_graph_dir(const std::string& dir) {
  const char* op = "load_graph_dir";
  namespace fs = std::filesystem;
  AD_CHECK(fs::is_directory(dir), op, "graph folder ", dir, " does not exist");
  AttributedGraph g;
  // Features first: they fix N.
  if (fs::exists(dir + "/features.npy")) {
    Tensor f = load_npy(dir + "/features.npy");
    AD_CHECK(f.dim() == 2, op, dir, "/features.npy: expected a 2-d array, got ", f.describe());
    g.features = f.dtype() == DType::F32 ? f : f.to_dtype(DType::F32);
  } else {
    AD_CHECK(fs::exists(dir + "/features_indptr.npy"), op, dir, ": neither features.npy nor features_indptr.npy");
    const std::string shape_path = dir + "/features_shape.txt";
    std::istringstream sh(read_file_bytes(shape_path, op));
    std::string n_text, d_text, extra;
    sh >> n_text >> d_text;
    AD_CHECK(!n_text.empty() && !d_text.empty() && !(sh >> extra), op, shape_path, ": expected \"N d\"");
    const int64_t n = parse_int_in_range(n_text, 1, INT32_MAX, op, shape_path + ": N");
    const int64_t d = parse_int_in_range(d_text, 1, INT32_MAX, op, shape_path + ": d");
    // The network's reconstruction X^ is a dense n x d array (f32): refuse a product that does not fit.
    checked_numel({n, d}, op, shape_path + ": dense features");
    // Kept as CSR (load_csr_npy checks every index and that the values are finite).
    g.sparse_features = load_csr_npy(dir + "/features_indptr.npy", dir + "/features_indices.npy",
                                     dir + "/features_data.npy", n, d);
  }
  if (g.features.defined()) {
    // Checked in place (f32): to_vector() would make an f64 copy twice the size of the dense features.
    const float* fv = g.features.data<float>();
    for (int64_t i = 0, count = g.features.numel(); i < count; ++i)
      AD_CHECK(std::isfinite(fv[i]), op, dir, ": features contain NaN or inf");
  }
  const int64_t n = g.features.defined() ? g.features.size(0) : g.sparse_features.rows;

  std::string epath = dir + "/edges.csv";
  auto rows = read_rows(epath, {"src", "dst"}, 2);
  std::vector<int64_t> src, dst;
  for (size_t i = 0; i < rows.size(); ++i) {
    int64_t a = parse_id(rows[i][0], epath, i, 1), b = parse_id(rows[i][1], epath, i, 2);
    AD_CHECK(a >= 0 && a < n && b >= 0 && b < n, op, epath, ":", i + 2, ": node id outside [0, ", n, ")");
    src.push_back(a);
    dst.push_back(b);
  }
  g.adjacency = undirected_adjacency(n, src, dst);

  std::string lpath = dir + "/labels.csv";
  if (fs::exists(lpath)) {
    std::vector<std::string> header;
    auto lrows = read_rows(lpath, {"node", "label"}, 2, &header);
    g.labels.assign(size_t(n), -1);
    g.kinds.assign(size_t(n), "");
    for (size_t i = 0; i < lrows.size(); ++i) {
      int64_t v = parse_id(lrows[i][0], lpath, i, 1), l = parse_id(lrows[i][1], lpath, i, 2);
      AD_CHECK(v >= 0 && v < n, op, lpath, ":", i + 2, ": node id outside [0, ", n, ")");
      AD_CHECK(l == 0 || l == 1, op, lpath, ":", i + 2, ": label must be 0 or 1");
      AD_CHECK(g.labels[size_t(v)] == -1, op, lpath, ":", i + 2, ": node ", v, " labelled twice");
      g.labels[size_t(v)] = int(l);
      if (lrows[i].size() > 2) g.kinds[size_t(v)] = lrows[i][2];
    }
    for (int64_t v = 0; v < n; ++v) AD_CHECK(g.labels[size_t(v)] != -1, op, lpath, ": node ", v, " has no label");
  }
  return g;
}

AttributedGraph make_synthetic_graph(const SyntheticGraphSettings& s, uint64_t seed) {
  std::mt19937_64 gen(seed);
  const int64_t n = s.nodes, d = s.attrs, k = s.communities;
  // Communities with their own attribute profile (binary bag of words, ~8% density in-profile, 1% outside).
  std::vector<int64_t> comm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) comm[size_t(i)] = i % k;
  std::vector<std::vector<double>> profile(static_cast<size_t>(k), std::vector<double>(size_t(d)));
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& p : profile)
    for (double& v : p) v = u(gen) < 0.2 ? 0.4 : 0.02;
  std::vector<double> x(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) x[size_t(i * d + j)] = u(gen) < profile[size_t(comm[size_t(i)])][size_t(j)];
  // Edges: ~85% inside the community, the rest anywhere; avg_degree/2 draws per node.
  std::vector<int64_t> src, dst;
  int64_t per_node = std::max<int64_t>(1, int64_t(std::lround(s.avg_degree / 2)));
  std::uniform_int_distribution<int64_t> any(0, n - 1);
  int64_t per_comm = (n + k - 1) / k;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t e = 0; e < per_node; ++e) {
      int64_t j;
      if (u(gen) < 0.85) {
        int64_t m = std::uniform_int_distribution<int64_t>(0, per_comm - 1)(gen);
        j = std::min(n - 1, m * k + comm[size_t(i)]);
      } else {
        j = any(gen);
      }
      src.push_back(i);
      dst.push_back(j);
    }
  AttributedGraph g;
  g.labels.assign(size_t(n), 0);
  g.kinds.assign(size_t(n), "");
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  std::shuffle(order.begin(), order.end(), gen);
  size_t next = 0;
  // Structural: cliques of clique_size nodes.
  for (int64_t c = 0; c < s.cliques; ++c) {
    std::vector<int64_t> members(order.begin() + next, order.begin() + next + size_t(s.clique_size));
    next += size_t(s.clique_size);
    for (size_t a = 0; a < members.size(); ++a) {
      g.labels[size_t(members[a])] = 1;
      g.kinds[size_t(members[a])] = "structural";
      for (size_t b = a + 1; b < members.size(); ++b) {
        src.push_back(members[a]);
        dst.push_back(members[b]);
      }
    }
  }
  // Contextual: copy the attributes of the farthest (Euclidean) of `candidates` random nodes.
  std::vector<double> x0 = x;
  for (int64_t c = 0; c < s.attribute_anomalies; ++c) {
    int64_t i = order[next++];
    int64_t best = i;
    double best_d = -1;
    for (int64_t t = 0; t < s.candidates; ++t) {
      int64_t j = any(gen);
      double dist = 0;
      for (int64_t f = 0; f < d; ++f) {
        double df = x0[size_t(i * d + f)] - x0[size_t(j * d + f)];
        dist += df * df;
      }
      if (dist > best_d) best_d = dist, best = j;
    }
    for (int64_t f = 0; f < d; ++f) x[size_t(i * d + f)] = x0[size_t(best * d + f)];
    g.labels[size_t(i)] = 1;
    g.kinds[size_t(i)] = "contextual";
  }
  g.adjacency = undirected_adjacency(n, src, dst);
  g.features = Tensor::from_vector(x, {n, d});
  return g;
}

void set_feature_storage(AttributedGraph& g, const std::string& storage) {
  AD_CHECK(storage == "auto" || storage == "csr" || storage == "dense", "set_feature_storage",
           "feature_storage must be auto, csr or dense, got \"", storage, "\"");
  if (storage == "csr" && g.features.defined()) {
    g.sparse_features = csr_from_dense(g.features);
    g.features = Tensor();
  } else if (storage == "dense" && g.sparse()) {
    g.features = csr_to_dense(g.sparse_features);
    g.sparse_features = CsrMatrix();
  }
}

void scale_attributes_minmax(AttributedGraph& g) {
  if (g.sparse()) {
    CsrMatrix& m = g.sparse_features;
    const int64_t n = m.rows, d = m.cols;
    const int32_t* col = m.col.data<int32_t>();
    float* v = m.nnz() > 0 ? m.val.data<float>() : nullptr;
    // Per column: min and max over its entries, and whether it has an absent (zero) entry.
    std::vector<float> lo(size_t(d), INFINITY), hi(size_t(d), -INFINITY);
    std::vector<int64_t> count(size_t(d), 0);
    for (int64_t e = 0; e < m.nnz(); ++e) {
      lo[size_t(col[e])] = std::min(lo[size_t(col[e])], v[e]);
      hi[size_t(col[e])] = std::max(hi[size_t(col[e])], v[e]);
      ++count[size_t(col[e])];
    }
    bool zero_stays_zero = true;
    for (int64_t j = 0; j < d; ++j)
      if (count[size_t(j)] < n) {
        lo[size_t(j)] = std::min(lo[size_t(j)], 0.0f);
        hi[size_t(j)] = std::max(hi[size_t(j)], 0.0f);
        zero_stays_zero = zero_stays_zero && lo[size_t(j)] == 0.0f;
      }
    if (zero_stays_zero) {
      // The dense loop's expression on each entry (the same bits); absent entries map to (0 - 0) / range = 0.
      for (int64_t e = 0; e < m.nnz(); ++e) {
        const float a = lo[size_t(col[e])], b = hi[size_t(col[e])];
        v[e] = b > a ? (v[e] - a) / (b - a) : 0.0f;
      }
      return;
    }
    set_feature_storage(g, "dense");
  }
  Tensor& x = g.features;
  const int64_t n = x.size(0), d = x.size(1);
  float* p = x.data<float>();
  for (int64_t j = 0; j < d; ++j) {
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; ++i) lo = std::min(lo, p[i * d + j]), hi = std::max(hi, p[i * d + j]);
    for (int64_t i = 0; i < n; ++i) p[i * d + j] = hi > lo ? (p[i * d + j] - lo) / (hi - lo) : 0.0f;
  }
}

namespace {

// Everything but the attributes: Â, the structure target A + I, the ranges.
GraphInputs structure_inputs(const CsrMatrix& adjacency, int64_t attr_rows, const Tensor& ranges, Device device,
                             DType dtype) {
  const char* op = "anomalydae::make_inputs";
  const int64_t n = adjacency.rows;
  AD_CHECK(adjacency.cols == n && attr_rows == n, op, "adjacency ", adjacency.describe(), " does not match ",
           attr_rows, " attribute rows");
  AD_CHECK(!ranges.defined() || (ranges.dtype() == DType::I64 && ranges.dim() == 2 && ranges.size(0) == n &&
                                 ranges.size(1) == 2),
           op, "ranges must be i64 [N, 2], got ", ranges.describe());
  // A + I and Â = D^-1/2 (A + I) D^-1/2 (degrees of A + I; the GAE preprocess_graph the official code uses).
  const int64_t* rp = adjacency.row_ptr.data<int64_t>();
  const int32_t* col = adjacency.col.data<int32_t>();
  std::vector<int64_t> r, c;
  r.reserve(size_t(adjacency.nnz() + n));
  c.reserve(size_t(adjacency.nnz() + n));
  for (int64_t i = 0; i < n; ++i) {
    r.push_back(i);
    c.push_back(i);
    for (int64_t e = rp[i]; e < rp[i + 1]; ++e) {
      r.push_back(i);
      c.push_back(col[e]);
    }
  }
  CsrMatrix target = csr_from_triplets(n, n, r, c, {});
  std::vector<double> deg(static_cast<size_t>(n));
  const int64_t* trp = target.row_ptr.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) deg[size_t(i)] = double(trp[i + 1] - trp[i]);
  const int32_t* tc = target.col.data<int32_t>();
  std::vector<double> vals(size_t(target.nnz()));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t e = trp[i]; e < trp[i + 1]; ++e) vals[size_t(e)] = 1.0 / std::sqrt(deg[size_t(i)] * deg[size_t(tc[e])]);
  CsrMatrix norm = target;
  norm.val = Tensor::from_vector(vals, {target.nnz()}, dtype);

  GraphInputs in;
  in.nodes = n;
  in.dtype = dtype;
  in.device = device;
  in.att = AttentionGraph::build(norm).to(device);
  in.target = target.to(device);
  if (ranges.defined()) in.ranges = ranges.to(device);
  return in;
}

// x (CPU, values of the inputs' dtype) and its transpose on the inputs' device.
void set_attributes(GraphInputs& in, const CsrMatrix& x) {
  in.attrs = x.cols;
  CsrMatrix x_t = csr_transpose(x);
  in.x = in.device == Device::CPU ? x : x.to(in.device);
  in.x_t = in.device == Device::CPU ? x_t : x_t.to(in.device);
}

}  // namespace

GraphInputs make_inputs(const CsrMatrix& adjacency, const Tensor& features, const Tensor& ranges, Device device,
                        DType dtype) {
  AD_CHECK(features.dim() == 2, "anomalydae::make_inputs", "features must be [N, d], got ", features.describe());
  GraphInputs in = structure_inputs(adjacency, features.size(0), ranges, device, dtype);
  Tensor xf = features.dtype() == dtype ? features : features.to_dtype(dtype);
  set_attributes(in, csr_from_dense(xf));
  // On the CPU the target shares the caller's array (read-only from here on): a copy was a second dense N x d
  // (BlogCatalog: 170 MB of a ~1 GB peak).
  in.x_dense = device == Device::CPU ? xf : xf.to(device);
  return in;
}

GraphInputs make_inputs(const CsrMatrix& adjacency, const CsrMatrix& features, const Tensor& ranges, Device device,
                        DType dtype) {
  const char* op = "anomalydae::make_inputs";
  AD_CHECK(features.has_values() && features.device() == Device::CPU, op,
           "CSR features need values, on the CPU: ", features.describe());
  features.validate(op);
  GraphInputs in = structure_inputs(adjacency, features.rows, ranges, device, dtype);
  set_attributes(in, features.val.dtype() == dtype ? features : features.to_dtype(dtype));
  return in;
}

GraphInputs make_inputs(const AttributedGraph& g, Device device, DType dtype) {
  return g.sparse() ? make_inputs(g.adjacency, g.sparse_features, Tensor(), device, dtype)
                    : make_inputs(g.adjacency, g.features, Tensor(), device, dtype);
}

}  // namespace ad::anomalydae
