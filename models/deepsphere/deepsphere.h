// DeepSphere end to end: full-batch training (one Adam step per epoch, as the official code), case scores
// and labels, nested anomalies (the residual x - x_hat per case, step and entry), metrics beside trivial
// baselines, and the run folder's files. See models/deepsphere/README.md.
#pragma once
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "layers/optimizer.h"
#include "models/deepsphere/data.h"
#include "models/deepsphere/network.h"
#include "models/deepsphere/settings.h"

namespace ad::deepsphere {


class Trainer {
 public:
  Trainer(const Settings& s, const Dataset& train, Device device);
  // One full-batch step: forward (with input dropout), backward, Adam. Returns the forward's result.
  ForwardResult epoch();
  // Forward on other cases (host [C, T, N, N]) without dropout (with it when dropout_at_test).
  ForwardResult score(const Tensor& cases);
  Network& network() { return *net_; }
  int64_t epochs_done() const { return epochs_done_; }

 private:
  Tensor with_dropout(const Tensor& host_x);  // host [T, C, D] -> device, x * mask / keep
  Settings s_;
  Device device_;
  std::unique_ptr<Network> net_;
  std::unique_ptr<Adam> adam_;
  Tensor x_host_, x_dev_;  // time-major training cases
  Tensor dropout_buffer_;  // host [T, C, D], reused every epoch
  uint64_t dropout_offset_ = 0;
  int64_t epochs_done_ = 0;
};

// Case-level decision: DeepSphere: score d - |R|, anomaly when d > |R| (1 + tolerance);
// LSTM-AE: score = reconstruction error, anomaly above the training errors' `ae_quantile` quantile.
struct CaseDecision {
  std::vector<double> distance, score;
  std::vector<int> predicted;
  double threshold = 0;  // on the score
};
CaseDecision decide_cases(const Settings& s, const ForwardResult& test, const ForwardResult& train);

// Nested anomalies: entries of predicted-anomalous cases with |residual| > mean + k std of |residual| over
// the predicted-normal cases' entries (all cases when none is predicted normal).
struct NestedEntry {
  int64_t c, t, i, j;
  double residual, injected;
};
struct NestedResult {
  double cutoff = 0;
  std::vector<NestedEntry> flagged;  // sorted by |residual|, largest first
};
NestedResult nested_anomalies(const Tensor& residual, const std::vector<int>& predicted, double k);

// Trains on `train`, scores `test`, writes case_scores.csv, nested_anomalies.csv, metrics.json,
// checkpoint.safetensors, top_case_residual.npy (and the training log) into run_dir; returns the metrics.
nlohmann::json run(const Settings& s, const Dataset& train, const Dataset& test, Device device,
                   const std::string& run_dir, std::ostream& log);

}  // namespace ad::deepsphere
