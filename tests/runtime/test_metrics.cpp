// Metrics vs scikit-learn and prts (golden JSON from tools/reference/metrics_reference.py), plus hand-derived
// examples and error cases.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/metrics.h"
#include "tests/support/helpers.h"

using namespace ad;
using nlohmann::json;

namespace {

constexpr double kTol = 1e-9;

json load_golden() {
  std::string path = test::source_dir() + "/tests/golden/metrics/metrics_reference.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return json::parse(in);
}

PositionalBias parse_bias(const std::string& s) {
  if (s == "flat") return PositionalBias::Flat;
  if (s == "front") return PositionalBias::Front;
  if (s == "middle") return PositionalBias::Middle;
  if (s == "back") return PositionalBias::Back;
  throw std::runtime_error("unknown bias " + s);
}

Cardinality parse_cardinality(const std::string& s) {
  if (s == "one") return Cardinality::One;
  if (s == "reciprocal") return Cardinality::Reciprocal;
  throw std::runtime_error("unknown cardinality " + s);
}

// Runs f, expects an ad::Error whose message contains every fragment.
template <class F>
void expect_error(F&& f, std::initializer_list<const char*> fragments) {
  try {
    f();
    ADD_FAILURE() << "expected an ad::Error";
  } catch (const Error& e) {
    for (const char* frag : fragments)
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << "'" << frag << "' not in: " << e.what();
  }
}

}  // namespace

TEST(Metrics, GoldenFileCoversTheEdgeCases) {
  json g = load_golden();
  const json& cases = g.at("cases");
  EXPECT_GE(cases.size(), 30u);
  int raises = 0, no_auc = 0, dcvae_combo = 0;
  for (const json& c : cases) {
    raises += c.at("prts_raises").get<bool>();
    no_auc += c.at("roc_auc").is_null();
    for (const json& r : c.at("range"))
      dcvae_combo += r.at("alpha") == 0.0 && r.at("cardinality") == "reciprocal" && r.at("bias") == "front";
  }
  EXPECT_GE(raises, 2);   // all-zero prediction and all-zero labels
  EXPECT_GE(no_auc, 2);   // single-class label vectors
  EXPECT_EQ(dcvae_combo, int(cases.size()));
}

TEST(Metrics, GoldenPointMetricsMatchSklearn) {
  const json g = load_golden();  // named: a range-for over load_golden().at(...) would dangle
  int checked = 0;
  for (const json& c : g.at("cases")) {
    ++checked;
    SCOPED_TRACE(c.at("name").get<std::string>());
    auto scores = c.at("scores").get<std::vector<double>>();
    auto labels = c.at("labels").get<std::vector<int>>();
    if (c.at("roc_auc").is_null())
      expect_error([&] { roc_auc(scores, labels); }, {"roc_auc", "one class"});
    else
      EXPECT_NEAR(roc_auc(scores, labels), c.at("roc_auc").get<double>(), kTol);
    EXPECT_NEAR(average_precision(scores, labels), c.at("average_precision").get<double>(), kTol);

    const json& e = c.at("prf");
    PRF p = prf_at_threshold(scores, labels, c.at("threshold").get<double>());
    EXPECT_NEAR(p.precision, e.at("precision").get<double>(), kTol);
    EXPECT_NEAR(p.recall, e.at("recall").get<double>(), kTol);
    EXPECT_NEAR(p.f1, e.at("f1").get<double>(), kTol);
    EXPECT_EQ(p.tp, e.at("tp").get<int64_t>());
    EXPECT_EQ(p.fp, e.at("fp").get<int64_t>());
    EXPECT_EQ(p.fn, e.at("fn").get<int64_t>());

    BestF1 b = best_f1_threshold(scores, labels);
    EXPECT_EQ(b.threshold, c.at("best_f1").at("threshold").get<double>());
    EXPECT_NEAR(b.prf.f1, c.at("best_f1").at("f1").get<double>(), kTol);
    EXPECT_EQ(b.prf.f1, prf_at_threshold(scores, labels, b.threshold).f1);

    if (c.contains("recall_at_k")) {
      for (const json& r : c.at("recall_at_k"))
        EXPECT_NEAR(recall_at_k(scores, labels, r.at("k").get<int64_t>()), r.at("value").get<double>(), kTol)
            << "k = " << r.at("k");
    }
  }
  EXPECT_GE(checked, 30);
}

TEST(Metrics, GoldenRangeMetricsMatchPrts) {
  const json g = load_golden();
  int checked = 0;
  for (const json& c : g.at("cases")) {
    auto real = c.at("labels").get<std::vector<int>>();
    auto pred = c.at("pred").get<std::vector<int>>();
    for (const json& r : c.at("range")) {
      double alpha = r.at("alpha").get<double>();
      Cardinality card = parse_cardinality(r.at("cardinality").get<std::string>());
      PositionalBias bias = parse_bias(r.at("bias").get<std::string>());
      SCOPED_TRACE(c.at("name").get<std::string>() + " alpha=" + std::to_string(alpha) + " " +
                   r.at("cardinality").get<std::string>() + " " + r.at("bias").get<std::string>());
      EXPECT_NEAR(range_precision(real, pred, alpha, card, bias), r.at("precision").get<double>(), kTol);
      EXPECT_NEAR(range_recall(real, pred, alpha, card, bias), r.at("recall").get<double>(), kTol);
      ++checked;
    }
  }
  EXPECT_GE(checked, 30 * 24);
}

TEST(Metrics, HandComputedPointMetrics) {
  // sklearn's docstring example: positives score 0.35 and 0.8, negatives 0.1 and 0.4.
  // Pairs (pos > neg): 0.35>0.1, 0.8>0.1, 0.8>0.4 -> 3 of 4 -> AUC 0.75.
  // AP: thresholds 0.8 (P=1, R=.5), 0.4 (P=.5, R=.5), 0.35 (P=2/3, R=1) -> .5*1 + 0 + .5*2/3 = 5/6.
  std::vector<double> s = {0.1, 0.4, 0.35, 0.8};
  std::vector<int> y = {0, 0, 1, 1};
  EXPECT_NEAR(roc_auc(s, y), 0.75, 1e-15);
  EXPECT_NEAR(average_precision(s, y), 5.0 / 6.0, 1e-15);
  // A tie between a positive and a negative counts half: (1 + 0.5) / 2.
  EXPECT_NEAR(roc_auc({0.1, 0.5, 0.5}, {0, 0, 1}), 0.75, 1e-15);
  PRF p = prf_at_threshold(s, y, 0.4);  // predicts {0.4, 0.8}: tp 1, fp 1, fn 1
  EXPECT_EQ(p.tp, 1);
  EXPECT_EQ(p.fp, 1);
  EXPECT_EQ(p.fn, 1);
  EXPECT_DOUBLE_EQ(p.f1, 0.5);
  PRF none = prf({0, 0, 0}, {0, 1, 0});  // nothing predicted: precision 0/0 -> 0
  EXPECT_EQ(none.precision, 0.0);
  EXPECT_EQ(none.f1, 0.0);
  BestF1 b = best_f1_threshold(s, y);  // threshold 0.35 predicts 3 with 2 tp: F1 = 4/5
  EXPECT_EQ(b.threshold, 0.35);
  EXPECT_DOUBLE_EQ(b.prf.f1, 0.8);
  EXPECT_DOUBLE_EQ(recall_at_k(s, y, 1), 0.5);
  EXPECT_DOUBLE_EQ(recall_at_k(s, y, 3), 1.0);
}

TEST(Metrics, HandComputedRangeScores) {
  // real range [1,4] (length 4), predicted range [3,5] (length 3); overlap [3,4].
  // Recall, real range positions t=1..4, overlap is t=3,4:
  //   flat   {1,1,1,1}: 2/4 = 0.5      front {4,3,2,1}: (2+1)/10 = 0.3
  //   back   {1,2,3,4}: (3+4)/10 = 0.7 middle {1,2,2,1} (t <= L/2 ? t : L-t+1): (2+1)/6 = 0.5
  //   alpha 0.5, front: 0.5 * existence 1 + 0.5 * 0.3 = 0.65
  // Precision, predicted range positions t=1..3, overlap is t=1,2: front {3,2,1}: 5/6; back {1,2,3}: 3/6.
  std::vector<int> real = {0, 1, 1, 1, 1, 0, 0, 0}, pred = {0, 0, 0, 1, 1, 1, 0, 0};
  auto R = [&](double a, PositionalBias b) { return range_recall(real, pred, a, Cardinality::One, b); };
  auto P = [&](double a, PositionalBias b) { return range_precision(real, pred, a, Cardinality::One, b); };
  EXPECT_DOUBLE_EQ(R(0, PositionalBias::Flat), 0.5);
  EXPECT_DOUBLE_EQ(R(0, PositionalBias::Front), 0.3);
  EXPECT_DOUBLE_EQ(R(0, PositionalBias::Back), 0.7);
  EXPECT_DOUBLE_EQ(R(0, PositionalBias::Middle), 0.5);
  EXPECT_DOUBLE_EQ(R(0.5, PositionalBias::Front), 0.65);
  EXPECT_DOUBLE_EQ(P(0, PositionalBias::Front), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(P(0, PositionalBias::Back), 0.5);

  // One predicted range [0,4] covering two real ranges [0,1] and [3,4]: flat omega 2/5 + 2/5 = 0.8,
  // reciprocal cardinality halves it; each real range is fully covered by one prediction, so recall is 1.
  std::vector<int> real2 = {1, 1, 0, 1, 1, 0}, pred2 = {1, 1, 1, 1, 1, 0};
  EXPECT_DOUBLE_EQ(range_precision(real2, pred2, 0, Cardinality::One, PositionalBias::Flat), 0.8);
  EXPECT_DOUBLE_EQ(range_precision(real2, pred2, 0, Cardinality::Reciprocal, PositionalBias::Flat), 0.4);
  EXPECT_DOUBLE_EQ(range_recall(real2, pred2, 0, Cardinality::Reciprocal, PositionalBias::Front), 1.0);

  // Where prts raises (no 1s), we return 0; with no predicted ranges precision and recall are 0.
  std::vector<int> zeros(8, 0);
  EXPECT_EQ(range_precision(real, zeros, 0, Cardinality::Reciprocal, PositionalBias::Front), 0.0);
  EXPECT_EQ(range_recall(real, zeros, 1, Cardinality::One, PositionalBias::Flat), 0.0);
  EXPECT_EQ(range_recall(zeros, pred, 0, Cardinality::One, PositionalBias::Flat), 0.0);
  EXPECT_EQ(anomaly_ranges({1, 0, 1, 1, 0, 1}),
            (std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {2, 3}, {5, 5}}));
}

TEST(Metrics, ErrorsNameTheOp) {
  expect_error([] { roc_auc({0.1, 0.2}, {0, 1, 1}); }, {"roc_auc", "length mismatch", "2 scores vs 3 labels"});
  expect_error([] { roc_auc({0.1, 0.2}, {1, 1}); }, {"roc_auc", "only one class"});
  expect_error([] { average_precision({0.1, 0.2}, {0}); }, {"average_precision", "length mismatch"});
  expect_error([] { prf({1, 0}, {1}); }, {"prf", "length mismatch"});
  expect_error([] { prf({1, 2}, {1, 0}); }, {"prf", "predictions must be 0/1", "index 1"});
  expect_error([] { prf_at_threshold({0.1}, {1, 0}, 0.5); }, {"prf_at_threshold", "length mismatch"});
  expect_error([] { best_f1_threshold({}, {}); }, {"best_f1_threshold", "empty"});
  expect_error([] { roc_auc({0.1, std::nan("")}, {0, 1}); }, {"roc_auc", "not finite"});
  expect_error([] { recall_at_k({0.1, 0.2}, {0, 1}, 3); }, {"recall_at_k", "k = 3"});
  expect_error([] { recall_at_k({0.1, 0.2}, {0, 0}, 1); }, {"recall_at_k", "no anomalies"});
  expect_error([] { range_recall({1, 0}, {1}, 0, Cardinality::One, PositionalBias::Flat); },
               {"range_recall", "length mismatch"});
  expect_error([] { range_precision({1, 0}, {1, 0}, 1.5, Cardinality::One, PositionalBias::Flat); },
               {"range_precision", "alpha"});
  expect_error([] { range_precision({1, 3}, {1, 0}, 0, Cardinality::One, PositionalBias::Flat); },
               {"range_precision", "real must be 0/1"});
}
