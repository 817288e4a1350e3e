// Microservice spans and trace labels, read from files; shared by TraceDAE (models/anomalydae/traces.h, trace
// graphs) and DeepSphere (models/deepsphere/callgraph_cases.h, per-window service call matrices).
// Every reader is strict: one ad::Error naming the reader, the file and, where it applies, the line, column
// (CSV: through runtime/csv's read_csv_text) or the trace and span (JSON).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ad {

struct Span {
  std::string trace_id, span_id, parent_span_id, service, operation;
  int64_t start_us = 0, duration_us = 0;
  int status_code = 0;
  bool error = false;
};

// CSV with header trace_id,span_id,parent_span_id,service,operation,start_time_us,duration_us,status_code
// (any column order, extra columns ignored). error = status_code >= 500. Strict: a missing file, a missing
// column, an empty id / name, a non-integer number, a negative duration or a ragged row is an ad::Error
// naming the file, the line and the column.
std::vector<Span> read_spans_csv(const std::string& path);

// Jaeger JSON export ({"data":[{"traceID","spans":[...],"processes":{...}}]}). service =
// processes[processID].serviceName; parent = the first CHILD_OF reference (else the first FOLLOWS_FROM);
// status from the http.status_code tag (int or numeric string; 0 when absent); error = tag error=true or
// status >= 500. Malformed JSON or a missing / mistyped field is an ad::Error naming the file, trace and span.
std::vector<Span> read_jaeger_json(const std::string& path);

struct TraceLabel {
  int label = 0;           // 0 normal, 1 anomalous
  std::string kind;        // normal, response or invocation (label 0 <=> normal)
  std::string root_cause;  // service, empty for normal traces
};
// CSV trace_id,label,kind,root_cause_service; error on a duplicate trace id or a bad label / kind.
std::map<std::string, TraceLabel> read_trace_labels(const std::string& path);

// Spans of the given traces only (in input order); handy to compare subsets of two sources.
std::vector<Span> filter_traces(const std::vector<Span>& spans, const std::vector<std::string>& trace_ids);

// obj[key] with the given JSON type (integers accepted as floats); errors name `ctx` and the field.
const nlohmann::json& json_field(const nlohmann::json& obj, const char* key, nlohmann::json::value_t type,
                                 const std::string& ctx, const char* op);

}  // namespace ad
