// Service-to-service call matrices per time window, from spans (models/common/spans.h): the dynamic network
// of a microservice system. A call is a span whose parent span is in the same trace; it goes from the
// parent's service (row i) to the span's service (column j), in the window of the span's start.
//   windows   w = floor((start - first) / window_us), first = the earliest span start of the list
//   values    Count: the number of calls; LatencyMs: their mean duration in ms (0 without calls)
// Spans whose parent is not in their trace (orphans) are not calls (their caller is unknown).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/common/spans.h"
#include "runtime/tensor.h"

namespace ad {

enum class CallValue { Count, LatencyMs };

struct CallMatrices {
  Tensor values;  // F32 CPU [windows, N, N]
  int64_t first_start_us = 0, windows = 0, calls = 0;
};

// The sorted distinct services of the given span lists (one node layout for several files).
std::vector<std::string> services_of(const std::vector<const std::vector<Span>*>& span_lists);

// `services` must hold every service of `spans`. max_windows > 0 keeps the first max_windows windows only.
// Error (naming `source`) for an empty span list.
CallMatrices service_call_matrices(const std::vector<Span>& spans, const std::vector<std::string>& services,
                                   int64_t window_us, CallValue value, const std::string& source,
                                   int64_t max_windows = 0);

}  // namespace ad
