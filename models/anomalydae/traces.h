// TraceDAE data side: the conversion of traces (read by models/common/spans.h) into one
// batched attributed graph (block-diagonal adjacency + node attribute matrix) for AnomalyDAE.
//
// Graph construction (per trace, traces in first-appearance order, nodes of a trace contiguous):
//   node_kind = span       one node per span; an edge between each span and its parent.
//   node_kind = operation  one node per distinct (service, operation) in the trace; an edge between two
//                          operations when a span of one is the parent of a span of the other (an operation
//                          calling itself gives no self loop); duration = sum of its spans' durations,
//                          count = number of spans, status = max status, error = any span's error,
//                          fan-out = total child calls of its spans, depth = min depth of its spans.
// The tree is rebuilt from parent ids (input order does not matter). Roots are the spans with an empty parent
// id plus "orphans" (a parent id not found in the trace); they are visited in (start, span_id) order, children
// likewise, and nodes are numbered in DFS preorder (operation mode: order of the first span visited).
// Duplicate span ids in a trace and parent cycles are errors naming the trace.
//
// Node attribute columns (float32), V = vocabulary size (operations seen in training):
//   [0, V)   one-hot of the operation "service:operation" (sorted vocabulary)
//   V        unknown-operation slot (1 for an operation not seen in training)
//   V + 1    latency z-score: (log(duration_us + 1) - mean_op) / std_op, clipped to [-10, 10]
//   V + 2    error flag (status >= 500 or an error tag)
//   V + 3    log1p(fan-out), fan-out = number of child calls (child spans)
//   V + 4    depth / 10 (root = 0)
//   V + 5    operation mode only: log1p(count), count = spans merged into the node
// mean_op/std_op: of log(duration_us + 1) over the training nodes of that operation (population std,
// floored at std_floor = 0.1); operations seen fewer than min_count = 2 times, and unknown ones, use the
// global statistics over all training nodes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/common/spans.h"
#include "runtime/csr.h"
#include "runtime/tensor.h"

namespace ad::tracedae {

// The span readers live in models/common/spans.h (shared with DeepSphere's call-graph mode).
using ::ad::filter_traces;
using ::ad::read_jaeger_json;
using ::ad::read_spans_csv;
using ::ad::read_trace_labels;
using ::ad::Span;
using ::ad::TraceLabel;

enum class NodeKind { Span, Operation };
NodeKind parse_node_kind(const std::string& name);  // "span" or "operation"
const char* node_kind_name(NodeKind k);

struct TraceGraphOptions {
  NodeKind node_kind = NodeKind::Span;
};

class TraceFeaturizer {
 public:
  struct OpStats {
    int64_t count = 0;
    double mean = 0, std = 1;
  };
  static constexpr double kStdFloor = 0.1;
  static constexpr int64_t kMinCount = 2;
  static constexpr double kZClip = 10.0;

  // Fits the vocabulary and latency statistics on training spans (nodes built with `options`).
  static TraceFeaturizer fit(const std::vector<Span>& train, const TraceGraphOptions& options = {});

  NodeKind node_kind() const { return node_kind_; }
  int64_t vocab_size() const { return int64_t(vocab_.size()); }   // V (without the unknown slot)
  int64_t unknown_index() const { return vocab_size(); }
  int64_t feature_dim() const { return vocab_size() + (node_kind_ == NodeKind::Operation ? 6 : 5); }
  std::vector<std::string> feature_names() const;               // one per column, e.g. "op:ts-x:query"
  // Index in [0, V) of "service:operation", or unknown_index().
  int64_t op_index(const std::string& service, const std::string& operation) const;
  const std::vector<std::string>& vocabulary() const { return vocab_; }
  // Statistics used for the operation's z-score (its own, or the global ones).
  OpStats stats_for(const std::string& service, const std::string& operation) const;
  const OpStats& global_stats() const { return global_; }
  double zscore(const std::string& service, const std::string& operation, int64_t duration_us) const;

  std::string to_json() const;
  static TraceFeaturizer from_json(const std::string& text, const std::string& where = "<string>");
  void save_json(const std::string& path) const;  // atomic write
  static TraceFeaturizer load_json(const std::string& path);  // strict: bad format, types, values -> error

 private:
  NodeKind node_kind_ = NodeKind::Span;
  std::vector<std::string> vocab_;        // sorted "service:operation"
  std::vector<OpStats> stats_;            // per vocabulary entry
  std::map<std::string, int64_t> index_;  // name -> vocabulary index
  OpStats global_;
};

struct TraceGraphBatch {
  int64_t num_nodes = 0;
  Tensor features;       // F32 [N, d]
  CsrMatrix adjacency;   // N x N binary, symmetric, no self loops, values 1 (f32)
  Tensor ranges;         // I64 [N, 2]: the node's trace block [begin, end)
  std::vector<int64_t> node_trace;      // [N] trace index of each node
  std::vector<std::string> trace_ids;   // [T]
  std::vector<int64_t> trace_begin;     // [T + 1]
  struct NodeInfo {
    std::string service, operation, span_id;  // operation mode: span_id of the first span visited
    int64_t duration_us = 0;                  // operation mode: sum over its spans
    int status_code = 0;                      // operation mode: max over its spans
    int64_t count = 1;                        // spans merged into the node (1 in span mode)
    int64_t depth = 0;
    int64_t fan_out = 0;
    bool error = false;
  };
  std::vector<NodeInfo> nodes;
  int64_t orphan_spans = 0;              // spans whose parent id was not in their trace (made extra roots)
  std::vector<int64_t> trace_orphans;    // [T] the same, per trace
  int64_t num_traces() const { return int64_t(trace_ids.size()); }
};

// Errors: featurizer fitted for another node kind, duplicate span ids within a trace, a parent cycle.
TraceGraphBatch build_trace_graphs(const std::vector<Span>& spans, const TraceFeaturizer& featurizer,
                                   const TraceGraphOptions& options = {});

// Per trace of the batch: its label (0/1) or -1 when the trace is not in `labels`.
std::vector<int> labels_for(const TraceGraphBatch& batch, const std::map<std::string, TraceLabel>& labels);

}  // namespace ad::tracedae
