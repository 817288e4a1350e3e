// DeepSphere's data side, decisions and a small end-to-end training: bad inputs (one clear error naming the
// file), the nested-anomaly rule, the case decision, the call-graph matrices, and a model that must find
// planted anomalous cases far better than chance.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "models/deepsphere/callgraph_cases.h"
#include "models/deepsphere/deepsphere.h"
#include "runtime/metrics.h"
#include "runtime/npy.h"
#include "tests/support/helpers.h"

using namespace ad;
using namespace ad::deepsphere;

namespace {
namespace fs = std::filesystem;
std::string temp_dir() {
  static const std::string dir = [] {
    std::string p = (fs::temp_directory_path() / ("ad_test_deepsphere_" + std::to_string(::getpid()))).string();
    fs::create_directories(p);
    return p;
  }();
  return dir;
}
std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}
std::string write_npy(const std::string& name, const Tensor& t) {
  const std::string path = temp_dir() + "/" + name;
  save_npy(path, t);
  return path;
}

// C cases of T steps of N x N: a per-entry sinusoid with a random phase per case plus noise; cases listed
// in `anomalous` get entry (0, 1) and (1, 0) raised by `bump` on steps 2..3.
Tensor planted_cases(int64_t C, int64_t T, int64_t N, const std::vector<int>& anomalous, double bump, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> phase(0, 6.283);
  std::normal_distribution<double> noise(0, 0.05);
  Tensor x = Tensor::empty({C, T, N, N});
  float* p = x.data<float>();
  for (int64_t c = 0; c < C; ++c) {
    const double s = phase(gen);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double v = 0.5 + 0.3 * std::sin(s + 0.8 * double(t) + 0.3 * double(i + j)) + noise(gen);
          if (anomalous[size_t(c)] && t >= 2 && t <= 3 && i + j == 1) v += bump;
          p[((c * T + t) * N + i) * N + j] = float(v);
        }
  }
  return x;
}
}  // namespace

TEST(DeepSphereData, RejectsBadShapeNanLabelsAndDeviations) {
  const std::string three_d = write_npy("three_d.npy", Tensor::zeros({4, 3, 3}));
  EXPECT_TRUE(test::error_contains([&] { load_dataset(three_d, "", ""); }, "three_d.npy: shape: expected (cases, T, N, N)"));
  const std::string not_square = write_npy("not_square.npy", Tensor::zeros({4, 3, 3, 2}));
  EXPECT_TRUE(test::error_contains([&] { load_dataset(not_square, "", ""); }, "not_square.npy: shape"));
  Tensor with_nan = Tensor::zeros({2, 3, 2, 2});
  with_nan.data<float>()[((1 * 3 + 2) * 2 + 1) * 2 + 0] = NAN;
  const std::string nan_path = write_npy("nan.npy", with_nan);
  EXPECT_TRUE(test::error_contains([&] { load_dataset(nan_path, "", ""); }, "nan.npy: case 1, t 2, i 1, j 0: value nan"));

  const std::string good = write_npy("good.npy", Tensor::zeros({2, 3, 2, 2}));
  const std::string labels_ok = write_file("labels_ok.csv", "case,label\n1,1\n0,0\n");
  EXPECT_EQ(load_dataset(good, labels_ok, "").labels, (std::vector<int>{0, 1}));
  const std::string labels_bad = write_file("labels_bad.csv", "case,label\n0,2\n1,0\n");
  EXPECT_TRUE(test::error_contains([&] { load_dataset(good, labels_bad, ""); }, "labels_bad.csv: line 2: label 2"));
  const std::string labels_short = write_file("labels_short.csv", "case,label\n0,1\n");
  EXPECT_TRUE(test::error_contains([&] { load_dataset(good, labels_short, ""); }, "labels_short.csv: rows: 1 labels for 2"));
  const std::string labels_twice = write_file("labels_twice.csv", "case,label\n0,1\n0,0\n");
  EXPECT_TRUE(test::error_contains([&] { load_dataset(good, labels_twice, ""); }, "case 0 labelled twice"));

  const std::string dev_ok = write_file("dev_ok.csv", "case,t,i,j,deviation\n1,2,1,0,0.5\n");
  EXPECT_EQ(load_dataset(good, "", dev_ok).deviations.size(), 1u);
  const std::string dev_out = write_file("dev_out.csv", "case,t,i,j,deviation\n1,3,1,0,0.5\n");
  EXPECT_TRUE(test::error_contains([&] { load_dataset(good, "", dev_out); },
                                   "dev_out.csv: line 2: entry (case 1, t 3, i 1, j 0) is outside"));
  const std::string dev_frac = write_file("dev_frac.csv", "case,t,i,j,deviation\n1,0.5,1,0,0.5\n");
  EXPECT_TRUE(test::error_contains([&] { load_dataset(good, "", dev_frac); }, "dev_frac.csv: line 2: t 0.5 is not an integer"));
}

TEST(DeepSphereData, TimeMajorRoundTrip) {
  Tensor x = test::random_tensor({3, 4, 2, 2}, 9);
  Tensor tm = to_time_major(x);
  EXPECT_EQ(tm.shape(), (Shape{4, 3, 4}));
  EXPECT_EQ(tm.data<float>()[(2 * 3 + 1) * 4 + 3], x.data<float>()[(1 * 4 + 2) * 4 + 3]);
  EXPECT_TRUE(test::all_close(from_time_major(tm, 2), x, 0, 0));
}

TEST(DeepSphereNested, RuleUsesNormalCasesStatistics) {
  // Case 0 predicted normal with residuals +-0.1 (mean |r| 0.1, std 0); case 1 predicted anomalous.
  Tensor r = Tensor::full({2, 1, 2, 2}, 0.1);
  r.data<float>()[1] = -0.1f;
  float* c1 = r.data<float>() + 4;
  c1[0] = 0.05f, c1[1] = -0.3f, c1[2] = 0.2f, c1[3] = 0.1f;
  NestedResult n = nested_anomalies(r, {0, 1}, 3.0);
  EXPECT_NEAR(n.cutoff, 0.1, 1e-6);
  ASSERT_EQ(n.flagged.size(), 2u);  // 0.1 is not above the cutoff
  EXPECT_EQ(n.flagged[0].j, 1);     // |-0.3| first
  EXPECT_NEAR(n.flagged[0].residual, -0.3, 1e-6);
  EXPECT_EQ(n.flagged[1].i, 1);
  EXPECT_EQ(n.flagged[1].j, 0);
}

TEST(DeepSphereDecision, SphereRuleAndAeQuantile) {
  Settings s;
  ForwardResult test, train;
  test.radius = -2.0;  // |R| is used
  test.d2 = {1.0, 4.0, 4.84, 4.8};
  test.rec = {0.1, 0.2, 0.3, 0.4};
  train.rec = {0.0, 0.1, 0.2, 0.3, 0.4};
  CaseDecision d = decide_cases(s, test, train);
  EXPECT_EQ(d.predicted, (std::vector<int>{0, 0, 0, 0}));  // d = 2.2 is exactly R (1 + 0.1): normal
  test.d2[2] = 4.85;
  d = decide_cases(s, test, train);
  EXPECT_EQ(d.predicted, (std::vector<int>{0, 0, 1, 0}));
  EXPECT_NEAR(d.score[0], -1.0, 1e-12);
  s.hypersphere = false;
  s.ae_quantile = 0.5;  // median of the training errors: 0.2
  d = decide_cases(s, test, train);
  EXPECT_EQ(d.predicted, (std::vector<int>{0, 0, 1, 1}));
}

TEST(DeepSphereCallGraph, CountsPerWindowAndRejectsEmptySpans) {
  const std::string header = "trace_id,span_id,parent_span_id,service,operation,start_time_us,duration_us,status_code\n";
  // Window 100 us, 2 steps per case: windows 0..3 -> 2 cases. a -> b twice in window 0, b -> c once in window 3.
  const std::string spans = write_file("spans.csv", header +
                                                        "t1,r,,a,op,0,50,200\n"
                                                        "t1,x,r,b,op,10,20,200\n"
                                                        "t1,y,r,b,op,30,40,200\n"
                                                        "t2,r,,b,op,350,10,200\n"
                                                        "t2,z,r,c,op,360,5,200\n");
  const std::string labels = write_file("trace_labels.csv",
                                        "trace_id,label,kind,root_cause_service\nt1,0,normal,\nt2,1,response,c\n");
  CallGraphSettings s;
  s.train_spans = s.test_spans = spans;
  s.test_labels = labels;
  s.window_us = 100;
  s.steps = 2;
  s.log1p = false;
  auto [train, test] = callgraph_datasets(s);
  EXPECT_EQ(test.C, 2);
  EXPECT_EQ(test.N, 3);
  EXPECT_EQ(test.node_names, (std::vector<std::string>{"a", "b", "c"}));
  const float* x = test.cases.data<float>();
  EXPECT_EQ(x[(0 * 3 + 0) * 3 + 1], 2.0f);                    // case 0, t 0, a -> b
  EXPECT_EQ(x[((1 * 2 + 1) * 3 + 1) * 3 + 2], 1.0f);          // case 1, t 1 (window 3), b -> c
  EXPECT_EQ(test.labels, (std::vector<int>{0, 1}));
  s.value = "latency";
  EXPECT_EQ(callgraph_datasets(s).second.cases.data<float>()[1], 0.03f);  // mean of 20 and 40 us, in ms

  const std::string empty = write_file("empty_spans.csv", header);
  s.test_spans = empty;
  EXPECT_TRUE(test::error_contains([&] { callgraph_datasets(s); }, "empty_spans.csv"));
}

TEST(DeepSphereModel, FindsPlantedAnomalousCases) {
  const int64_t C = 120, T = 6, N = 4;
  std::vector<int> train_anom(C, 0), test_anom(C, 0);
  for (int64_t c = 0; c < C; c += 10) train_anom[size_t(c)] = 1, test_anom[size_t(c + 3)] = 1;
  Dataset train, test;
  train.cases = planted_cases(C, T, N, train_anom, 1.5, 1);
  test.cases = planted_cases(C, T, N, test_anom, 1.5, 2);
  for (Dataset* d : {&train, &test}) d->C = C, d->T = T, d->N = N;
  test.labels = test_anom;
  Settings s;
  s.hidden = 12;
  s.epochs = 150;
  s.learning_rate = 0.01;
  s.keep_prob = 1.0;
  Trainer trainer(s, train, Device::CPU);
  double first = 0, last = 0;
  for (int64_t e = 0; e < s.epochs; ++e) {
    const double loss = trainer.epoch().loss;
    if (e == 0) first = loss;
    last = loss;
  }
  EXPECT_LT(last, 0.2 * first);
  ForwardResult scored = trainer.score(test.cases), train_scored = trainer.score(train.cases);
  CaseDecision d = decide_cases(s, scored, train_scored);
  const double auc = roc_auc(d.score, test.labels);
  RecordProperty("case_auc_x1000", std::to_string(int(auc * 1000)));
  EXPECT_GT(auc, 0.8) << "the planted cases are far from the others";
}

TEST(DeepSphereConverter, OriginalPicklesLoadThroughOurReader) {
  if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "no /usr/bin/python3 with numpy for tools/deepsphere_convert_pickle.py";
  const std::string dir = temp_dir() + "/pickles";
  const std::string cmd = "/usr/bin/python3 " + test::source_dir() + "/tools/deepsphere_convert_pickle.py --self-test " +
                          dir + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string out = dir + "/converted/";
  Dataset test = load_dataset(out + "test_data.npy", out + "test_labels.csv", out + "test_deviations.csv");
  EXPECT_EQ(test.cases.shape(), (Shape{2, 2, 2, 2}));
  EXPECT_EQ(test.labels, (std::vector<int>{0, 1}));  // the original's 1 = normal, flipped
  ASSERT_EQ(test.deviations.size(), 1u);
  EXPECT_EQ(test.deviations[0].c, 1);
  EXPECT_EQ(test.deviations[0].t, 1);
  EXPECT_EQ(test.deviations[0].j, 1);
  EXPECT_DOUBLE_EQ(test.deviations[0].value, 0.25);
  Dataset train = load_dataset(out + "train_data.npy", out + "train_labels.csv", "");
  EXPECT_EQ(train.labels, (std::vector<int>{0, 0, 1}));
}
