// GLEAD's data pipeline: log entries -> windows -> train/validation/test split -> vocabulary -> ids.
//
// Entries come from a loghub structured CSV (EventId, Label: "-" is normal, anything else anomalous;
// EventTemplate optional), from the synthetic generator (synthetic.h), or as pre-sequenced sessions (one
// window per line, space-separated integer keys, one file per class, as DeepLog's HDFS files). Entries are
// cut into count windows of `window_size` with step `step_size` in file order; a window is anomalous when any
// entry is. Sessions are windows already: shorter ones are padded (id 0), longer ones cut at window_size.
#pragma once
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/glead/settings.h"
#include "runtime/tensor.h"

namespace ad::glead {

struct LogEntries {
  std::vector<std::string> keys;  // EventId per entry, file order
  std::vector<int> labels;        // 0 normal, 1 anomalous
  std::map<std::string, std::string> templates;  // EventId -> template text (where known)
};

struct Window {
  std::vector<std::string> keys;
  std::vector<int> entry_labels;  // per key; empty for sessions (no entry labels)
  int label = 0;
  int64_t start = 0;              // first entry index (entries) or 1-based line (sessions)
  int semi = 0;                   // 1: unlabelled training window (the original's `Semi`)
  std::string source;             // "" for entries; the sessions file otherwise
};

struct Split {
  std::vector<Window> train, val, test;  // train: labelled normal, labelled anomalous, unlabelled (the original's order)
  bool entry_labels = false;
  std::map<std::string, std::string> templates;
  int64_t truncated_sessions = 0;  // sessions longer than window_size (cut)
  std::string description;         // one line: sizes and split kind
};

// Readers; errors are one line naming the file (and the line or column).
LogEntries read_loghub(const std::string& structured_csv, const std::string& templates_csv, int64_t max_rows);
// One window per non-blank line; every key must be an integer. `label` is the file's class.
std::vector<Window> read_sessions(const std::string& path, int label, int64_t window_size, int64_t* truncated);

// Count windows of `size` entries every `step` entries; error (naming `source`) when size exceeds the entries.
std::vector<Window> slide_windows(const LogEntries& e, int64_t size, int64_t step, const std::string& source);

// The split the settings ask for, from the data the settings name (reads files, or generates).
Split load_split(const Settings& s);
// Split of ready windows (from entries: `entries_total` entries, windows with `start`; sessions: per file).
Split split_windows(const std::vector<Window>& windows, const Settings& s, int64_t entries_total);

struct Vocabulary {
  std::vector<std::string> keys;  // index -> key; 0 = "" (padding), 1 = "UNK"
  std::unordered_map<std::string, int32_t> index;
  int32_t encode(const std::string& key) const;  // 1 for an unknown key
  int64_t size() const { return int64_t(keys.size()); }
};
// From training windows only, keys in first-occurrence order (the original's Counter insertion order).
Vocabulary build_vocabulary(const std::vector<Window>& train);
// [n, window_size] int32 host tensor of the windows at `rows` (padding 0).
Tensor encode_windows(const std::vector<Window>& windows, const std::vector<int64_t>& rows, const Vocabulary& v,
                      int64_t window_size);

}  // namespace ad::glead
