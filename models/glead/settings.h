// GLEAD settings: the original's command-line arguments (Serendipity618/GLEAD src/main.py) under the same
// names, its hard-coded constants as keys, and ours (data, split kind, fixes of its defects as switches).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace ad::glead {

struct SplitSizes {
  // The original's DataProcessor: n_labeled, n_unlabeled, a_unlabeled and its hard-coded 200/20, 20,000/2,000.
  int64_t train_labelled_normal = 20, train_unlabelled_normal = 2000, train_unlabelled_anomalous = 0;
  int64_t train_labelled_anomalous = 20;
  int64_t val_normal = 200, val_anomalous = 20;
  int64_t test_normal = 20000, test_anomalous = 2000;  // -1: every window left
};

struct Settings {
  // ---- data ----
  std::string format = "loghub";      // loghub | sessions | synthetic
  std::string structured_csv;         // loghub: *_structured.csv (EventId, Label; EventTemplate optional)
  std::string templates_csv;          // loghub: *_templates.csv (EventId, EventTemplate), optional
  int64_t max_rows = 1000000;         // loghub: the original reads the first 1M rows (pd.read_csv nrows)
  std::string sessions_normal, sessions_anomalous;  // sessions: one window per line, space-separated keys
  // synthetic (tools of ours, models/glead/synthetic.h)
  int64_t synthetic_entries = 60000;
  double synthetic_anomaly_rate = 0.03;
  int64_t window_size = 20, step_size = 10;

  // ---- split ----
  std::string split = "random";       // random (the original: overlapping windows sampled at random) | time_ordered
  double train_fraction = 0.6, val_fraction = 0.1;  // time_ordered: entry ranges of train and validation
  SplitSizes sizes;

  // ---- the original's arguments ----
  int64_t epochs = 150;
  double lambda_p = 1.0;
  int64_t hidden_size = 150, attention_size = 300, n_attention_heads = 5;
  int64_t batch_size_train = 60, batch_size_val = 20, batch_size_test = 1000;
  double learning_rate = 0.005;

  // ---- the original's constants ----
  double alpha = 1.0;                 // head-weight softmax scale
  double margin = 1.0;                // hinge margin
  bool loss_plus_one = true;          // sum / (N + 1) per class, as the code; false: mean over the class
  double entry_threshold = 0.01;      // attention above it flags an entry (0.05 in the Thunderbird notebook)
  bool drop_last_train = true;        // the original's DataLoader(drop_last=True, shuffle=True)

  // ---- ours ----
  std::string model_selection = "both_improve";  // both_improve (original) | window_f1 | last
  bool positional_embedding = false;  // learned [T, D] added to the key embeddings (the original is order-blind)
  int64_t seed = 42;                  // one seed for split, initialisation and batch order (the original never seeds)
  std::string device = "auto";
  std::string output_dir = "runs/glead";

  std::string path;  // the settings file (errors about split sizes name it)
  nlohmann::json resolved;
};

Settings load_settings(const std::string& path);

}  // namespace ad::glead
