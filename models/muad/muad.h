// MUAD end to end: settings, data preparation (generate or read chunks, split, standardise), training with
// model selection on a time-blocked validation split, and the active-learning loop (models/muad/README.md).
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/muad/data.h"
#include "models/muad/network.h"

namespace ad::muad {

struct Settings {
  uint64_t seed = 1;
  std::string device = "cpu";  // "cpu", "cuda" or "auto" (run_muad --device overrides)
  std::string output_dir = "runs/muad";
  bool plots = true;  // the end-of-run pictures (tools/plot_muad.py)
  // data
  std::string data_kind = "synthetic";  // "synthetic" (generated) or "folder" (read_chunks)
  std::string data_dir;                  // folder: chunks written by write_chunks / convert_eadro_chunks.py
  std::string graph_dir;                 // services.csv + edges.csv (synthetic; folder reads data_dir's)
  GeneratorSettings generator;
  double validation_fraction = 0.2;      // the latest part (in time) of the training windows
  // model
  NetworkConfig net;
  // training
  int64_t epochs = 15, batch_size = 50;
  double learning_rate = 1e-3;
  // At least this many Adam steps per round (more epochs when the labelled set is small): a round on 142
  // labels is 3 batches an epoch, and `epochs` alone would give it a tenth of the all-label run's steps.
  int64_t min_steps = 0;
  // "argmax" (the code: anomalous when P(anomalous) > 0.5) or "validation" (the threshold on P(anomalous)
  // with the best validation F1, chosen per epoch with the epoch itself; test never seen).
  std::string threshold = "validation";
  // active learning
  std::string mode = "active";   // "active" or "full" (every training label, one round)
  std::string query = "entropy";  // "entropy" or "random"
  double initial_fraction = 0.1;
  int64_t query_size = 200, label_budget = 600, passes = 5;
  double pseudo_threshold = 0.9;
  bool pseudo_labels = true;
  bool warm_start = false;  // true: each round continues from the previous round's kept network
  nlohmann::json resolved;
  std::string path;
};

Settings load_settings(const std::string& path);

struct RoundResult {
  int round = 0;
  int64_t labels = 0, pseudo = 0, pseudo_wrong = 0, train_size = 0;
  int best_epoch = 0, epochs = 0;
  double threshold = 0.5, test_auc = 0;
  double val_f1 = 0, test_f1 = 0, test_precision = 0, test_recall = 0, seconds = 0;
};

struct RunResult {
  std::vector<RoundResult> rounds;
  double trivial_f1 = 0, test_positive_ratio = 0;
  int64_t train_windows = 0, validation_windows = 0, test_windows = 0;
  std::vector<int64_t> test_rows;        // chunk indices of the test set
  std::vector<double> test_scores;       // final model's P(anomalous) per test window
  std::vector<int> test_pred;
  ChunkSet data;
};

// The network's batch of chunks `rows` (labels from `labels`, parallel to rows, when given).
Batch make_batch(const ChunkSet& d, const std::vector<int64_t>& rows, const std::vector<int>* labels);

// Runs the whole loop, printing one line per round on `log`.
RunResult run(const Settings& s, std::ostream& log);

// Writes metrics.json and scores.csv of a run into `dir`.
void write_results(const std::string& dir, const Settings& s, const RunResult& r);

}  // namespace ad::muad
