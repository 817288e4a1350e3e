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

namespace ad::tracedae {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------------------
// A CSV of text cells: header + rows, each row with its 1-based line number.

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool split_line(std::string_view line, std::vector<std::string>& out, std::string& why) {
  out.clear();
  size_t i = 0;
  while (true) {
    std::string field;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') { field += '"'; i += 2; continue; }
          closed = true; ++i; break;
        }
        field += line[i++];
      }
      if (!closed) { why = "unterminated quote in column " + std::to_string(out.size() + 1); return false; }
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != ',') {
        why = "text after the closing quote in column " + std::to_string(out.size() + 1);
        return false;
      }
    } else {
      size_t start = i;
      while (i < line.size() && line[i] != ',') ++i;
      field = std::string(trim(line.substr(start, i - start)));
    }
    out.push_back(std::move(field));
    if (i >= line.size()) return true;
    ++i;
  }
}

struct TextTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> line;  // 1-based line number of each row
};

TextTable read_text_table(const std::string& path, const char* op) {
  std::string text = read_file_bytes(path, op);
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  std::vector<std::string_view> lines;
  std::string_view rest(text);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view l = rest.substr(0, nl);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    lines.push_back(l);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
  AD_CHECK(!lines.empty(), op, path, ": empty file (a header row is required)");
  TextTable t;
  t.path = path;
  std::string why;
  AD_CHECK(split_line(lines[0], t.header, why), op, path, " line 1 (header): ", why);
  for (size_t j = 0; j < t.header.size(); ++j)
    for (size_t k = 0; k < j; ++k)
      AD_CHECK(t.header[k] != t.header[j], op, path, " line 1 (header): column name \"", t.header[j],
               "\" appears twice (columns ", k + 1, " and ", j + 1, ")");
  std::vector<std::string> cells;
  for (size_t li = 1; li < lines.size(); ++li) {
    AD_CHECK(split_line(lines[li], cells, why), op, path, " line ", li + 1, ": ", why);
    if (cells.size() != t.header.size()) {
      const bool fewer = cells.size() < t.header.size();
      const size_t col = fewer ? cells.size() : t.header.size();  // 0-based first missing / extra column
      AD_FAIL(op, path, " line ", li + 1, ", column ", col + 1,
              fewer ? " (\"" + t.header[col] + "\") is missing" : std::string(" is extra"), ": expected ",
              t.header.size(), " columns (as in the header), got ", cells.size(),
              trim(lines[li]).empty() ? " (blank line)" : "");
    }
    t.rows.push_back(cells);
    t.line.push_back(li + 1);
  }
  return t;
}

size_t require_column(const TextTable& t, const std::string& name, const char* op) {
  std::string known;
  for (size_t j = 0; j < t.header.size(); ++j) {
    if (t.header[j] == name) return j;
    known += (j ? ", " : "") + t.header[j];
  }
  AD_FAIL(op, t.path, " line 1 (header): missing column \"", name, "\" (columns: ", known, ")");
}

std::string where(const TextTable& t, size_t r, size_t c) {
  std::ostringstream os;
  os << t.path << " line " << t.line[r] << ", column " << c + 1 << " (\"" << t.header[c] << "\")";
  return os.str();
}

const std::string& text_cell(const TextTable& t, size_t r, size_t c, bool allow_empty, const char* op) {
  const std::string& s = t.rows[r][c];
  AD_CHECK(allow_empty || !s.empty(), op, where(t, r, c), ": empty cell");
  return s;
}

int64_t int_cell(const TextTable& t, size_t r, size_t c, const char* op) {
  const std::string& s = t.rows[r][c];
  AD_CHECK(!s.empty(), op, where(t, r, c), ": empty cell (an integer is required)");
  const char* b = s.data() + (s[0] == '+' ? 1 : 0);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(b, s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) AD_FAIL(op, where(t, r, c), ": integer out of range \"", s, "\"");
  AD_CHECK(ec == std::errc() && end == s.data() + s.size(), op, where(t, r, c), ": not an integer \"", s, "\"");
  return v;
}

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

// ---------------------------------------------------------------------------------------------------------
// JSON helpers for the Jaeger reader and the featurizer file.

const json& field(const json& obj, const char* key, json::value_t type, const std::string& ctx, const char* op) {
  AD_CHECK(obj.is_object(), op, ctx, ": expected an object");
  auto it = obj.find(key);
  AD_CHECK(it != obj.end(), op, ctx, ": missing field \"", key, "\"");
  bool ok = it->type() == type ||
            (type == json::value_t::number_integer && it->is_number_unsigned()) ||
            (type == json::value_t::number_float && it->is_number());
  const char* want = type == json::value_t::string ? "a string"
                     : type == json::value_t::array ? "an array"
                     : type == json::value_t::object ? "an object"
                     : type == json::value_t::number_integer ? "an integer"
                     : type == json::value_t::boolean ? "a boolean" : "a number";
  AD_CHECK(ok, op, ctx, ": field \"", key, "\" must be ", want, ", got ", it->type_name());
  return *it;
}

}  // namespace

// -------------------------------------------------------------------------------------------------------------
// Readers

std::vector<Span> read_spans_csv(const std::string& path) {
  const char* op = "read_spans_csv";
  TextTable t = read_text_table(path, op);
  const size_t c_trace = require_column(t, "trace_id", op), c_span = require_column(t, "span_id", op),
               c_parent = require_column(t, "parent_span_id", op), c_service = require_column(t, "service", op),
               c_op = require_column(t, "operation", op), c_start = require_column(t, "start_time_us", op),
               c_dur = require_column(t, "duration_us", op), c_status = require_column(t, "status_code", op);
  std::vector<Span> out;
  out.reserve(t.rows.size());
  for (size_t r = 0; r < t.rows.size(); ++r) {
    Span s;
    s.trace_id = text_cell(t, r, c_trace, false, op);
    s.span_id = text_cell(t, r, c_span, false, op);
    s.parent_span_id = text_cell(t, r, c_parent, true, op);
    s.service = text_cell(t, r, c_service, false, op);
    s.operation = text_cell(t, r, c_op, false, op);
    s.start_us = int_cell(t, r, c_start, op);
    s.duration_us = int_cell(t, r, c_dur, op);
    AD_CHECK(s.duration_us >= 0, op, where(t, r, c_dur), ": negative duration ", s.duration_us);
    int64_t st = int_cell(t, r, c_status, op);
    AD_CHECK(st >= 0 && st <= 999, op, where(t, r, c_status), ": status code out of range ", st);
    s.status_code = int(st);
    s.error = s.status_code >= 500;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Span> read_jaeger_json(const std::string& path) {
  const char* op = "read_jaeger_json";
  std::string text = read_file_bytes(path, op);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    AD_FAIL(op, path, ": malformed JSON: ", e.what());
  }
  const json& data = field(doc, "data", json::value_t::array, path, op);
  std::vector<Span> out;
  for (size_t ti = 0; ti < data.size(); ++ti) {
    std::string tctx = path + " data[" + std::to_string(ti) + "]";
    const json& tr = data[ti];
    const std::string trace_id = field(tr, "traceID", json::value_t::string, tctx, op).get<std::string>();
    tctx = path + " trace \"" + trace_id + "\"";
    const json& spans = field(tr, "spans", json::value_t::array, tctx, op);
    const json& procs = field(tr, "processes", json::value_t::object, tctx, op);
    for (size_t si = 0; si < spans.size(); ++si) {
      const json& sj = spans[si];
      std::string sctx = tctx + " spans[" + std::to_string(si) + "]";
      Span s;
      s.span_id = field(sj, "spanID", json::value_t::string, sctx, op).get<std::string>();
      sctx = tctx + " span \"" + s.span_id + "\"";
      AD_CHECK(!s.span_id.empty(), op, sctx, ": empty spanID");
      s.trace_id = trace_id;
      if (sj.contains("traceID")) {
        std::string own = field(sj, "traceID", json::value_t::string, sctx, op).get<std::string>();
        AD_CHECK(own == trace_id, op, sctx, ": span traceID \"", own, "\" differs from its trace's");
      }
      s.operation = field(sj, "operationName", json::value_t::string, sctx, op).get<std::string>();
      AD_CHECK(!s.operation.empty(), op, sctx, ": empty operationName");
      s.start_us = field(sj, "startTime", json::value_t::number_integer, sctx, op).get<int64_t>();
      s.duration_us = field(sj, "duration", json::value_t::number_integer, sctx, op).get<int64_t>();
      AD_CHECK(s.duration_us >= 0, op, sctx, ": negative duration ", s.duration_us);
      const std::string pid = field(sj, "processID", json::value_t::string, sctx, op).get<std::string>();
      auto pit = procs.find(pid);
      AD_CHECK(pit != procs.end(), op, sctx, ": processID \"", pid, "\" not in the trace's processes");
      s.service = field(*pit, "serviceName", json::value_t::string, sctx + " process \"" + pid + "\"", op)
                      .get<std::string>();
      AD_CHECK(!s.service.empty(), op, sctx, ": empty serviceName for process \"", pid, "\"");
      if (sj.contains("references") && !sj["references"].is_null()) {
        const json& refs = field(sj, "references", json::value_t::array, sctx, op);
        std::string child_of, follows;
        for (size_t ri = 0; ri < refs.size(); ++ri) {
          std::string rctx = sctx + " references[" + std::to_string(ri) + "]";
          const std::string type = field(refs[ri], "refType", json::value_t::string, rctx, op).get<std::string>();
          const std::string sid = field(refs[ri], "spanID", json::value_t::string, rctx, op).get<std::string>();
          if (type == "CHILD_OF") { if (child_of.empty()) child_of = sid; }
          else if (type == "FOLLOWS_FROM") { if (follows.empty()) follows = sid; }
          else AD_FAIL(op, rctx, ": unknown refType \"", type, "\"");
        }
        s.parent_span_id = !child_of.empty() ? child_of : follows;
      }
      bool error_tag = false;
      if (sj.contains("tags") && !sj["tags"].is_null()) {
        const json& tags = field(sj, "tags", json::value_t::array, sctx, op);
        for (size_t gi = 0; gi < tags.size(); ++gi) {
          std::string gctx = sctx + " tags[" + std::to_string(gi) + "]";
          const std::string key = field(tags[gi], "key", json::value_t::string, gctx, op).get<std::string>();
          if (key != "http.status_code" && key != "error") continue;
          AD_CHECK(tags[gi].contains("value"), op, gctx, ": tag \"", key, "\" has no value");
          const json& v = tags[gi]["value"];
          if (key == "http.status_code") {
            int64_t code = -1;
            if (v.is_number_integer() || v.is_number_unsigned()) code = v.get<int64_t>();
            else if (v.is_string()) {
              const std::string& str = v.get_ref<const std::string&>();
              auto [end, ec] = std::from_chars(str.data(), str.data() + str.size(), code);
              AD_CHECK(ec == std::errc() && end == str.data() + str.size(), op, gctx,
                       ": http.status_code is not an integer \"", str, "\"");
            } else {
              AD_FAIL(op, gctx, ": http.status_code must be an integer, got ", v.type_name());
            }
            AD_CHECK(code >= 0 && code <= 999, op, gctx, ": http.status_code out of range ", code);
            s.status_code = int(code);
          } else {
            if (v.is_boolean()) error_tag = v.get<bool>();
            else if (v.is_string()) error_tag = v.get<std::string>() == "true";
            else AD_FAIL(op, gctx, ": tag \"error\" must be a boolean, got ", v.type_name());
          }
        }
      }
      s.error = error_tag || s.status_code >= 500;
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::map<std::string, TraceLabel> read_trace_labels(const std::string& path) {
  const char* op = "read_trace_labels";
  TextTable t = read_text_table(path, op);
  const size_t c_trace = require_column(t, "trace_id", op), c_label = require_column(t, "label", op),
               c_kind = require_column(t, "kind", op), c_root = require_column(t, "root_cause_service", op);
  std::map<std::string, TraceLabel> out;
  std::map<std::string, size_t> line_of;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const std::string& id = text_cell(t, r, c_trace, false, op);
    int64_t label = int_cell(t, r, c_label, op);
    AD_CHECK(label == 0 || label == 1, op, where(t, r, c_label), ": label must be 0 or 1, got ", label);
    TraceLabel l;
    l.label = int(label);
    l.kind = text_cell(t, r, c_kind, false, op);
    AD_CHECK(l.kind == "normal" || l.kind == "response" || l.kind == "invocation", op, where(t, r, c_kind),
             ": kind must be normal, response or invocation, got \"", l.kind, "\"");
    AD_CHECK((l.kind == "normal") == (l.label == 0), op, where(t, r, c_kind), ": kind \"", l.kind,
             "\" contradicts label ", l.label);
    l.root_cause = text_cell(t, r, c_root, true, op);
    auto [it, fresh] = line_of.emplace(id, t.line[r]);
    AD_CHECK(fresh, op, t.path, " line ", t.line[r], ": duplicate trace id \"", id, "\" (first on line ", it->second,
             ")");
    out.emplace(id, std::move(l));
  }
  return out;
}

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
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    AD_FAIL(op, where_, ": malformed JSON: ", e.what());
  }
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

std::vector<Span> filter_traces(const std::vector<Span>& spans, const std::vector<std::string>& trace_ids) {
  std::set<std::string> keep(trace_ids.begin(), trace_ids.end());
  std::vector<Span> out;
  for (const auto& s : spans)
    if (keep.count(s.trace_id)) out.push_back(s);
  return out;
}

}  // namespace ad::tracedae
