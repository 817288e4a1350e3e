// Evaluation metrics for anomaly detectors, on plain host vectors.
// Point metrics follow scikit-learn (roc_auc_score, average_precision_score, precision_recall_fscore_support
// with zero_division=0); range metrics follow the `prts` package (Tatbul et al., NeurIPS 2018).
// Labels and predictions are 0/1; anything else, a length mismatch or a non-finite score is an ad::Error.
// Checked against tools/reference/metrics_reference.py by tests/runtime/test_metrics.cpp.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace ad {

// Area under the ROC curve; tied scores count half (average ranks), equal to sklearn's trapezoid.
// Error when labels hold only one class (sklearn returns nan with a warning there).
double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels);

// sklearn's average_precision_score: sum over distinct thresholds (descending) of (R_n - R_{n-1}) * P_n,
// no interpolation. Like sklearn, 0 when there are no positive labels.
double average_precision(const std::vector<double>& scores, const std::vector<int>& labels);

struct PRF {
  double precision = 0, recall = 0, f1 = 0;  // 0/0 is 0 (sklearn zero_division=0)
  int64_t tp = 0, fp = 0, fn = 0;
};
PRF prf(const std::vector<int>& pred, const std::vector<int>& labels);
// Predicts 1 where score >= threshold.
PRF prf_at_threshold(const std::vector<double>& scores, const std::vector<int>& labels, double threshold);

struct BestF1 {
  double threshold = 0;
  PRF prf;
};
// Best F1 over thresholds at every distinct score; on equal F1 the highest threshold wins.
BestF1 best_f1_threshold(const std::vector<double>& scores, const std::vector<int>& labels);

// PyGOD's eval_recall_at_k: (anomalies among the k highest scores) / (all anomalies).
// k in [1, n]; ties in score are broken by lower index first (torch.topk leaves them unspecified).
// Error when there are no anomalies (PyGOD would divide by zero).
double recall_at_k(const std::vector<double>& scores, const std::vector<int>& labels, int64_t k);

// Range-based precision / recall (Tatbul et al. 2018), as prts 1.0.0.x ts_precision / ts_recall.
// Ranges are maximal runs of 1s. Cardinality: One = gamma 1 (prts "one", and "udf_gamma" with its default
// udf of 1); Reciprocal = 1/(number of overlapping ranges). Where prts's public functions raise (an all-zero
// `real` or `pred`), we return what its scoring core returns: precision 0 without predicted ranges, recall 0
// without real ranges (recall without predicted ranges and precision without real ranges are 0 anyway).
enum class PositionalBias { Flat, Front, Middle, Back };
enum class Cardinality { One, Reciprocal };
double range_precision(const std::vector<int>& real, const std::vector<int>& pred, double alpha,
                       Cardinality cardinality, PositionalBias bias);
double range_recall(const std::vector<int>& real, const std::vector<int>& pred, double alpha,
                    Cardinality cardinality, PositionalBias bias);

// Maximal runs of 1s as inclusive [first, last] index pairs.
std::vector<std::pair<int64_t, int64_t>> anomaly_ranges(const std::vector<int>& v);

}  // namespace ad
