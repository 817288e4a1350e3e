// models/common/call_graph: per-window service call matrices from spans (TraceDAE's readers, DeepSphere's
// call-graph mode).
#include <gtest/gtest.h>

#include "models/common/call_graph.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
Span span(const std::string& trace, const std::string& id, const std::string& parent, const std::string& service,
          int64_t start, int64_t duration) {
  Span s;
  s.trace_id = trace, s.span_id = id, s.parent_span_id = parent, s.service = service, s.operation = "op";
  s.start_us = start, s.duration_us = duration;
  return s;
}
}  // namespace

TEST(CallGraph, CountsLatencyOrphansAndWindows) {
  const std::vector<Span> spans = {
      span("t1", "r", "", "gw", 100, 90),     span("t1", "a", "r", "svc", 110, 20),  // gw -> svc, window 0
      span("t1", "b", "r", "svc", 150, 40),                                          // gw -> svc, window 0
      span("t2", "r", "", "gw", 330, 10),     span("t2", "c", "r", "db", 340, 6),    // gw -> db, window 2
      span("t2", "x", "missing", "db", 345, 1),                                      // orphan: not a call
      span("t3", "a", "r", "svc", 120, 5),                                           // parent "r" is t1's, not t3's
  };
  const std::vector<std::string> services = services_of({&spans});
  EXPECT_EQ(services, (std::vector<std::string>{"db", "gw", "svc"}));
  CallMatrices m = service_call_matrices(spans, services, 100, CallValue::Count, "spans.csv");
  EXPECT_EQ(m.first_start_us, 100);
  EXPECT_EQ(m.windows, 3);  // starts 100 .. 345 -> windows 0 .. 2
  EXPECT_EQ(m.calls, 3);
  const float* x = m.values.data<float>();
  auto at = [&](int64_t w, int64_t i, int64_t j) { return x[(w * 3 + i) * 3 + j]; };
  EXPECT_EQ(at(0, 1, 2), 2.0f);  // gw -> svc twice
  EXPECT_EQ(at(2, 1, 0), 1.0f);  // gw -> db
  EXPECT_EQ(at(0, 2, 1), 0.0f);  // calls are directed
  double total = 0;
  for (int64_t k = 0; k < m.values.numel(); ++k) total += x[k];
  EXPECT_EQ(total, 3.0);

  CallMatrices lat = service_call_matrices(spans, services, 100, CallValue::LatencyMs, "spans.csv", 1);
  EXPECT_EQ(lat.windows, 1);  // max_windows
  EXPECT_FLOAT_EQ(lat.values.data<float>()[(0 * 3 + 1) * 3 + 2], 0.03f);  // mean of 20 and 40 us, in ms

  EXPECT_TRUE(test::error_contains([&] { service_call_matrices({}, services, 100, CallValue::Count, "empty.csv"); },
                                   "empty.csv"));
  EXPECT_TRUE(test::error_contains(
      [&] { service_call_matrices(spans, {"gw", "svc"}, 100, CallValue::Count, "spans.csv"); },
      "\"db\" is not in the node list"));
}
