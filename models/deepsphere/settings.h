// DeepSphere settings (settings/deepsphere_*.json). Every key, its default and what it does is listed in
// models/deepsphere/README.md; defaults follow the official code (picsolab/DeepSphere main.py Config).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace ad::deepsphere {

struct SplitFiles {
  std::string data, labels, deviations;  // .npy [cases, T, N, N]; CSV case,label; CSV case,t,i,j,deviation
};

struct CallGraphSettings {
  std::string train_spans, test_spans, test_labels;  // span CSVs (runtime/csv); trace labels CSV
  std::string value = "count";                       // "count" (calls per window) or "latency" (mean ms)
  int64_t window_us = 1000000;                       // one adjacency matrix per window
  int64_t steps = 10;                                // windows per case (cases do not overlap)
  bool log1p = true;                                 // x = log(1 + value)
};

struct Settings {
  std::string mode = "synthetic";  // "synthetic" (files) or "callgraph" (spans)
  SplitFiles train, test;
  CallGraphSettings callgraph;
  // model
  int hidden = 30;
  double gamma = 0.05, lambda = 2.0, radius_init = 0.1, tolerance = 0.1, keep_prob = 0.98;
  bool dropout_at_test = false;  // the original keeps dropout on when scoring
  bool hypersphere = true;       // false: the LSTM autoencoder ablation
  std::string weight_form = "exp";  // "exp" (default) or "softmax" (an older revision of the official code)
  // training
  int64_t epochs = 300, progress_every = 10;
  double learning_rate = 1e-3;
  uint64_t seed = 1000;
  bool flush_denormals = true;  // FTZ/DAZ on the CPU threads (see deepsphere.cpp)
  // nested anomalies
  double nested_k = 3.0;          // |residual| > mean + k std of the normal-predicted cases' |residual|
  int64_t nested_max_rows = 5000;  // rows of the ranked list written
  double ae_quantile = 0.95;      // LSTM-AE: anomaly when the error exceeds this quantile of the training errors
  // run
  std::string device = "auto", output_dir = "runs/deepsphere";
  bool plots = true;  // end-of-run pictures (tools/plot_deepsphere.py)
  nlohmann::json resolved;
};

Settings load_settings(const std::string& path);

// Refuses training data that cannot fit in memory with these settings, before anything is allocated
// (cases, T, N: the training set's (cases, T, N, N)); the error names `source` (the data file).
void check_training_memory(const Settings& s, int64_t cases, int64_t T, int64_t N, const std::string& source);

}  // namespace ad::deepsphere
