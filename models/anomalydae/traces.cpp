#include "models/anomalydae/traces.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/fs_util.h"
#include "runtime/json.h"

namespace ad::tracedae {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------------------
// Trace structure shared by the featurizer fit and the graph builder.

struct RawNode {
  std::string service, operation, span_id;
  int64_t duration_us = 0;
  int status_code = 0;
  bool error = false;
  int64_t count = 1, depth = 0, fan_out = 0;
};

struct RawTrace {
  std::string id;
  std::vector<RawNode> nodes;                         // DFS preorder
  std::vector<std::pair<int64_t, int64_t>> edges;     // undirected, local indices, a != b, unique
  int64_t orphans = 0;
};

std::vector<RawTrace> structure(const std::vector<Span>& spans, NodeKind kind, const char* op) {
  // Group by trace id, in first-appearance order.
  std::vector<std::string> order;
  std::unordered_map<std::string, size_t> tindex;
  std::vector<std::vector<size_t>> members;
  for (size_t i = 0; i < spans.size(); ++i) {
    auto [it, fresh] = tindex.emplace(spans[i].trace_id, order.size());
    if (fresh) { order.push_back(spans[i].trace_id); members.emplace_back(); }
    members[it->second].push_back(i);
  }
  std::vector<RawTrace> out(order.size());
  for (size_t t = 0; t < order.size(); ++t) {
    const auto& m = members[t];
    const size_t n = m.size();
    RawTrace& rt = out[t];
    rt.id = order[t];
    std::unordered_map<std::string, size_t> local;
    for (size_t k = 0; k < n; ++k) {
      const Span& s = spans[m[k]];
      AD_CHECK(!s.span_id.empty(), op, "trace \"", rt.id, "\": a span has an empty span id");
      AD_CHECK(local.emplace(s.span_id, k).second, op, "trace \"", rt.id, "\": duplicate span id \"", s.span_id,
               "\"");
    }
    std::vector<std::vector<size_t>> children(n);
    std::vector<size_t> roots;
    for (size_t k = 0; k < n; ++k) {
      const Span& s = spans[m[k]];
      if (s.parent_span_id.empty()) { roots.push_back(k); continue; }
      AD_CHECK(s.parent_span_id != s.span_id, op, "trace \"", rt.id, "\": span \"", s.span_id,
               "\" is its own parent (a cycle)");
      auto it = local.find(s.parent_span_id);
      if (it == local.end()) { roots.push_back(k); ++rt.orphans; continue; }
      children[it->second].push_back(k);
    }
    auto before = [&](size_t a, size_t b) {
      const Span& x = spans[m[a]];
      const Span& y = spans[m[b]];
      if (x.start_us != y.start_us) return x.start_us < y.start_us;
      return x.span_id < y.span_id;
    };
    std::sort(roots.begin(), roots.end(), before);
    for (auto& c : children) std::sort(c.begin(), c.end(), before);

    // Iterative DFS preorder.
    std::vector<size_t> pre;
    std::vector<int64_t> depth(n, -1), parent(n, -1);
    pre.reserve(n);
    std::vector<size_t> stack;
    for (auto r = roots.rbegin(); r != roots.rend(); ++r) { stack.push_back(*r); depth[*r] = 0; }
    while (!stack.empty()) {
      size_t k = stack.back();
      stack.pop_back();
      pre.push_back(k);
      for (auto c = children[k].rbegin(); c != children[k].rend(); ++c) {
        depth[*c] = depth[k] + 1;
        parent[*c] = int64_t(k);
        stack.push_back(*c);
      }
    }
    if (pre.size() != n) {
      for (size_t k = 0; k < n; ++k)
        AD_CHECK(depth[k] >= 0, op, "trace \"", rt.id, "\": span \"", spans[m[k]].span_id,
                 "\" is on a parent cycle (", n - pre.size(), " of ", n, " spans unreachable from a root)");
    }

    if (kind == NodeKind::Span) {
      std::vector<int64_t> node_of(n);
      rt.nodes.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        size_t k = pre[i];
        node_of[k] = int64_t(i);
        const Span& s = spans[m[k]];
        RawNode nd;
        nd.service = s.service;
        nd.operation = s.operation;
        nd.span_id = s.span_id;
        nd.duration_us = s.duration_us;
        nd.status_code = s.status_code;
        nd.error = s.error;
        nd.depth = depth[k];
        nd.fan_out = int64_t(children[k].size());
        rt.nodes.push_back(std::move(nd));
        if (parent[k] >= 0) rt.edges.emplace_back(node_of[size_t(parent[k])], int64_t(i));
      }
    } else {
      std::map<std::pair<std::string, std::string>, int64_t> node_of_op;
      std::vector<int64_t> node_of(n);
      for (size_t k : pre) {
        const Span& s = spans[m[k]];
        auto [it, fresh] = node_of_op.emplace(std::make_pair(s.service, s.operation), int64_t(rt.nodes.size()));
        node_of[k] = it->second;
        if (fresh) {
          RawNode nd;
          nd.service = s.service;
          nd.operation = s.operation;
          nd.span_id = s.span_id;
          nd.duration_us = s.duration_us;
          nd.status_code = s.status_code;
          nd.error = s.error;
          nd.depth = depth[k];
          nd.fan_out = int64_t(children[k].size());
          nd.count = 1;
          rt.nodes.push_back(std::move(nd));
        } else {
          RawNode& nd = rt.nodes[size_t(it->second)];
          nd.duration_us += s.duration_us;
          nd.status_code = std::max(nd.status_code, s.status_code);
          nd.error = nd.error || s.error;
          nd.depth = std::min(nd.depth, depth[k]);
          nd.fan_out += int64_t(children[k].size());
          nd.count += 1;
        }
      }
      std::set<std::pair<int64_t, int64_t>> seen;
      for (size_t k : pre) {
        if (parent[k] < 0) continue;
        int64_t a = node_of[size_t(parent[k])], b = node_of[k];
        if (a == b) continue;
        if (seen.emplace(std::min(a, b), std::max(a, b)).second) rt.edges.emplace_back(a, b);
      }
    }
  }
  return out;
}

std::string op_name(const std::string& service, const std::string& operation) {
  return service + ":" + operation;
}

double log_duration(int64_t d) { return std::log(double(std::max<int64_t>(d, 0)) + 1.0); }

// The featurizer file's JSON fields: json_field (models/common/spans.h).
const json& field(const json& obj, const char* key, json::value_t type, const std::string& ctx, const char* op) {
  return json_field(obj, key, type, ctx, op);
}

}  // namespace

NodeKind parse_node_kind(const std::string& name) {
  if (name == "span") return NodeKind::Span;
  if (name == "operation") return NodeKind::Operation;
  AD_FAIL("parse_node_kind", "unknown node kind \"", name, "\" (expected span or operation)");
}

const char* node_kind_name(NodeKind k) { return k == NodeKind::Span ? "span" : "operation"; }

// -------------------------------------------------------------------------------------------------------------
// Featurizer

TraceFeaturizer TraceFeaturizer::fit(const std::vector<Span>& train, const TraceGraphOptions& options) {
  const char* op = "TraceFeaturizer::fit";
  AD_CHECK(!train.empty(), op, "no training spans");
  std::vector<RawTrace> traces = structure(train, options.node_kind, op);
  std::map<std::string, std::vector<double>> per_op;
  std::vector<double> all;
  for (const auto& t : traces)
    for (const auto& n : t.nodes) {
      double x = log_duration(n.duration_us);
      per_op[op_name(n.service, n.operation)].push_back(x);
      all.push_back(x);
    }
  auto stats = [](const std::vector<double>& v) {
    OpStats s;
    s.count = int64_t(v.size());
    double m = 0;
    for (double x : v) m += x;
    m /= double(v.size());
    double var = 0;
    for (double x : v) var += (x - m) * (x - m);
    var /= double(v.size());
    s.mean = m;
    s.std = std::max(std::sqrt(var), kStdFloor);
    return s;
  };
  TraceFeaturizer f;
  f.node_kind_ = options.node_kind;
  f.global_ = stats(all);
  for (const auto& [name, v] : per_op) {  // std::map: sorted vocabulary
    f.index_[name] = int64_t(f.vocab_.size());
    f.vocab_.push_back(name);
    f.stats_.push_back(stats(v));
  }
  return f;
}

int64_t TraceFeaturizer::op_index(const std::string& service, const std::string& operation) const {
  auto it = index_.find(op_name(service, operation));
  return it == index_.end() ? unknown_index() : it->second;
}

TraceFeaturizer::OpStats TraceFeaturizer::stats_for(const std::string& service, const std::string& operation) const {
  int64_t i = op_index(service, operation);
  if (i == unknown_index() || stats_[size_t(i)].count < kMinCount) return global_;
  return stats_[size_t(i)];
}

double TraceFeaturizer::zscore(const std::string& service, const std::string& operation, int64_t duration_us) const {
  OpStats s = stats_for(service, operation);
  double z = (log_duration(duration_us) - s.mean) / s.std;
  return std::clamp(z, -kZClip, kZClip);
}

std::vector<std::string> TraceFeaturizer::feature_names() const {
  std::vector<std::string> names;
  for (const auto& v : vocab_) names.push_back("op:" + v);
  names.push_back("op:<unknown>");
  names.push_back("latency_z");
  names.push_back("error");
  names.push_back("log1p_fan_out");
  names.push_back("depth_div_10");
  if (node_kind_ == NodeKind::Operation) names.push_back("log1p_count");
  return names;
}

std::string TraceFeaturizer::to_json() const {
  json j;
  j["format"] = "tracedae-featurizer";
  j["version"] = 1;
  j["node_kind"] = node_kind_name(node_kind_);
  j["std_floor"] = kStdFloor;
  j["min_count"] = kMinCount;
  j["global"] = {{"count", global_.count}, {"mean", global_.mean}, {"std", global_.std}};
  json ops = json::array();
  for (size_t i = 0; i < vocab_.size(); ++i)
    ops.push_back({{"name", vocab_[i]}, {"count", stats_[i].count}, {"mean", stats_[i].mean}, {"std", stats_[i].std}});
  j["operations"] = ops;
  return j.dump(1) + "\n";
}

TraceFeaturizer TraceFeaturizer::from_json(const std::string& text, const std::string& where_) {
  const char* op = "TraceFeaturizer::load_json";
  const json j = parse_json_checked(text, op, where_);
  AD_CHECK(j.is_object(), op, where_, ": expected a JSON object");
  const std::set<std::string> keys = {"format", "version", "node_kind", "std_floor", "min_count", "global",
                                      "operations"};
  for (auto it = j.begin(); it != j.end(); ++it)
    AD_CHECK(keys.count(it.key()), op, where_, ": unknown field \"", it.key(), "\"");
  AD_CHECK(field(j, "format", json::value_t::string, where_, op).get<std::string>() == "tracedae-featurizer", op,
           where_, ": format must be \"tracedae-featurizer\"");
  AD_CHECK(field(j, "version", json::value_t::number_integer, where_, op).get<int64_t>() == 1, op, where_,
           ": unsupported version (expected 1)");
  TraceFeaturizer f;
  f.node_kind_ = parse_node_kind(field(j, "node_kind", json::value_t::string, where_, op).get<std::string>());
  AD_CHECK(field(j, "std_floor", json::value_t::number_float, where_, op).get<double>() == kStdFloor, op, where_,
           ": std_floor differs from this build's ", kStdFloor);
  AD_CHECK(field(j, "min_count", json::value_t::number_integer, where_, op).get<int64_t>() == kMinCount, op, where_,
           ": min_count differs from this build's ", kMinCount);
  auto read_stats = [&](const json& o, const std::string& ctx) {
    for (auto it = o.begin(); it != o.end(); ++it)
      AD_CHECK(it.key() == "count" || it.key() == "mean" || it.key() == "std" || it.key() == "name", op, ctx,
               ": unknown field \"", it.key(), "\"");
    OpStats s;
    s.count = field(o, "count", json::value_t::number_integer, ctx, op).get<int64_t>();
    s.mean = field(o, "mean", json::value_t::number_float, ctx, op).get<double>();
    s.std = field(o, "std", json::value_t::number_float, ctx, op).get<double>();
    AD_CHECK(s.count >= 1, op, ctx, ": count must be >= 1, got ", s.count);
    AD_CHECK(std::isfinite(s.mean), op, ctx, ": mean is not finite");
    AD_CHECK(std::isfinite(s.std) && s.std >= kStdFloor, op, ctx, ": std must be finite and >= ", kStdFloor,
             ", got ", s.std);
    return s;
  };
  const json& g = field(j, "global", json::value_t::object, where_, op);
  AD_CHECK(!g.contains("name"), op, where_, " global: unknown field \"name\"");
  f.global_ = read_stats(g, where_ + " global");
  const json& ops = field(j, "operations", json::value_t::array, where_, op);
  for (size_t i = 0; i < ops.size(); ++i) {
    std::string ctx = where_ + " operations[" + std::to_string(i) + "]";
    std::string name = field(ops[i], "name", json::value_t::string, ctx, op).get<std::string>();
    AD_CHECK(name.find(':') != std::string::npos, op, ctx, ": name \"", name, "\" is not service:operation");
    AD_CHECK(f.vocab_.empty() || f.vocab_.back() < name, op, ctx, ": name \"", name,
             "\" is not after \"", f.vocab_.empty() ? "" : f.vocab_.back(), "\" (names must be sorted and unique)");
    f.stats_.push_back(read_stats(ops[i], ctx));
    f.index_[name] = int64_t(f.vocab_.size());
    f.vocab_.push_back(std::move(name));
  }
  return f;
}

void TraceFeaturizer::save_json(const std::string& path) const { write_text_atomic(path, to_json()); }

TraceFeaturizer TraceFeaturizer::load_json(const std::string& path) {
  return from_json(read_file_bytes(path, "TraceFeaturizer::load_json"), path);
}

// -------------------------------------------------------------------------------------------------------------
// Graph batch

TraceGraphBatch build_trace_graphs(const std::vector<Span>& spans, const TraceFeaturizer& featurizer,
                                   const TraceGraphOptions& options) {
  const char* op = "build_trace_graphs";
  AD_CHECK(featurizer.node_kind() == options.node_kind, op, "the featurizer was fitted with node_kind ",
           node_kind_name(featurizer.node_kind()), " but the graphs are built with ",
           node_kind_name(options.node_kind));
  std::vector<RawTrace> traces = structure(spans, options.node_kind, op);
  TraceGraphBatch b;
  b.trace_begin.push_back(0);
  int64_t total = 0;
  for (const auto& t : traces) total += int64_t(t.nodes.size());
  b.num_nodes = total;
  const int64_t d = featurizer.feature_dim(), V = featurizer.vocab_size();
  b.features = Tensor::zeros(Shape{total, d}, DType::F32);
  b.ranges = Tensor::zeros(Shape{total, 2}, DType::I64);
  float* F = b.features.data<float>();
  int64_t* R = b.ranges.data<int64_t>();
  std::vector<int64_t> er, ec;
  std::vector<double> ev;
  b.nodes.reserve(size_t(total));
  b.node_trace.reserve(size_t(total));
  int64_t base = 0;
  for (size_t ti = 0; ti < traces.size(); ++ti) {
    const RawTrace& t = traces[ti];
    const int64_t n = int64_t(t.nodes.size());
    b.trace_ids.push_back(t.id);
    b.trace_orphans.push_back(t.orphans);
    b.orphan_spans += t.orphans;
    for (int64_t i = 0; i < n; ++i) {
      const RawNode& nd = t.nodes[size_t(i)];
      const int64_t row = base + i;
      float* f = F + row * d;
      f[featurizer.op_index(nd.service, nd.operation)] = 1.f;
      f[V + 1] = float(featurizer.zscore(nd.service, nd.operation, nd.duration_us));
      f[V + 2] = nd.error ? 1.f : 0.f;
      f[V + 3] = float(std::log1p(double(nd.fan_out)));
      f[V + 4] = float(double(nd.depth) / 10.0);
      if (options.node_kind == NodeKind::Operation) f[V + 5] = float(std::log1p(double(nd.count)));
      R[row * 2] = base;
      R[row * 2 + 1] = base + n;
      b.node_trace.push_back(int64_t(ti));
      TraceGraphBatch::NodeInfo info;
      info.service = nd.service;
      info.operation = nd.operation;
      info.span_id = nd.span_id;
      info.duration_us = nd.duration_us;
      info.status_code = nd.status_code;
      info.count = nd.count;
      info.depth = nd.depth;
      info.fan_out = nd.fan_out;
      info.error = nd.error;
      b.nodes.push_back(std::move(info));
    }
    for (const auto& [a, c] : t.edges) {
      er.push_back(base + a); ec.push_back(base + c); ev.push_back(1.0);
      er.push_back(base + c); ec.push_back(base + a); ev.push_back(1.0);
    }
    base += n;
    b.trace_begin.push_back(base);
  }
  b.adjacency = csr_from_triplets(total, total, er, ec, ev, DType::F32);
  return b;
}

std::vector<int> labels_for(const TraceGraphBatch& batch, const std::map<std::string, TraceLabel>& labels) {
  std::vector<int> out;
  out.reserve(batch.trace_ids.size());
  for (const auto& id : batch.trace_ids) {
    auto it = labels.find(id);
    out.push_back(it == labels.end() ? -1 : it->second.label);
  }
  return out;
}


}  // namespace ad::tracedae
