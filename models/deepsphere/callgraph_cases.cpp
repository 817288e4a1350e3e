#include "models/deepsphere/callgraph_cases.h"

#include <algorithm>
#include <cmath>

#include "models/common/call_graph.h"
#include "runtime/error.h"

namespace ad::deepsphere {

namespace {
// Windows of `spans` grouped into cases of s.steps windows (the incomplete last case dropped).
Dataset cases_of(const std::vector<Span>& spans, const std::string& path, const std::vector<std::string>& services,
                 const CallGraphSettings& s, int64_t* first_start) {
  const char* f = path.c_str();
  const CallValue value = s.value == "count" ? CallValue::Count : CallValue::LatencyMs;
  CallMatrices m = service_call_matrices(spans, services, s.window_us, value, path);
  AD_CHECK(m.calls > 0, f, "spans: no call edge (no span with a parent in its trace)");
  const int64_t C = m.windows / s.steps, N = int64_t(services.size());
  AD_CHECK(C > 0, f, "windows: ", m.windows, " windows of ", s.window_us, " us, fewer than callgraph.steps = ",
           s.steps, " (one case)");
  Dataset d;
  d.source = path;
  d.C = C, d.T = s.steps, d.N = N;
  d.node_names = services;
  d.cases = m.values.narrow0(0, C * s.steps).clone().view({C, s.steps, N, N});
  if (s.log1p) {
    float* x = d.cases.data<float>();
    for (int64_t k = 0; k < d.cases.numel(); ++k) x[k] = std::log1p(x[k]);
  }
  validate_dataset(d);
  *first_start = m.first_start_us;
  return d;
}
}  // namespace

std::pair<Dataset, Dataset> callgraph_datasets(const CallGraphSettings& s) {
  const std::vector<Span> train = read_spans_csv(s.train_spans);
  const std::vector<Span> test = read_spans_csv(s.test_spans);
  const std::vector<std::string> services = services_of({&train, &test});
  int64_t train_first = 0, test_first = 0;
  Dataset tr = cases_of(train, s.train_spans, services, s, &train_first);
  Dataset te = cases_of(test, s.test_spans, services, s, &test_first);
  if (!s.test_labels.empty()) {
    const auto labels = read_trace_labels(s.test_labels);
    te.labels.assign(size_t(te.C), 0);
    for (const Span& sp : test) {
      if (!sp.parent_span_id.empty()) continue;
      auto it = labels.find(sp.trace_id);
      if (it == labels.end() || it->second.label == 0) continue;
      const int64_t c = (sp.start_us - test_first) / s.window_us / s.steps;
      if (c < te.C) te.labels[size_t(c)] = 1;
    }
  }
  return {std::move(tr), std::move(te)};
}

}  // namespace ad::deepsphere
