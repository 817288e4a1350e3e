// DC-VAE detection: a point is anomalous when x < mu - alpha_down * sigma or x > mu + alpha_up * sigma,
// scored on the last step of each window only. Alphas are tuned per channel on labelled data.
#pragma once
#include <string>
#include <vector>

#include "runtime/metrics.h"

namespace ad::dcvae {

// Per-channel, per-step reconstruction of the last step of every window (rows T-1 .. N-1).
struct Reconstruction {
  int64_t rows = 0, channels = 0;
  std::vector<float> x, mu, sigma;  // row-major [rows, channels]; sigma = exp(x_log_var / 2)
  std::vector<float> latent;        // [rows, J]: z at the last step
  int64_t latent_dim = 0;
};

struct ChannelScore {
  double alpha_up = 0, alpha_down = 0;  // whole numbers from the grid; any value from the residual rule
  double precision = 0, recall = 0, f1 = 0;  // range-based (prts: alpha 0, reciprocal, front)
  double point_precision = 0, point_recall = 0, point_f1 = 0;
  int64_t labelled = 0, flagged = 0;         // points labelled anomalous / flagged
  std::string note;                          // e.g. "no labelled anomaly: alphas kept at defaults"
};

std::vector<int> flag_channel(const Reconstruction& r, int64_t c, double alpha_up, double alpha_down);

// Scores one channel's flags against its labels: range-based as the original's custom metric
// (prts ts_precision/ts_recall, alpha 0, cardinality reciprocal, bias front; F1 = 2PR/(P+R+1e-6),
// and 0 when nothing is flagged), plus point-wise P/R/F1.
ChannelScore score_channel(const std::vector<int>& flags, const std::vector<int>& labels);

// The original's alpha grid: alpha_up and alpha_down each over max_alpha..min_alpha (7..2), every pair;
// criterion range-based F1 (custom_metrics) or point-wise F1; ties go to the later, smaller alphas
// (the original compares with >=). A channel without labelled anomalies keeps max_alpha and says so.
std::vector<ChannelScore> select_alphas(const Reconstruction& r, const std::vector<int>& labels /*[rows, channels]*/,
                                        bool custom_metrics, int64_t max_alpha, int64_t min_alpha);

// Flags every channel with given alphas and scores it (labels may be empty: then only flags).
std::vector<ChannelScore> evaluate(const Reconstruction& r, const std::vector<int>& labels,
                                   const std::vector<double>& alpha_up, const std::vector<double>& alpha_down);

// Every channel's flags with its alphas, row-major [rows, channels].
std::vector<int> flag_all(const Reconstruction& r, const std::vector<double>& alpha_up,
                          const std::vector<double>& alpha_down);

}  // namespace ad::dcvae
