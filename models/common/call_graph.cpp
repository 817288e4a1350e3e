#include "models/common/call_graph.h"

#include <algorithm>
#include <map>
#include <set>

#include "runtime/checked.h"
#include "runtime/error.h"

namespace ad {

std::vector<std::string> services_of(const std::vector<const std::vector<Span>*>& span_lists) {
  std::set<std::string> names;
  for (const auto* list : span_lists)
    for (const Span& s : *list) names.insert(s.service);
  return {names.begin(), names.end()};
}

CallMatrices service_call_matrices(const std::vector<Span>& spans, const std::vector<std::string>& services,
                                   int64_t window_us, CallValue value, const std::string& source,
                                   int64_t max_windows) {
  AD_CHECK(!spans.empty(), source.c_str(), "spans: the file holds no span");
  AD_CHECK(window_us > 0, source.c_str(), "window: ", window_us, " us is not positive");
  std::map<std::string, int64_t> index;
  for (size_t k = 0; k < services.size(); ++k) index[services[k]] = int64_t(k);
  const int64_t N = int64_t(services.size());
  CallMatrices out;
  int64_t last = spans[0].start_us;
  out.first_start_us = spans[0].start_us;
  for (const Span& s : spans) out.first_start_us = std::min(out.first_start_us, s.start_us), last = std::max(last, s.start_us);
  // Start times come from the file: their spread, the window count and the matrices' size are checked before
  // anything is allocated (two spans 9e18 us apart must not wrap around to a small allocation).
  int64_t spread = 0;
  AD_CHECK(!__builtin_sub_overflow(last, out.first_start_us, &spread), source.c_str(), "start_time_us: from ",
           out.first_start_us, " to ", last, " overflows 64 bits");
  out.windows = spread / window_us + 1;
  if (max_windows > 0) out.windows = std::min(out.windows, max_windows);
  const int64_t cells = checked_mul(checked_mul(out.windows, N, source.c_str(), "windows x services"), N,
                                    source.c_str(), "windows x services x services");
  check_fits_in_memory(uint64_t(checked_mul(cells, 20, source.c_str(), "call matrices")), source.c_str(),
                       "start_time_us: " + std::to_string(out.windows) + " windows of " + std::to_string(window_us) +
                           " us x " + std::to_string(N) + "^2 services:");
  std::map<std::pair<std::string, std::string>, const Span*> by_id;
  for (const Span& s : spans) by_id[{s.trace_id, s.span_id}] = &s;
  std::vector<double> count(size_t(out.windows * N * N), 0.0), ms(count.size(), 0.0);
  for (const Span& s : spans) {
    if (s.parent_span_id.empty()) continue;
    auto it = by_id.find({s.trace_id, s.parent_span_id});
    if (it == by_id.end()) continue;
    const int64_t w = (s.start_us - out.first_start_us) / window_us;
    if (w >= out.windows) continue;
    auto from = index.find(it->second->service), to = index.find(s.service);
    AD_CHECK(from != index.end() && to != index.end(), source.c_str(), "service: \"",
             from == index.end() ? it->second->service : s.service, "\" is not in the node list");
    const size_t k = size_t((w * N + from->second) * N + to->second);
    count[k] += 1;
    ms[k] += double(s.duration_us) / 1000.0;
    ++out.calls;
  }
  out.values = Tensor::empty({out.windows, N, N});
  float* x = out.values.data<float>();
  for (size_t k = 0; k < count.size(); ++k)
    x[k] = float(value == CallValue::Count ? count[k] : (count[k] > 0 ? ms[k] / count[k] : 0.0));
  return out;
}

}  // namespace ad
