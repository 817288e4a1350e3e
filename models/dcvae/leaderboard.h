// DC-VAE under the SKAB leaderboard protocol (waico/SKAB: notebooks/Conv_AE.ipynb with core/metrics.py;
// the README's "strict" leaderboard scores the test rows only):
//   - one model per experiment, trained on that experiment's first `train_rows` (400) rows, which are
//     anomaly-free; the scaler (and the training-row outlier masking) is fitted on those rows only;
//   - only rows train_rows.. of each experiment are predicted and scored; every window lies inside its
//     experiment (each experiment is cut out of the file before windows are made);
//   - TP/FP/TN/FN are summed over experiments: F1 = TP / (TP + (FN + FP) / 2), FAR, MAR (report.h).
// Thresholds never read the scored experiments' labels:
//   - "training residual": SKAB's Conv-AE sets UCL = quantile_0.999(training residuals) * 4/3 per
//     experiment. Here, per channel, alpha = residual_factor * quantile_q(|x - mu| / sigma) over the
//     last steps of the experiment's own training windows; a value is flagged when |x - mu| > alpha sigma.
//   - "alphas from <other set>": the original's alpha grid search (select_alphas), run on another set of
//     experiments under the same protocol (valve2 for valve1), and applied unchanged.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "models/dcvae/dcvae.h"

namespace ad::dcvae {

struct Segment {
  std::string name;
  int64_t first = 0, last = 0;  // inclusive data rows
};
// segments CSV: experiment,start_row,end_row (0-based, inclusive); the segments must be in order,
// contiguous and cover rows 0 .. rows-1 exactly.
std::vector<Segment> read_segments(const std::string& path, int64_t rows);

// Rows of an experiment with `rows` rows: training windows end before train_rows; scored windows end at
// every row train_rows .. rows-1. Starts are relative to the experiment (>= 0), so no window crosses it.
struct ExperimentWindows {
  std::vector<int64_t> scored_starts;  // one per scored row, in row order
};
ExperimentWindows experiment_windows(int64_t rows, int64_t train_rows, int64_t T);

// Linear-interpolation quantile (numpy's and pandas' default) of `v`, q in [0, 1].
double quantile(std::vector<double> v, double q);

// The training-residual alphas: per channel residual_factor * quantile(|x - mu| / sigma, q) over `train`.
std::vector<double> residual_alphas(const Reconstruction& train, double q, double factor);

// One set of experiments, trained and reconstructed under the protocol.
struct ExperimentResult {
  Segment segment;
  TrainReport train;
  int64_t changed_values = 0;         // values the scored-row masking changed (0 unless outlier_stats asks)
  std::vector<double> residual_alpha;  // per channel
  Reconstruction scored;              // rows train_rows .. of the experiment
};
struct SetResult {
  std::string name;  // "valve1" for experiments named data/valve1/*.csv
  std::vector<std::string> channels;
  std::vector<ExperimentResult> experiments;
  Reconstruction scored;                      // every experiment's scored rows, concatenated
  std::vector<std::string> stamps;            // their timestamps
  std::vector<int> channel_labels;            // [scored rows, channels], empty without labels
  std::vector<int> system_labels;             // [scored rows], empty without system labels
};
// Trains and reconstructs every experiment of `data` (segments from `segments`). Labels are read only to
// be cut to the scored rows; training and reconstruction never see them.
SetResult run_set(const Settings& s, Device device, const std::string& data, const std::string& labels,
                  const std::string& system_labels, const std::string& segments, std::ostream& log);

struct LeaderboardReport {
  std::vector<SummaryRow> rows;                        // every rule's rows, then the trivial ones
  std::vector<std::vector<double>> residual_alphas;    // per scored experiment, per channel
  std::vector<ChannelScore> other_set_alphas;           // empty without an alpha set
  std::vector<ChannelScore> residual_channels, other_set_channels;  // per-channel scores on the scored rows
};
// Both threshold rules on `scored` (alphas for the second from `alpha_set` when it has experiments).
LeaderboardReport leaderboard_report(const Settings& s, const SetResult& scored, const SetResult* alpha_set);

// The whole protocol from the settings (data.test*, data.alpha*): writes metrics.json, experiments.csv,
// thresholds.json and scored_predictions.csv into run_dir and returns the report, its rows named
// "<set> | <rule> | <row>". With score_alpha_set, the alpha set is scored too (alphas from the scored set),
// from the same trained models: its rows follow, named after the alpha set.
LeaderboardReport run_leaderboard(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);

}  // namespace ad::dcvae
