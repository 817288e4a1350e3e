// What every DC-VAE report prints beside its per-channel rows: the mean over channels, the system-level
// row (a step is flagged when any channel is; scored against one label per step), and the trivial
// detectors (flag everything, flag nothing) on exactly the same scored rows, so a reader can see when a
// result is no better than a trivial one (on SKAB, where a third of the steps are anomalous, flagging
// everything already reaches point F1 0.5-0.7).
//
// Counts are kept as a confusion matrix so that SKAB's leaderboard metrics can be summed over
// experiments (waico/SKAB core/metrics.py, metric "binary"): F1 = TP / (TP + (FN + FP) / 2) (the same
// number as point-wise F1 on the pooled counts), FAR = FP / (FP + TN), MAR = FN / (FN + TP).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/dcvae/detect.h"

namespace ad::dcvae {

struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  static Confusion of(const std::vector<int>& flags, const std::vector<int>& labels);
  Confusion& operator+=(const Confusion& o);
  double f1() const;   // SKAB's F1: TP / (TP + (FN + FP) / 2); 0 when TP is 0
  double far() const;  // FP / (FP + TN), a fraction (0 without negatives)
  double mar() const;  // FN / (FN + TP), a fraction (0 without positives)
};

struct SummaryRow {
  std::string name;
  double range_precision = 0, range_recall = 0, range_f1 = 0;  // prts, as score_channel
  double point_precision = 0, point_recall = 0, point_f1 = 0;
  Confusion counts;  // summed over the rows' parts (channels or experiments)
  int64_t flagged = 0, labelled = 0;
};

// The step-level OR over channels of a [rows, channels] 0/1 matrix.
std::vector<int> or_over_channels(const std::vector<int>& flags, int64_t rows, int64_t channels);

// One row for one flag vector against one label vector (range and point metrics, counts).
SummaryRow score_row(const std::string& name, const std::vector<int>& flags, const std::vector<int>& labels);

// The rows of a report over rows x channels flags:
//   "channels (mean)" and the trivial "channels: flag everything" / "channels: flag nothing" (means over
//   channels with a labelled anomaly; counts summed over them) when channel labels are given;
//   "system (OR over channels)", "system: flag everything", "system: flag nothing" when system labels are.
// Range metrics are computed on the rows as given (concatenated experiments, as the shipped files are);
// counts are additive, so they equal the per-experiment sums the SKAB leaderboard uses.
std::vector<SummaryRow> summary_rows(const std::vector<int>& flags, int64_t rows, int64_t channels,
                                     const std::vector<int>& channel_labels, const std::vector<int>& system_labels);

// The per-channel scores as written to alphas.json and metrics.json.
nlohmann::json channel_scores_json(const std::vector<std::string>& channels, const std::vector<ChannelScore>& scores);

std::string summary_table(const std::vector<SummaryRow>& rows);
nlohmann::json summary_json(const std::vector<SummaryRow>& rows);

// Mean and sample standard deviation (ddof 1; 0 for one seed) of every metric of rows that share a name
// across seeds: a table of "mean ± std" and the json {name: {metric: {mean, std, per_seed: [...]}}}.
std::string seed_table(const std::vector<std::vector<SummaryRow>>& per_seed);
nlohmann::json seed_json(const std::vector<int64_t>& seeds, const std::vector<std::vector<SummaryRow>>& per_seed);

}  // namespace ad::dcvae
