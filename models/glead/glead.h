// GLEAD end to end: train with validation-based model selection, test, explain, and write the outputs.
//
// Prediction (the original's Trainer): a window is anomalous when mean_h d(M, c_n) >= mean_h d(M, c_a); our
// continuous score is the difference mean_h d_n - mean_h d_a (>= 0: anomalous), which gives a real ROC-AUC.
// Local explanation: for a window predicted anomalous, the head h* closest to its anomalous prototype; the
// entries whose attention under h* exceeds `entry_threshold` are flagged (windows predicted normal flag none).
// Global explanation: per head, the keys most often flagged by windows whose h* is that head.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/glead/data.h"
#include "models/glead/network.h"
#include "models/glead/settings.h"

namespace ad::glead {

struct WindowResult {
  int label = 0, prediction = 0;
  double score = 0, normal_distance = 0, anomalous_distance = 0;  // score = normal - anomalous (mean over heads)
  int best_head = 0;
  std::vector<float> attention;  // best head's weights over the window's positions
  std::vector<int> flagged;      // 0/1 per position (all 0 for a window predicted normal)
};

// Scores `windows` in batches of `batch` (any size; the last batch may be short).
std::vector<WindowResult> evaluate(Network& net, const std::vector<Window>& windows, const Vocabulary& vocab,
                                   int64_t window_size, int64_t batch, double entry_threshold);

// Per-class report as sklearn's classification_report + confusion_matrix (rows: true 0/1, columns: predicted).
struct ClassReport {
  double precision[2] = {0, 0}, recall[2] = {0, 0}, f1[2] = {0, 0};
  int64_t support[2] = {0, 0};
  int64_t confusion[2][2] = {{0, 0}, {0, 0}};
  double accuracy = 0;
  double hard_auc = 0;   // the original's "AUC": roc_curve on the 0/1 predictions
  double roc_auc = -1;   // from a continuous score (-1: none)
  bool defined = false;  // false when there were no items
};
ClassReport class_report(const std::vector<int>& prediction, const std::vector<int>& label,
                         const std::vector<double>* score = nullptr);
std::string format_class_report(const ClassReport& r);
nlohmann::json class_report_json(const ClassReport& r);

struct Results {
  ClassReport window, entry, baseline_window, baseline_entry;
  bool entry_labels = false;
  int64_t best_epoch = -1, epochs_run = 0;
  double train_seconds = 0, test_seconds = 0;
  std::string split_description;
};

// Trains, selects, tests and writes result.txt, top_entry.txt, metrics.json, windows.csv, history.csv and
// vocabulary.csv into `run_dir`. Progress goes to `log`.
Results run(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);

// The summary table printed at the end of a run (model and trivial baseline side by side).
std::string summary_table(const Results& r);

}  // namespace ad::glead
