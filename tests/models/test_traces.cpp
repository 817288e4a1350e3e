// TraceDAE data side: span readers, labels, featurizer and the batched trace graph.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "models/anomalydae/traces.h"
#include "runtime/error.h"
#include "tests/support/helpers.h"

namespace ad::tracedae {
namespace {

// One scratch folder for the whole file (test::TempDir: removed with everything in it at exit).
std::string scratch_path(const std::string& name) {
  static const test::TempDir dir("ad_test_traces");
  return dir.path(name);
}

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = scratch_path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Throws an ad::Error whose message contains every one of `parts`.
template <class F> void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected an ad::Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "\"" << p << "\" not in: " << msg;
  }
}

const char* kHeader = "trace_id,span_id,parent_span_id,service,operation,start_time_us,duration_us,status_code\n";

// Training traces: ui:home {999, 2999}, C:q {99, 149} (two each), A:get {299}, B:put {399} (once each).
std::string train_csv() {
  return std::string(kHeader) +
         "tr1,r,,ui,home,0,999,200\n"
         "tr1,a,r,A,get,10,299,200\n"
         "tr1,c,a,C,q,20,99,200\n"
         "tr2,r,,ui,home,0,2999,200\n"
         "tr2,b,r,B,put,10,399,200\n"
         "tr3,c,,C,q,0,149,200\n";
}

// Test traces (rows shuffled on purpose):
//   t1: r(ui:home) -> a(A:get) -> c(C:q); r -> b(B:put, 503)     DFS r, a, c, b
//   t2: single span x(ui:home)
//   t3: w(ui:home, root); y(A:get, parent "gone": an orphan) -> z(D:new, unseen)   DFS w, y, z
std::string test_csv() {
  return std::string(kHeader) +
         "t1,b,r,B,put,500,400,503\n"
         "t1,c,a,C,q,150,100,200\n"
         "t1,r,,ui,home,0,1000,200\n"
         "t2,x,,ui,home,5,1000000000,200\n"
         "t1,a,r,A,get,100,300,200\n"
         "t3,z,y,D,new,20,10,404\n"
         "t3,y,gone,A,get,10,50,200\n"
         "t3,w,,ui,home,0,500,200\n";
}

TraceFeaturizer fitted(NodeKind kind = NodeKind::Span) {
  return TraceFeaturizer::fit(read_spans_csv(write_file("train.csv", train_csv())), {kind});
}

std::set<std::pair<int64_t, int64_t>> edges_of(const CsrMatrix& m) {
  std::set<std::pair<int64_t, int64_t>> e;
  const int64_t* rp = m.row_ptr.data<int64_t>();
  const int32_t* col = m.col.data<int32_t>();
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t k = rp[r]; k < rp[r + 1]; ++k) e.emplace(r, col[k]);
  return e;
}

void expect_symmetric_binary(const CsrMatrix& m) {
  m.validate("test");
  ASSERT_TRUE(m.has_values());
  for (double v : m.val.to_vector()) EXPECT_EQ(v, 1.0);
  auto e = edges_of(m);
  for (auto [a, b] : e) {
    EXPECT_NE(a, b) << "self loop";
    EXPECT_TRUE(e.count({b, a})) << a << "->" << b << " without its reverse";
  }
}

float feat(const TraceGraphBatch& b, int64_t row, int64_t col) {
  return b.features.data<float>()[row * b.features.size(1) + col];
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}
double pstd_of(const std::vector<double>& v) {
  double m = mean_of(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}

TEST(Traces, FeaturizerVocabularyAndStats) {
  TraceFeaturizer f = fitted();
  EXPECT_EQ(f.vocabulary(), (std::vector<std::string>{"A:get", "B:put", "C:q", "ui:home"}));
  EXPECT_EQ(f.vocab_size(), 4);
  EXPECT_EQ(f.feature_dim(), 9);
  EXPECT_EQ(f.op_index("C", "q"), 2);
  EXPECT_EQ(f.op_index("D", "new"), 4);
  EXPECT_EQ(f.feature_names().size(), 9u);
  EXPECT_EQ(f.feature_names()[5], "latency_z");
  auto home = f.stats_for("ui", "home");
  EXPECT_EQ(home.count, 2);
  EXPECT_NEAR(home.mean, (std::log(1000.0) + std::log(3000.0)) / 2, 1e-12);
  EXPECT_NEAR(home.std, std::log(3.0) / 2, 1e-12);
  // A:get was seen once: global statistics.
  std::vector<double> all = {std::log(1000.0), std::log(300.0), std::log(100.0), std::log(3000.0),
                             std::log(400.0), std::log(150.0)};
  EXPECT_NEAR(f.global_stats().mean, mean_of(all), 1e-12);
  EXPECT_NEAR(f.global_stats().std, pstd_of(all), 1e-12);
  EXPECT_NEAR(f.stats_for("A", "get").mean, mean_of(all), 1e-12);
  EXPECT_NEAR(f.stats_for("D", "new").std, pstd_of(all), 1e-12);
}

TEST(Traces, FeaturizerStdFloor) {
  std::string csv = std::string(kHeader) + "a,r,,S,o,0,100,200\nb,r,,S,o,0,100,200\n";
  TraceFeaturizer f = TraceFeaturizer::fit(read_spans_csv(write_file("floor.csv", csv)));
  EXPECT_DOUBLE_EQ(f.stats_for("S", "o").std, TraceFeaturizer::kStdFloor);
  EXPECT_NEAR(f.zscore("S", "o", 100), 0.0, 1e-12);
}

TEST(Traces, SpanGraphStructure) {
  TraceFeaturizer f = fitted();
  TraceGraphBatch b = build_trace_graphs(read_spans_csv(write_file("test.csv", test_csv())), f);
  ASSERT_EQ(b.num_nodes, 8);
  EXPECT_EQ(b.trace_ids, (std::vector<std::string>{"t1", "t2", "t3"}));
  EXPECT_EQ(b.trace_begin, (std::vector<int64_t>{0, 4, 5, 8}));
  EXPECT_EQ(b.node_trace, (std::vector<int64_t>{0, 0, 0, 0, 1, 2, 2, 2}));
  std::vector<std::string> ids;
  for (const auto& n : b.nodes) ids.push_back(n.span_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"r", "a", "c", "b", "x", "w", "y", "z"}));  // DFS preorder
  // ranges
  ASSERT_EQ(b.ranges.shape(), (Shape{8, 2}));
  const int64_t* R = b.ranges.data<int64_t>();
  std::vector<std::pair<int64_t, int64_t>> want = {{0, 4}, {0, 4}, {0, 4}, {0, 4}, {4, 5}, {5, 8}, {5, 8}, {5, 8}};
  for (int64_t i = 0; i < 8; ++i) EXPECT_EQ(std::make_pair(R[2 * i], R[2 * i + 1]), want[size_t(i)]) << i;
  // adjacency: r-a, a-c, r-b; y-z (the orphan y is a root)
  expect_symmetric_binary(b.adjacency);
  EXPECT_EQ(b.adjacency.rows, 8);
  EXPECT_EQ(edges_of(b.adjacency), (std::set<std::pair<int64_t, int64_t>>{
                                       {0, 1}, {1, 0}, {1, 2}, {2, 1}, {0, 3}, {3, 0}, {6, 7}, {7, 6}}));
  EXPECT_EQ(b.orphan_spans, 1);
  EXPECT_EQ(b.trace_orphans, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(b.nodes[3].status_code, 503);
  EXPECT_TRUE(b.nodes[3].error);
  EXPECT_FALSE(b.nodes[7].error);  // 404 is not an error
}

TEST(Traces, SpanFeatureColumns) {
  TraceFeaturizer f = fitted();
  TraceGraphBatch b = build_trace_graphs(read_spans_csv(write_file("test.csv", test_csv())), f);
  ASSERT_EQ(b.features.shape(), (Shape{8, 9}));
  ASSERT_EQ(b.features.dtype(), DType::F32);
  // one-hot: r ui:home(3), a A:get(0), c C:q(2), b B:put(1), x ui:home, w ui:home, y A:get, z unknown(4)
  std::vector<int64_t> hot = {3, 0, 2, 1, 3, 3, 0, 4};
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j <= 4; ++j) EXPECT_EQ(feat(b, i, j), j == hot[size_t(i)] ? 1.f : 0.f) << i << "," << j;
  // z-scores against hand-computed statistics
  const double home_mean = (std::log(1000.0) + std::log(3000.0)) / 2, home_std = std::log(3.0) / 2;
  const double q_mean = (std::log(100.0) + std::log(150.0)) / 2, q_std = std::log(1.5) / 2;
  std::vector<double> all = {std::log(1000.0), std::log(300.0), std::log(100.0), std::log(3000.0),
                             std::log(400.0), std::log(150.0)};
  const double g_mean = mean_of(all), g_std = pstd_of(all);
  EXPECT_NEAR(feat(b, 0, 5), (std::log(1001.0) - home_mean) / home_std, 1e-5);
  EXPECT_NEAR(feat(b, 1, 5), (std::log(301.0) - g_mean) / g_std, 1e-5);     // A:get seen once
  EXPECT_NEAR(feat(b, 2, 5), (std::log(101.0) - q_mean) / q_std, 1e-5);
  EXPECT_NEAR(feat(b, 3, 5), (std::log(401.0) - g_mean) / g_std, 1e-5);     // B:put seen once
  EXPECT_FLOAT_EQ(feat(b, 4, 5), 10.f);                                      // 1e9 us: clipped
  EXPECT_NEAR(feat(b, 7, 5), (std::log(11.0) - g_mean) / g_std, 1e-5);      // unknown op
  // error flag
  std::vector<float> err = {0, 0, 0, 1, 0, 0, 0, 0};
  for (int64_t i = 0; i < 8; ++i) EXPECT_EQ(feat(b, i, 6), err[size_t(i)]) << i;
  // log1p(fan-out)
  std::vector<double> fan = {2, 1, 0, 0, 0, 0, 1, 0};
  for (int64_t i = 0; i < 8; ++i) EXPECT_NEAR(feat(b, i, 7), std::log1p(fan[size_t(i)]), 1e-6) << i;
  // depth / 10 (the orphan restarts at 0)
  std::vector<double> depth = {0, 1, 2, 1, 0, 0, 0, 1};
  for (int64_t i = 0; i < 8; ++i) EXPECT_NEAR(feat(b, i, 8), depth[size_t(i)] / 10, 1e-7) << i;
}

TEST(Traces, InputOrderDoesNotMatter) {
  TraceFeaturizer f = fitted();
  auto spans = read_spans_csv(write_file("test.csv", test_csv()));
  TraceGraphBatch a = build_trace_graphs(spans, f);
  std::vector<Span> rev(spans.rbegin(), spans.rend());
  TraceGraphBatch b = build_trace_graphs(rev, f);
  EXPECT_EQ(b.trace_ids, (std::vector<std::string>{"t3", "t1", "t2"}));  // first appearance
  auto b_ok = build_trace_graphs(filter_traces(rev, {"t1"}), f);
  auto a_ok = build_trace_graphs(filter_traces(spans, {"t1"}), f);
  EXPECT_TRUE(test::all_close(a_ok.features, b_ok.features, 0, 0));
  EXPECT_EQ(edges_of(a_ok.adjacency), edges_of(b_ok.adjacency));
}

TEST(Traces, OperationModeMerging) {
  // m1: r ui:home -> a1 A:get -> c1 C:q; r -> a2 A:get -> {c2 C:q, a3 A:get (self call)}; r -> b B:put
  std::string csv = std::string(kHeader) +
                    "m1,a3,a2,A,get,450,100,200\n"
                    "m1,r,,ui,home,0,1000,200\n"
                    "m1,a1,r,A,get,100,200,200\n"
                    "m1,c1,a1,C,q,120,50,200\n"
                    "m1,a2,r,A,get,400,300,500\n"
                    "m1,c2,a2,C,q,420,60,200\n"
                    "m1,b,r,B,put,800,100,404\n";
  TraceFeaturizer f = fitted(NodeKind::Operation);
  EXPECT_EQ(f.feature_dim(), 10);
  EXPECT_EQ(f.feature_names().back(), "log1p_count");
  expect_error([&] { build_trace_graphs(read_spans_csv(write_file("m.csv", csv)), f, {NodeKind::Span}); },
               {"node_kind", "operation"});
  TraceGraphBatch b = build_trace_graphs(read_spans_csv(write_file("m.csv", csv)), f, {NodeKind::Operation});
  ASSERT_EQ(b.num_nodes, 4);
  std::vector<std::string> ops;
  for (const auto& n : b.nodes) ops.push_back(n.service + ":" + n.operation);
  EXPECT_EQ(ops, (std::vector<std::string>{"ui:home", "A:get", "C:q", "B:put"}));
  EXPECT_EQ(b.nodes[1].count, 3);
  EXPECT_EQ(b.nodes[1].duration_us, 600);
  EXPECT_EQ(b.nodes[1].status_code, 500);
  EXPECT_TRUE(b.nodes[1].error);
  EXPECT_EQ(b.nodes[1].fan_out, 3);
  EXPECT_EQ(b.nodes[1].span_id, "a1");
  EXPECT_EQ(b.nodes[2].count, 2);
  EXPECT_EQ(b.nodes[2].duration_us, 110);
  EXPECT_EQ(b.nodes[3].status_code, 404);
  expect_symmetric_binary(b.adjacency);
  EXPECT_EQ(edges_of(b.adjacency),
            (std::set<std::pair<int64_t, int64_t>>{{0, 1}, {1, 0}, {1, 2}, {2, 1}, {0, 3}, {3, 0}}));
  // columns: one-hot 0..4, z 5, error 6, fan-out 7, depth 8, log1p(count) 9
  EXPECT_EQ(feat(b, 1, 0), 1.f);
  EXPECT_EQ(feat(b, 1, 6), 1.f);
  EXPECT_NEAR(feat(b, 0, 7), std::log1p(3.0), 1e-6);
  EXPECT_NEAR(feat(b, 1, 7), std::log1p(3.0), 1e-6);
  EXPECT_NEAR(feat(b, 2, 8), 0.2, 1e-7);
  EXPECT_NEAR(feat(b, 1, 9), std::log1p(3.0), 1e-6);
  EXPECT_NEAR(feat(b, 0, 9), std::log1p(1.0), 1e-6);
  // C:q: summed duration 110 against C:q's statistics (each training trace has one C:q span)
  const double q_mean = (std::log(100.0) + std::log(150.0)) / 2, q_std = std::log(1.5) / 2;
  EXPECT_NEAR(feat(b, 2, 5), (std::log(111.0) - q_mean) / q_std, 1e-5);
}

TEST(Traces, FeaturizerJsonRoundTrip) {
  for (NodeKind kind : {NodeKind::Span, NodeKind::Operation}) {
    TraceFeaturizer f = fitted(kind);
    std::string path = scratch_path("featurizer.json");
    f.save_json(path);
    TraceFeaturizer g = TraceFeaturizer::load_json(path);
    EXPECT_EQ(g.to_json(), f.to_json());
    EXPECT_EQ(g.node_kind(), kind);
    auto spans = read_spans_csv(write_file("test.csv", test_csv()));
    TraceGraphBatch a = build_trace_graphs(spans, f, {kind}), b = build_trace_graphs(spans, g, {kind});
    EXPECT_TRUE(test::all_close(a.features, b.features, 0, 0));
  }
  std::string good = fitted().to_json();
  auto corrupt = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  expect_error([&] { TraceFeaturizer::from_json("{", "f.json"); }, {"f.json", "invalid JSON"});
  expect_error([&] { TraceFeaturizer::from_json(corrupt("\"version\": 1", "\"version\": 2"), "f.json"); },
               {"f.json", "version"});
  expect_error([&] { TraceFeaturizer::from_json(corrupt("\"node_kind\"", "\"kind\""), "f.json"); },
               {"unknown field \"kind\""});
  expect_error([&] { TraceFeaturizer::from_json(corrupt("\"name\": \"B:put\"", "\"name\": \"A:get\""), "f.json"); },
               {"operations[1]", "sorted"});
  expect_error([&] { TraceFeaturizer::from_json(corrupt("\"count\": 1", "\"count\": \"1\""), "f.json"); },
               {"operations[0]", "count"});
  expect_error([&] { TraceFeaturizer::load_json(scratch_path("nope.json")); }, {"nope.json"});
}

TEST(Traces, CsvReaderErrors) {
  expect_error([] { read_spans_csv(scratch_path("missing.csv")); }, {"read_spans_csv", "missing.csv"});
  std::string bad_num = std::string(kHeader) + "t,r,,ui,home,0,10,200\nt,a,r,A,get,1,12ms,200\n";
  expect_error([&] { read_spans_csv(write_file("bad_num.csv", bad_num)); },
               {"bad_num.csv", "line 3", "column 7", "duration_us", "12ms"});
  std::string ragged = std::string(kHeader) + "t,r,,ui,home,0,10\n";
  expect_error([&] { read_spans_csv(write_file("ragged.csv", ragged)); },
               {"ragged.csv", "line 2", "expected 8 columns", "got 7"});  // runtime/csv's read_csv_text
  std::string long_row = std::string(kHeader) + "t,r,,ui,home,0,10,200\nt,a,r,A,get,1,5,200,9\n";
  expect_error([&] { read_spans_csv(write_file("long.csv", long_row)); },
               {"long.csv", "line 3", "expected 8 columns", "got 9"});
  std::string no_col = "trace_id,span_id,parent_span_id,service,operation,start_time_us,duration_us\nt,r,,ui,h,0,1\n";
  expect_error([&] { read_spans_csv(write_file("no_col.csv", no_col)); },
               {"no_col.csv", "missing column \"status_code\""});
  std::string empty_id = std::string(kHeader) + "t,,,ui,home,0,10,200\n";
  expect_error([&] { read_spans_csv(write_file("empty_id.csv", empty_id)); },
               {"empty_id.csv", "line 2", "column 2", "span_id", "empty"});
  std::string neg = std::string(kHeader) + "t,r,,ui,home,0,-5,200\n";
  expect_error([&] { read_spans_csv(write_file("neg.csv", neg)); }, {"neg.csv", "line 2", "negative"});
  // Columns in another order, an extra column, CRLF line ends: accepted.
  std::string other = "service,operation,trace_id,span_id,parent_span_id,start_time_us,duration_us,status_code,x\r\n"
                      "ui,home,t,r,,0,10,502,extra\r\n";
  auto s = read_spans_csv(write_file("other.csv", other));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].service, "ui");
  EXPECT_EQ(s[0].status_code, 502);
  EXPECT_TRUE(s[0].error);
}

TEST(Traces, CycleAndDuplicateErrors) {
  TraceFeaturizer f = fitted();
  std::string cycle = std::string(kHeader) + "ok,r,,ui,home,0,10,200\ncyc,r,,ui,home,0,10,200\n"
                                             "cyc,p,q,A,get,1,5,200\ncyc,q,p,C,q,2,3,200\n";
  expect_error([&] { build_trace_graphs(read_spans_csv(write_file("cycle.csv", cycle)), f); },
               {"build_trace_graphs", "trace \"cyc\"", "cycle"});
  std::string self = std::string(kHeader) + "slf,r,r,ui,home,0,10,200\n";
  expect_error([&] { build_trace_graphs(read_spans_csv(write_file("self.csv", self)), f); },
               {"trace \"slf\"", "cycle"});
  std::string dup = std::string(kHeader) + "dup,r,,ui,home,0,10,200\ndup,a,r,A,get,1,5,200\ndup,a,r,C,q,2,3,200\n";
  expect_error([&] { build_trace_graphs(read_spans_csv(write_file("dup.csv", dup)), f); },
               {"trace \"dup\"", "duplicate span id \"a\""});
  // The same span id in two different traces is fine.
  std::string two = std::string(kHeader) + "u,r,,ui,home,0,10,200\nv,r,,ui,home,0,10,200\n";
  EXPECT_EQ(build_trace_graphs(read_spans_csv(write_file("two.csv", two)), f).num_nodes, 2);
  // Only single-span traces: no edges at all.
  auto b = build_trace_graphs(read_spans_csv(write_file("two.csv", two)), f);
  EXPECT_EQ(b.adjacency.nnz(), 0);
  EXPECT_EQ(b.adjacency.rows, 2);
}

// The Jaeger equivalent of test_csv() (processes shared per trace, references CHILD_OF).
std::string test_jaeger() {
  return R"({"data":[
 {"traceID":"t1","spans":[
   {"traceID":"t1","spanID":"b","operationName":"put","references":[{"refType":"CHILD_OF","traceID":"t1","spanID":"r"}],
    "startTime":500,"duration":400,"tags":[{"key":"http.status_code","type":"int64","value":503},{"key":"error","type":"bool","value":true}],"processID":"p2"},
   {"traceID":"t1","spanID":"c","operationName":"q","references":[{"refType":"CHILD_OF","traceID":"t1","spanID":"a"}],
    "startTime":150,"duration":100,"tags":[{"key":"http.status_code","type":"int64","value":200}],"processID":"p4"},
   {"traceID":"t1","spanID":"r","operationName":"home","references":[],
    "startTime":0,"duration":1000,"tags":[{"key":"http.status_code","type":"int64","value":200}],"processID":"p1"},
   {"traceID":"t1","spanID":"a","operationName":"get","references":[{"refType":"CHILD_OF","traceID":"t1","spanID":"r"}],
    "startTime":100,"duration":300,"tags":[{"key":"http.status_code","type":"int64","value":200}],"processID":"p3"}],
  "processes":{"p1":{"serviceName":"ui","tags":[]},"p2":{"serviceName":"B","tags":[]},
               "p3":{"serviceName":"A","tags":[]},"p4":{"serviceName":"C","tags":[]}}},
 {"traceID":"t2","spans":[
   {"traceID":"t2","spanID":"x","operationName":"home","startTime":5,"duration":1000000000,
    "tags":[{"key":"http.status_code","type":"int64","value":200}],"processID":"p1"}],
  "processes":{"p1":{"serviceName":"ui","tags":[]}}},
 {"traceID":"t3","spans":[
   {"traceID":"t3","spanID":"z","operationName":"new","references":[{"refType":"CHILD_OF","traceID":"t3","spanID":"y"}],
    "startTime":20,"duration":10,"tags":[{"key":"http.status_code","type":"string","value":"404"}],"processID":"p3"},
   {"traceID":"t3","spanID":"y","operationName":"get","references":[{"refType":"FOLLOWS_FROM","traceID":"t3","spanID":"gone"}],
    "startTime":10,"duration":50,"tags":[{"key":"http.status_code","type":"int64","value":200}],"processID":"p2"},
   {"traceID":"t3","spanID":"w","operationName":"home","references":[],
    "startTime":0,"duration":500,"tags":[{"key":"http.status_code","type":"int64","value":200}],"processID":"p1"}],
  "processes":{"p1":{"serviceName":"ui","tags":[]},"p2":{"serviceName":"A","tags":[]},"p3":{"serviceName":"D","tags":[]}}}
]})";
}

void expect_same_graphs(const TraceGraphBatch& a, const TraceGraphBatch& b) {
  ASSERT_EQ(a.num_nodes, b.num_nodes);
  EXPECT_EQ(a.trace_ids, b.trace_ids);
  EXPECT_EQ(a.trace_begin, b.trace_begin);
  EXPECT_EQ(a.node_trace, b.node_trace);
  EXPECT_EQ(a.orphan_spans, b.orphan_spans);
  EXPECT_TRUE(test::all_close(a.features, b.features, 0, 0));
  EXPECT_EQ(a.ranges.to_vector(), b.ranges.to_vector());
  EXPECT_EQ(edges_of(a.adjacency), edges_of(b.adjacency));
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    EXPECT_EQ(a.nodes[i].span_id, b.nodes[i].span_id) << i;
    EXPECT_EQ(a.nodes[i].service, b.nodes[i].service) << i;
    EXPECT_EQ(a.nodes[i].operation, b.nodes[i].operation) << i;
    EXPECT_EQ(a.nodes[i].duration_us, b.nodes[i].duration_us) << i;
    EXPECT_EQ(a.nodes[i].status_code, b.nodes[i].status_code) << i;
    EXPECT_EQ(a.nodes[i].error, b.nodes[i].error) << i;
  }
}

TEST(Traces, JaegerReaderMatchesCsv) {
  auto js = read_jaeger_json(write_file("test.json", test_jaeger()));
  auto cs = read_spans_csv(write_file("test.csv", test_csv()));
  ASSERT_EQ(js.size(), cs.size());
  for (NodeKind kind : {NodeKind::Span, NodeKind::Operation}) {
    TraceFeaturizer f = fitted(kind);
    expect_same_graphs(build_trace_graphs(js, f, {kind}), build_trace_graphs(cs, f, {kind}));
  }
}

TEST(Traces, JaegerReaderTagsAndErrors) {
  // error tag without a status; status as a string; FOLLOWS_FROM used only when there is no CHILD_OF.
  std::string doc = R"({"data":[{"traceID":"T","spans":[
     {"spanID":"s1","operationName":"o","startTime":1,"duration":2,"processID":"p","tags":[{"key":"error","type":"bool","value":true}]},
     {"spanID":"s2","operationName":"o","startTime":1,"duration":2,"processID":"p",
      "references":[{"refType":"FOLLOWS_FROM","traceID":"T","spanID":"s1"},{"refType":"CHILD_OF","traceID":"T","spanID":"s3"}]},
     {"spanID":"s3","operationName":"o","startTime":1,"duration":2,"processID":"p","tags":[{"key":"http.status_code","value":"201"}]}],
   "processes":{"p":{"serviceName":"svc"}}}]})";
  auto s = read_jaeger_json(write_file("tags.json", doc));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_TRUE(s[0].error);
  EXPECT_EQ(s[0].status_code, 0);
  EXPECT_EQ(s[1].parent_span_id, "s3");
  EXPECT_EQ(s[2].status_code, 201);
  EXPECT_FALSE(s[2].error);
  EXPECT_EQ(s[2].service, "svc");
  EXPECT_EQ(s[2].trace_id, "T");

  expect_error([] { read_jaeger_json(scratch_path("nope.json")); }, {"read_jaeger_json", "nope.json"});
  expect_error([&] { read_jaeger_json(write_file("broken.json", "{\"data\":[")); }, {"broken.json", "invalid JSON"});
  expect_error([&] { read_jaeger_json(write_file("nodata.json", "{}")); }, {"nodata.json", "missing field \"data\""});
  std::string no_dur = R"({"data":[{"traceID":"T9","spans":[{"spanID":"s7","operationName":"o","startTime":1,"processID":"p"}],
    "processes":{"p":{"serviceName":"svc"}}}]})";
  expect_error([&] { read_jaeger_json(write_file("nodur.json", no_dur)); },
               {"nodur.json", "trace \"T9\"", "span \"s7\"", "missing field \"duration\""});
  std::string bad_proc = R"({"data":[{"traceID":"T9","spans":[{"spanID":"s7","operationName":"o","startTime":1,"duration":3,"processID":"p2"}],
    "processes":{"p":{"serviceName":"svc"}}}]})";
  expect_error([&] { read_jaeger_json(write_file("badproc.json", bad_proc)); },
               {"trace \"T9\"", "span \"s7\"", "processID \"p2\""});
  std::string str_dur = R"({"data":[{"traceID":"T9","spans":[{"spanID":"s7","operationName":"o","startTime":1,"duration":"3","processID":"p"}],
    "processes":{"p":{"serviceName":"svc"}}}]})";
  expect_error([&] { read_jaeger_json(write_file("strdur.json", str_dur)); },
               {"span \"s7\"", "\"duration\" must be an integer"});
}

TEST(Traces, LabelsReader) {
  std::string csv = "trace_id,label,kind,root_cause_service\nt1,1,invocation,B\nt2,0,normal,\n";
  auto labels = read_trace_labels(write_file("labels.csv", csv));
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels.at("t1").label, 1);
  EXPECT_EQ(labels.at("t1").kind, "invocation");
  EXPECT_EQ(labels.at("t1").root_cause, "B");
  EXPECT_EQ(labels.at("t2").root_cause, "");
  TraceGraphBatch b = build_trace_graphs(read_spans_csv(write_file("test.csv", test_csv())), fitted());
  EXPECT_EQ(labels_for(b, labels), (std::vector<int>{1, 0, -1}));
  expect_error([&] { read_trace_labels(write_file("l_dup.csv", csv + "t1,0,normal,\n")); },
               {"l_dup.csv", "line 4", "duplicate trace id \"t1\"", "line 2"});
  expect_error([&] { read_trace_labels(write_file("l_bad.csv", csv + "t3,2,response,A\n")); },
               {"l_bad.csv", "line 4", "label must be 0 or 1"});
  expect_error([&] { read_trace_labels(write_file("l_kind.csv", csv + "t3,1,latency,A\n")); },
               {"l_kind.csv", "line 4", "kind"});
  expect_error([&] { read_trace_labels(write_file("l_contra.csv", csv + "t3,1,normal,\n")); },
               {"l_contra.csv", "line 4", "contradicts"});
}

// ---------------------------------------------------------------------------------------------------------
// The shipped synthetic data set.

TEST(Traces, ShippedDataJaegerMatchesCsvAndLabels) {
  const std::string dir = test::source_dir() + "/experiments/data/traces_tt_like/";
  auto train = read_spans_csv(dir + "train_spans.csv");
  auto test_spans = read_spans_csv(dir + "test_spans.csv");
  auto jaeger = read_jaeger_json(dir + "test_spans_jaeger.json");
  auto labels = read_trace_labels(dir + "test_labels.csv");
  for (NodeKind kind : {NodeKind::Span, NodeKind::Operation}) {
    TraceFeaturizer f = TraceFeaturizer::fit(train, {kind});
    TraceGraphBatch jb = build_trace_graphs(jaeger, f, {kind});
    EXPECT_GE(jb.num_traces(), 40);
    TraceGraphBatch cb = build_trace_graphs(filter_traces(test_spans, jb.trace_ids), f, {kind});
    expect_same_graphs(jb, cb);

    TraceGraphBatch all = build_trace_graphs(test_spans, f, {kind});
    EXPECT_EQ(all.num_traces(), int64_t(labels.size()));
    expect_symmetric_binary(all.adjacency);
    // block diagonal: every edge stays within its trace
    for (auto [a, b] : edges_of(all.adjacency)) EXPECT_EQ(all.node_trace[size_t(a)], all.node_trace[size_t(b)]);
    EXPECT_EQ(all.orphan_spans, 0);
    auto y = labels_for(all, labels);
    int64_t pos = 0, file_pos = 0;
    for (int v : y) {
      EXPECT_NE(v, -1);
      pos += v == 1;
    }
    for (const auto& [id, l] : labels) file_pos += l.label;
    EXPECT_EQ(pos, file_pos);
    EXPECT_GT(pos, 0);
    // z-scores finite and clipped, one-hot exactly one per row
    const int64_t d = f.feature_dim(), V = f.vocab_size();
    const float* F = all.features.data<float>();
    for (int64_t i = 0; i < all.num_nodes; ++i) {
      float s = 0;
      for (int64_t j = 0; j <= V; ++j) s += F[i * d + j];
      ASSERT_EQ(s, 1.f) << i;
      ASSERT_TRUE(std::isfinite(F[i * d + V + 1]) && std::fabs(F[i * d + V + 1]) <= 10.f) << i;
    }
  }
}

}  // namespace
}  // namespace ad::tracedae
