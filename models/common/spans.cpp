#include "models/common/spans.h"

#include <charconv>
#include <set>
#include <sstream>
#include <utility>

#include "runtime/csv.h"
#include "runtime/error.h"
#include "runtime/fs_util.h"
#include "runtime/json.h"

namespace ad {

using nlohmann::json;

namespace {
// Cells of a text CSV (runtime/csv's read_csv_text), with errors naming the file, line, column and header.
size_t require_column(const CsvText& t, const std::string& name, const char* op) {
  std::string known;
  for (size_t j = 0; j < t.header.size(); ++j) {
    if (t.header[j] == name) return j;
    known += (j ? ", " : "") + t.header[j];
  }
  AD_FAIL(op, t.path, " line 1 (header): missing column \"", name, "\" (columns: ", known, ")");
}

size_t line_of(size_t r) { return r + 2; }  // read_csv_text: row r is line r + 2 (line 1 is the header)

std::string where(const CsvText& t, size_t r, size_t c) {
  std::ostringstream os;
  os << t.path << " line " << line_of(r) << ", column " << c + 1 << " (\"" << t.header[c] << "\")";
  return os.str();
}

const std::string& text_cell(const CsvText& t, size_t r, size_t c, bool allow_empty, const char* op) {
  const std::string& s = t.rows[r][c];
  AD_CHECK(allow_empty || !s.empty(), op, where(t, r, c), ": empty cell");
  return s;
}

int64_t int_cell(const CsvText& t, size_t r, size_t c, const char* op) {
  const std::string& s = t.rows[r][c];
  AD_CHECK(!s.empty(), op, where(t, r, c), ": empty cell (an integer is required)");
  const char* b = s.data() + (s[0] == '+' ? 1 : 0);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(b, s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) AD_FAIL(op, where(t, r, c), ": integer out of range \"", s, "\"");
  AD_CHECK(ec == std::errc() && end == s.data() + s.size(), op, where(t, r, c), ": not an integer \"", s, "\"");
  return v;
}

// read_csv_text, with the reader's own name in the error of a missing file.
CsvText read_table(const std::string& path, const char* op) {
  try {
    return read_csv_text(path);
  } catch (const Error& e) {
    AD_FAIL(op, e.what());
  }
}
}  // namespace

// JSON helper for the Jaeger reader and the TraceDAE featurizer file.

const json& json_field(const json& obj, const char* key, json::value_t type, const std::string& ctx, const char* op) {
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


std::vector<Span> read_spans_csv(const std::string& path) {
  const char* op = "read_spans_csv";
  CsvText t = read_table(path, op);
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
  const json doc = parse_json_checked(text, op, path);  // depth-limited, duplicate keys refused
  const json& data = json_field(doc, "data", json::value_t::array, path, op);
  std::vector<Span> out;
  for (size_t ti = 0; ti < data.size(); ++ti) {
    std::string tctx = path + " data[" + std::to_string(ti) + "]";
    const json& tr = data[ti];
    const std::string trace_id = json_field(tr, "traceID", json::value_t::string, tctx, op).get<std::string>();
    tctx = path + " trace \"" + trace_id + "\"";
    const json& spans = json_field(tr, "spans", json::value_t::array, tctx, op);
    const json& procs = json_field(tr, "processes", json::value_t::object, tctx, op);
    for (size_t si = 0; si < spans.size(); ++si) {
      const json& sj = spans[si];
      std::string sctx = tctx + " spans[" + std::to_string(si) + "]";
      Span s;
      s.span_id = json_field(sj, "spanID", json::value_t::string, sctx, op).get<std::string>();
      sctx = tctx + " span \"" + s.span_id + "\"";
      AD_CHECK(!s.span_id.empty(), op, sctx, ": empty spanID");
      s.trace_id = trace_id;
      if (sj.contains("traceID")) {
        std::string own = json_field(sj, "traceID", json::value_t::string, sctx, op).get<std::string>();
        AD_CHECK(own == trace_id, op, sctx, ": span traceID \"", own, "\" differs from its trace's");
      }
      s.operation = json_field(sj, "operationName", json::value_t::string, sctx, op).get<std::string>();
      AD_CHECK(!s.operation.empty(), op, sctx, ": empty operationName");
      s.start_us = json_field(sj, "startTime", json::value_t::number_integer, sctx, op).get<int64_t>();
      s.duration_us = json_field(sj, "duration", json::value_t::number_integer, sctx, op).get<int64_t>();
      AD_CHECK(s.duration_us >= 0, op, sctx, ": negative duration ", s.duration_us);
      const std::string pid = json_field(sj, "processID", json::value_t::string, sctx, op).get<std::string>();
      auto pit = procs.find(pid);
      AD_CHECK(pit != procs.end(), op, sctx, ": processID \"", pid, "\" not in the trace's processes");
      s.service = json_field(*pit, "serviceName", json::value_t::string, sctx + " process \"" + pid + "\"", op)
                      .get<std::string>();
      AD_CHECK(!s.service.empty(), op, sctx, ": empty serviceName for process \"", pid, "\"");
      if (sj.contains("references") && !sj["references"].is_null()) {
        const json& refs = json_field(sj, "references", json::value_t::array, sctx, op);
        std::string child_of, follows;
        for (size_t ri = 0; ri < refs.size(); ++ri) {
          std::string rctx = sctx + " references[" + std::to_string(ri) + "]";
          const std::string type = json_field(refs[ri], "refType", json::value_t::string, rctx, op).get<std::string>();
          const std::string sid = json_field(refs[ri], "spanID", json::value_t::string, rctx, op).get<std::string>();
          if (type == "CHILD_OF") { if (child_of.empty()) child_of = sid; }
          else if (type == "FOLLOWS_FROM") { if (follows.empty()) follows = sid; }
          else AD_FAIL(op, rctx, ": unknown refType \"", type, "\"");
        }
        s.parent_span_id = !child_of.empty() ? child_of : follows;
      }
      bool error_tag = false;
      if (sj.contains("tags") && !sj["tags"].is_null()) {
        const json& tags = json_field(sj, "tags", json::value_t::array, sctx, op);
        for (size_t gi = 0; gi < tags.size(); ++gi) {
          std::string gctx = sctx + " tags[" + std::to_string(gi) + "]";
          const std::string key = json_field(tags[gi], "key", json::value_t::string, gctx, op).get<std::string>();
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
  CsvText t = read_table(path, op);
  const size_t c_trace = require_column(t, "trace_id", op), c_label = require_column(t, "label", op),
               c_kind = require_column(t, "kind", op), c_root = require_column(t, "root_cause_service", op);
  std::map<std::string, TraceLabel> out;
  std::map<std::string, size_t> first_line;
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
    auto [it, fresh] = first_line.emplace(id, line_of(r));
    AD_CHECK(fresh, op, t.path, " line ", line_of(r), ": duplicate trace id \"", id, "\" (first on line ", it->second,
             ")");
    out.emplace(id, std::move(l));
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

}  // namespace ad
