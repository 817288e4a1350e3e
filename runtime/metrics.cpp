#include "runtime/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/error.h"

namespace ad {
namespace {

void check_binary(const std::vector<int>& v, const char* op, const char* what) {
  for (size_t i = 0; i < v.size(); ++i)
    AD_CHECK(v[i] == 0 || v[i] == 1, op, what, " must be 0/1, got ", v[i], " at index ", i);
}

// Common checks for (scores, labels); returns the number of positive labels.
int64_t check_scored(const std::vector<double>& scores, const std::vector<int>& labels, const char* op) {
  AD_CHECK(scores.size() == labels.size(), op, "length mismatch: ", scores.size(), " scores vs ", labels.size(),
           " labels");
  AD_CHECK(!scores.empty(), op, "empty input");
  for (size_t i = 0; i < scores.size(); ++i)
    AD_CHECK(std::isfinite(scores[i]), op, "score at index ", i, " is not finite (", scores[i], ")");
  check_binary(labels, op, "labels");
  return std::count(labels.begin(), labels.end(), 1);
}

// Indices sorted by descending score; stable so equal scores keep index order (recall_at_k relies on it).
std::vector<size_t> order_desc(const std::vector<double>& s) {
  std::vector<size_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
  return idx;
}

PRF make_prf(int64_t tp, int64_t fp, int64_t fn) {
  PRF r;
  r.tp = tp, r.fp = fp, r.fn = fn;
  r.precision = tp + fp ? double(tp) / double(tp + fp) : 0.0;
  r.recall = tp + fn ? double(tp) / double(tp + fn) : 0.0;
  // sklearn computes F1 as 2tp / (2tp + fp + fn), not from the rounded P and R.
  r.f1 = 2 * tp + fp + fn ? double(2 * tp) / double(2 * tp + fp + fn) : 0.0;
  return r;
}

}  // namespace

double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  const char* op = "roc_auc";
  int64_t pos = check_scored(scores, labels, op), neg = int64_t(labels.size()) - pos;
  AD_CHECK(pos > 0 && neg > 0, op, "only one class present in labels (", pos, " positives, ", neg,
           " negatives); ROC AUC is undefined");
  // Mann-Whitney U with average ranks for ties: equals the trapezoid area sklearn computes.
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0;  // sum of 1-based ranks of positives
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    int64_t group_pos = 0;
    while (j < idx.size() && scores[idx[j]] == scores[idx[i]]) group_pos += labels[idx[j++]];
    rank_sum += double(group_pos) * (double(i + 1 + j) / 2.0);  // average of ranks i+1 .. j
    i = j;
  }
  return (rank_sum - double(pos) * double(pos + 1) / 2.0) / (double(pos) * double(neg));
}

double average_precision(const std::vector<double>& scores, const std::vector<int>& labels) {
  int64_t pos = check_scored(scores, labels, "average_precision");
  if (pos == 0) return 0.0;  // sklearn: warns "No positive class found", recall is constant, AP = 0
  std::vector<size_t> idx = order_desc(scores);
  int64_t tp = 0, fp = 0, prev_tp = 0;
  double ap = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && scores[idx[j]] == scores[idx[i]]) (labels[idx[j++]] ? tp : fp)++;
    ap += double(tp - prev_tp) / double(pos) * (double(tp) / double(tp + fp));
    prev_tp = tp;
    i = j;
  }
  return ap;
}

PRF prf(const std::vector<int>& pred, const std::vector<int>& labels) {
  const char* op = "prf";
  AD_CHECK(pred.size() == labels.size(), op, "length mismatch: ", pred.size(), " predictions vs ",
           labels.size(), " labels");
  check_binary(pred, op, "predictions");
  check_binary(labels, op, "labels");
  int64_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    tp += pred[i] && labels[i];
    fp += pred[i] && !labels[i];
    fn += !pred[i] && labels[i];
  }
  return make_prf(tp, fp, fn);
}

PRF prf_at_threshold(const std::vector<double>& scores, const std::vector<int>& labels, double threshold) {
  check_scored(scores, labels, "prf_at_threshold");
  std::vector<int> pred(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) pred[i] = scores[i] >= threshold;
  return prf(pred, labels);
}

BestF1 best_f1_threshold(const std::vector<double>& scores, const std::vector<int>& labels) {
  int64_t pos = check_scored(scores, labels, "best_f1_threshold");
  std::vector<size_t> idx = order_desc(scores);
  BestF1 best;
  best.threshold = scores[idx[0]];
  best.prf = make_prf(0, 0, pos);
  bool first = true;
  int64_t tp = 0, fp = 0;
  // Lowering the threshold one distinct score at a time adds that score's group to the predicted set.
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && scores[idx[j]] == scores[idx[i]]) (labels[idx[j++]] ? tp : fp)++;
    PRF p = make_prf(tp, fp, pos - tp);
    if (first || p.f1 > best.prf.f1) {
      best.threshold = scores[idx[i]];
      best.prf = p;
      first = false;
    }
    i = j;
  }
  return best;
}

double recall_at_k(const std::vector<double>& scores, const std::vector<int>& labels, int64_t k) {
  const char* op = "recall_at_k";
  int64_t pos = check_scored(scores, labels, op);
  AD_CHECK(k >= 1 && k <= int64_t(scores.size()), op, "k = ", k, " outside [1, ", scores.size(), "]");
  AD_CHECK(pos > 0, op, "no anomalies in labels; recall is undefined");
  std::vector<size_t> idx = order_desc(scores);
  int64_t hits = 0;
  for (int64_t i = 0; i < k; ++i) hits += labels[idx[size_t(i)]];
  return double(hits) / double(pos);
}

std::vector<std::pair<int64_t, int64_t>> anomaly_ranges(const std::vector<int>& v) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t i = 0, n = int64_t(v.size()); i < n; ++i) {
    if (!v[size_t(i)]) continue;
    int64_t j = i;
    while (j + 1 < n && v[size_t(j + 1)]) ++j;
    out.emplace_back(i, j);
    i = j;
  }
  return out;
}

namespace {

using Range = std::pair<int64_t, int64_t>;

// prts _delta_select: weight of the t-th (1-based) position of a range of length len.
double delta(PositionalBias bias, int64_t t, int64_t len) {
  switch (bias) {
    case PositionalBias::Flat: return 1.0;
    case PositionalBias::Front: return double(len - t + 1);
    case PositionalBias::Middle: return double(t) <= double(len) / 2.0 ? double(t) : double(len - t + 1);
    case PositionalBias::Back: return double(t);
  }
  return 1.0;
}

// prts _omega_function: share of range r's positional weight that lies inside [lo, hi].
double omega(const Range& r, int64_t lo, int64_t hi, PositionalBias bias) {
  int64_t len = r.second - r.first + 1;
  double mine = 0, total = 0;
  for (int64_t t = 1; t <= len; ++t) {
    double d = delta(bias, t, len);
    total += d;
    int64_t j = r.first + t - 1;
    if (j >= lo && j <= hi) mine += d;
  }
  return total > 0 ? mine / total : 0.0;
}

// Mean over `own` ranges of alpha * existence + (1 - alpha) * gamma * sum of omega over overlapping `other`
// ranges: precision is (own = predicted, other = real), recall is the reverse. 0 when `own` is empty.
double range_score(const std::vector<Range>& own, const std::vector<Range>& other, double alpha, Cardinality card,
                   PositionalBias bias) {
  if (own.empty()) return 0.0;
  double sum = 0;
  for (const Range& r : own) {
    // `other` is sorted and disjoint: the overlapping ones start at the first whose end >= r.first.
    auto it = std::lower_bound(other.begin(), other.end(), r.first,
                               [](const Range& o, int64_t v) { return o.second < v; });
    double om = 0;
    int64_t count = 0;
    for (; it != other.end() && it->first <= r.second; ++it, ++count)
      om += omega(r, std::max(r.first, it->first), std::min(r.second, it->second), bias);
    double gamma = card == Cardinality::Reciprocal && count > 1 ? 1.0 / double(count) : 1.0;
    sum += alpha * (count > 0 ? 1.0 : 0.0) + (1 - alpha) * (gamma * om);
  }
  return sum / double(own.size());
}

void check_range_args(const std::vector<int>& real, const std::vector<int>& pred, double alpha, const char* op) {
  AD_CHECK(real.size() == pred.size(), op, "length mismatch: ", real.size(), " real vs ", pred.size(), " pred");
  AD_CHECK(alpha >= 0.0 && alpha <= 1.0, op, "alpha = ", alpha, " outside [0, 1]");
  check_binary(real, op, "real");
  check_binary(pred, op, "pred");
}

}  // namespace

double range_precision(const std::vector<int>& real, const std::vector<int>& pred, double alpha,
                       Cardinality cardinality, PositionalBias bias) {
  check_range_args(real, pred, alpha, "range_precision");
  return range_score(anomaly_ranges(pred), anomaly_ranges(real), alpha, cardinality, bias);
}

double range_recall(const std::vector<int>& real, const std::vector<int>& pred, double alpha,
                    Cardinality cardinality, PositionalBias bias) {
  check_range_args(real, pred, alpha, "range_recall");
  return range_score(anomaly_ranges(real), anomaly_ranges(pred), alpha, cardinality, bias);
}

}  // namespace ad
