// TraceAnomaly's service trace vectors (Liu et al., ISSRE 2020; the TrainTicket files in
// ../shared/data/traces/train_ticket/) as an attributed graph for AnomalyDAE. Each line is one trace:
// "<trace id>:<v_0>,...,<v_W-1>", one response time per call path, 0 when the path is absent. The call-path
// names are not published, so a trace cannot be rebuilt as a call tree; instead each trace is a node:
//   attributes  TraceAnomaly's normalisation, fitted on the sampled traces without labels: per call path,
//               (v - mean) / max(std, 1) over the traces where it occurs, -1 where it is absent; only paths
//               present in some sampled trace are kept;
//   structure   a k-nearest-neighbour graph by cosine similarity of the call-path sets (which paths a trace
//               takes), ties at the k-th similarity included, symmetrised: traces that take the same paths
//               are linked, all of them.
// AnomalyDAE then scores every trace transductively, as it scores the nodes of a static graph.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/anomalydae/graph_data.h"

namespace ad::anomalydae {

struct TraceVectors {
  std::vector<std::string> ids;
  std::vector<std::vector<std::pair<int32_t, float>>> present;  // per trace: (call path, response time > 0)
  int64_t width = 0;                                            // call paths per line
};

// Strict: a line without ':', a value that is not a non-negative finite number, or a line whose width
// differs from the first is an ad::Error naming file and line.
// A .zip is read through read_zip_member under `zip` (its inflated-size and ratio caps).
TraceVectors read_trace_vectors(const std::string& path, const ZipLimits& zip = {});

// The graph above; labels 1 for traces from `abnormal`, names = trace ids, kinds empty.
AttributedGraph load_trace_vectors(const TraceVectorGraphSettings& s, uint64_t seed);

}  // namespace ad::anomalydae
