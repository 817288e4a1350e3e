// GLEAD's data pipeline, loss, scoring and bad-input errors (the network itself: test_glead_golden.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "models/glead/glead.h"
#include "models/glead/synthetic.h"
#include "tests/support/helpers.h"

using namespace ad;
using namespace ad::glead;

namespace {
std::string write_temp(const std::string& name, const std::string& content) {
  const std::string dir = std::filesystem::temp_directory_path().string() + "/glead_test_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + name) << content;
  return dir + "/" + name;
}

LogEntries entries(int n, std::vector<int> anomalous_at) {
  LogEntries e;
  for (int i = 0; i < n; ++i) {
    e.keys.push_back("K" + std::to_string(i % 7));
    e.labels.push_back(0);
  }
  for (int i : anomalous_at) e.labels[size_t(i)] = 1, e.keys[size_t(i)] = "ERR";
  return e;
}
}  // namespace

TEST(GleadData, WindowsAreCountWindowsLabelledByAnyEntry) {
  LogEntries e = entries(45, {25});
  std::vector<Window> w = slide_windows(e, 20, 10, "x");
  ASSERT_EQ(w.size(), 3u);  // starts 0, 10, 20 (the original: range(0, n - size + 1, step))
  EXPECT_EQ(w[0].label, 0);
  EXPECT_EQ(w[1].label, 1);
  EXPECT_EQ(w[2].label, 1);
  EXPECT_EQ(w[2].entry_labels[5], 1);
  EXPECT_EQ(w[2].start, 20);
  EXPECT_TRUE(test::error_contains([&] { slide_windows(e, 50, 10, "f.csv"); },
                                   "f.csv: window_size: 50 is larger than the 45 entries read"));
}

TEST(GleadData, VocabularyFromTrainingWindowsInFirstOccurrenceOrder) {
  std::vector<Window> train(2);
  train[0].keys = {"b", "a", "b"};
  train[1].keys = {"c", "a"};
  Vocabulary v = build_vocabulary(train);
  EXPECT_EQ(v.keys, (std::vector<std::string>{"", "UNK", "b", "a", "c"}));
  EXPECT_EQ(v.encode("c"), 4);
  EXPECT_EQ(v.encode("never seen"), 1);
  std::vector<Window> test(1);
  test[0].keys = {"a", "zzz"};  // a short window (a session) is padded with 0
  Tensor ids = encode_windows(test, {0}, v, 4);
  EXPECT_EQ(ids.to_vector(), (std::vector<double>{3, 1, 0, 0}));
}

TEST(GleadData, TimeOrderedSplitSharesNoEntryBetweenParts) {
  SyntheticLogOptions o{6000, 0.05, 3};
  LogEntries e = generate_synthetic_log(o);
  std::vector<Window> w = slide_windows(e, 20, 10, "synthetic");
  Settings s;
  s.split = "time_ordered";
  s.sizes = SplitSizes{5, 100, 0, 5, 20, 3, -1, -1};
  Split sp = split_windows(w, s, int64_t(e.keys.size()));
  auto range = [](const std::vector<Window>& ws) {
    int64_t lo = INT64_MAX, hi = -1;
    for (const Window& x : ws) lo = std::min(lo, x.start), hi = std::max(hi, x.start + 20);
    return std::pair{lo, hi};
  };
  auto [trlo, trhi] = range(sp.train);
  auto [valo, vahi] = range(sp.val);
  auto [telo, tehi] = range(sp.test);
  EXPECT_LE(trhi, valo);
  EXPECT_LE(vahi, telo);
  EXPECT_GT(sp.test.size(), 100u);
  // The random split (the original's) draws half-overlapping windows: train and test do share entries.
  s.split = "random";
  Split r = split_windows(w, s, int64_t(e.keys.size()));
  std::set<int64_t> train_entries;
  for (const Window& x : r.train)
    for (int64_t i = x.start; i < x.start + 20; ++i) train_entries.insert(i);
  int64_t shared = 0;
  for (const Window& x : r.test) shared += train_entries.count(x.start) || train_entries.count(x.start + 19);
  EXPECT_GT(shared, 0);
  // Too few windows for a requested size: one error naming the key.
  s.sizes.val_anomalous = 100000;
  s.path = "g.json";
  EXPECT_TRUE(test::error_contains([&] { split_windows(w, s, int64_t(e.keys.size())); }, "g.json: split.val_anomalous"));
}

TEST(GleadData, SyntheticLogIsSeededAndLabelsOnlyAnomalousEntries) {
  LogEntries a = generate_synthetic_log({5000, 0.05, 1}), b = generate_synthetic_log({5000, 0.05, 1});
  EXPECT_EQ(a.keys, b.keys);
  EXPECT_EQ(a.labels, b.labels);
  int64_t anomalous = 0;
  for (int l : a.labels) anomalous += l;
  EXPECT_GT(anomalous, 20);
  EXPECT_LT(anomalous, 1000);
  EXPECT_EQ(a.keys.size(), 5000u);
  EXPECT_FALSE(a.templates.at("E22").empty());
}

TEST(GleadBadInput, ClearErrorsNamingTheFile) {
  const std::string no_key = write_temp("no_key.csv", "LineId,Label,Content\n1,-,x\n");
  EXPECT_TRUE(test::error_contains([&] { read_loghub(no_key, "", 100); }, no_key + ": EventId: no such column"));
  const std::string no_label = write_temp("no_label.csv", "LineId,EventId\n1,E1\n");
  EXPECT_TRUE(test::error_contains([&] { read_loghub(no_label, "", 100); }, no_label + ": Label: no such column"));
  const std::string empty = write_temp("empty.csv", "");
  EXPECT_TRUE(test::error_contains([&] { read_loghub(empty, "", 100); }, "empty file"));
  const std::string sessions = write_temp("sessions.txt", "1 2 3\n4 x 5\n");
  EXPECT_TRUE(test::error_contains([&] { read_sessions(sessions, 0, 10, nullptr); },
                                   sessions + ": line 2: key \"x\" is not a non-negative integer"));
  const std::string settings = write_temp("bad.json", R"({"epochs": "many"})");
  EXPECT_TRUE(test::error_contains([&] { load_settings(settings); }, "epochs"));
  const std::string unknown = write_temp("unknown.json", R"({"epoch": 3})");
  EXPECT_TRUE(test::error_contains([&] { load_settings(unknown); }, "epoch"));
}

TEST(GleadLoss, TripletGradientMatchesDifferences) {
  const int64_t B = 4, K = 3;
  std::vector<double> d = {0.1, 0.7, 0.3, 0.6, 0.2, 0.4, 0.5, 0.5, 0.1, 0.9, 0.3, 0.2,
                           0.8, 0.1, 0.6, 0.3, 0.4, 0.7, 0.2, 0.6, 0.9, 0.1, 0.3, 0.5};
  const std::vector<int> labels = {0, 0, 1, 1}, semi = {0, 1, 0, 0};
  for (bool plus_one : {true, false}) {
    const LossOptions o{1.5, 1.0, plus_one};
    LossTerms base = triplet_loss(d, K, labels, semi, o);
    EXPECT_EQ(base.normal, 2);
    EXPECT_EQ(base.anomalous, 2);
    for (size_t i = 0; i < d.size(); ++i) {
      std::vector<double> up = d, dn = d;
      up[i] += 1e-6, dn[i] -= 1e-6;
      const double num = (triplet_loss(up, K, labels, semi, o).triplet - triplet_loss(dn, K, labels, semi, o).triplet) / 2e-6;
      EXPECT_NEAR(base.d_distances[i], num, 1e-7) << "element " << i;
    }
  }
  std::vector<double> C = {0.3, -0.2, 0.5, 0.1, 0.7, -0.4}, g(6, 0.0);
  const double p = orthogonality_penalty(C, 2, 3, &g, 1.0);
  for (size_t i = 0; i < C.size(); ++i) {
    std::vector<double> up = C, dn = C;
    up[i] += 1e-6, dn[i] -= 1e-6;
    EXPECT_NEAR(g[i], (orthogonality_penalty(up, 2, 3, nullptr, 1) - orthogonality_penalty(dn, 2, 3, nullptr, 1)) / 2e-6, 1e-7);
  }
  EXPECT_GT(p, 0);
}

TEST(GleadScoring, AnyTestBatchSizeGivesTheSameResults) {
  LogEntries e = generate_synthetic_log({1200, 0.05, 5});
  std::vector<Window> w = slide_windows(e, 20, 10, "synthetic");
  Vocabulary v = build_vocabulary(w);
  Network net(NetworkConfig{v.size(), 20, 16, 12, 3, false}, 7);
  std::vector<WindowResult> one = evaluate(net, w, v, 20, 1, 0.01), odd = evaluate(net, w, v, 20, 37, 0.01);
  ASSERT_EQ(one.size(), w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_EQ(one[i].prediction, odd[i].prediction);
    EXPECT_NEAR(one[i].score, odd[i].score, 1e-6);
    EXPECT_EQ(one[i].flagged, odd[i].flagged);
    EXPECT_EQ(one[i].prediction, one[i].score >= 0 ? 1 : 0);
    if (!one[i].prediction) EXPECT_EQ(std::count(one[i].flagged.begin(), one[i].flagged.end(), 1), 0);
  }
}

TEST(GleadMetrics, ClassReportAsSklearn) {
  // sklearn: classification_report([0,0,1,1,1], [0,1,1,1,0]) -> class 1 P 2/3 R 2/3; class 0 P 1/2 R 1/2.
  ClassReport r = class_report({0, 1, 1, 1, 0}, {0, 0, 1, 1, 1});
  EXPECT_NEAR(r.precision[1], 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.recall[0], 0.5, 1e-12);
  EXPECT_EQ(r.confusion[0][1], 1);
  EXPECT_EQ(r.confusion[1][0], 1);
  EXPECT_NEAR(r.accuracy, 0.6, 1e-12);
  EXPECT_NEAR(r.hard_auc, (0.5 + 2.0 / 3) / 2, 1e-12);  // roc_curve on 0/1 predictions: (TPR + TNR) / 2
}
