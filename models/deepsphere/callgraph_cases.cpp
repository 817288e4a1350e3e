#include "models/deepsphere/callgraph_cases.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "models/anomalydae/traces.h"
#include "runtime/error.h"

namespace ad::deepsphere {

namespace {
using tracedae::Span;

Dataset build(const std::vector<Span>& spans, const std::string& path, const std::vector<std::string>& services,
              const CallGraphSettings& s) {
  const char* f = path.c_str();
  AD_CHECK(!spans.empty(), f, "spans: the file holds no span");
  std::map<std::string, int64_t> index;
  for (size_t k = 0; k < services.size(); ++k) index[services[k]] = int64_t(k);
  const int64_t N = int64_t(services.size());
  int64_t first = spans[0].start_us, last = spans[0].start_us;
  for (const Span& sp : spans) first = std::min(first, sp.start_us), last = std::max(last, sp.start_us);
  const int64_t windows = (last - first) / s.window_us + 1;
  const int64_t C = windows / s.steps, T = s.steps;
  AD_CHECK(C > 0, f, "windows: ", windows, " windows of ", s.window_us, " us, fewer than callgraph.steps = ", s.steps,
           " (one case)");
  // Parent span -> its service, per trace.
  std::map<std::pair<std::string, std::string>, const Span*> by_id;
  for (const Span& sp : spans) by_id[{sp.trace_id, sp.span_id}] = &sp;
  std::vector<double> sum(size_t(C * T * N * N), 0.0), count(sum.size(), 0.0);
  int64_t edges = 0;
  for (const Span& sp : spans) {
    if (sp.parent_span_id.empty()) continue;
    auto it = by_id.find({sp.trace_id, sp.parent_span_id});
    if (it == by_id.end()) continue;  // orphan: its caller is unknown
    const int64_t w = (sp.start_us - first) / s.window_us;
    if (w >= C * T) continue;  // the dropped, incomplete last case
    const int64_t i = index.at(it->second->service), j = index.at(sp.service);
    const size_t k = size_t((w * N + i) * N + j);
    count[k] += 1;
    sum[k] += double(sp.duration_us) / 1000.0;
    ++edges;
  }
  AD_CHECK(edges > 0, f, "spans: no call edge (no span with a parent in its trace)");
  Dataset d;
  d.source = path;
  d.C = C, d.T = T, d.N = N;
  d.node_names = services;
  d.cases = Tensor::empty({C, T, N, N});
  float* x = d.cases.data<float>();
  for (size_t k = 0; k < sum.size(); ++k) {
    double v = s.value == "count" ? count[k] : (count[k] > 0 ? sum[k] / count[k] : 0.0);
    x[k] = float(s.log1p ? std::log1p(v) : v);
  }
  validate_dataset(d);
  return d;
}
}  // namespace

std::pair<Dataset, Dataset> callgraph_datasets(const CallGraphSettings& s) {
  const std::vector<Span> train = tracedae::read_spans_csv(s.train_spans);
  const std::vector<Span> test = tracedae::read_spans_csv(s.test_spans);
  std::set<std::string> names;
  for (const auto* v : {&train, &test})
    for (const Span& sp : *v) names.insert(sp.service);
  const std::vector<std::string> services(names.begin(), names.end());
  Dataset tr = build(train, s.train_spans, services, s), te = build(test, s.test_spans, services, s);
  if (!s.test_labels.empty()) {
    const auto labels = tracedae::read_trace_labels(s.test_labels);
    int64_t first = test[0].start_us;
    for (const Span& sp : test) first = std::min(first, sp.start_us);
    te.labels.assign(size_t(te.C), 0);
    for (const Span& sp : test) {
      if (!sp.parent_span_id.empty()) continue;
      auto it = labels.find(sp.trace_id);
      if (it == labels.end() || it->second.label == 0) continue;
      const int64_t c = (sp.start_us - first) / s.window_us / s.steps;
      if (c < te.C) te.labels[size_t(c)] = 1;
    }
  }
  return {std::move(tr), std::move(te)};
}

}  // namespace ad::deepsphere
