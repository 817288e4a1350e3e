// The call-graph mode: dynamic networks from microservice spans. Per time window, a service-to-service matrix
// X[i, j] = number of calls from service i to service j (value "count"), or their mean latency in ms
// (value "latency", the callee span's duration), optionally log(1 + x). Consecutive windows form a case of
// `steps` matrices (cases do not overlap; the last incomplete one is dropped).
//   windows   floor((start - first start of the file) / window_us), on each file's own clock
//   nodes     the sorted services of both files (names only, no labels), so train and test share the layout
//   labels    test only, from the trace labels CSV: a case is anomalous when a labelled-anomalous trace's root
//             span starts inside it
// The matrices come from models/common/call_graph.h (spans read by models/common/spans.h).
// Errors (ad::Error naming the file): an empty span file, a span file with no call edge, too few windows for
// one case, plus everything the span reader rejects.
#pragma once
#include <utility>

#include "models/deepsphere/data.h"
#include "models/deepsphere/settings.h"

namespace ad::deepsphere {

std::pair<Dataset, Dataset> callgraph_datasets(const CallGraphSettings& s);

}  // namespace ad::deepsphere
