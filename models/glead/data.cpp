#include "models/glead/data.h"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>

#include "models/glead/synthetic.h"
#include "runtime/csv.h"
#include "runtime/error.h"
#include "runtime/fs_util.h"

namespace ad::glead {

namespace {
size_t require_column(const CsvText& t, const std::string& name) {
  for (size_t j = 0; j < t.header.size(); ++j)
    if (t.header[j] == name) return j;
  std::string known;
  for (size_t j = 0; j < t.header.size(); ++j) known += (j ? ", " : "") + t.header[j];
  AD_FAIL(t.path.c_str(), name, ": no such column (the header has: ", known, ")");
}
}  // namespace

LogEntries read_loghub(const std::string& structured_csv, const std::string& templates_csv, int64_t max_rows) {
  CsvText t = read_csv_text(structured_csv, size_t(max_rows));
  const size_t c_key = require_column(t, "EventId"), c_label = require_column(t, "Label");
  int64_t c_template = -1;
  for (size_t j = 0; j < t.header.size(); ++j)
    if (t.header[j] == "EventTemplate") c_template = int64_t(j);
  AD_CHECK(!t.rows.empty(), structured_csv.c_str(), "line 2: no log entries after the header");
  LogEntries e;
  e.keys.reserve(t.rows.size());
  e.labels.reserve(t.rows.size());
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const std::string& key = t.rows[r][c_key];
    AD_CHECK(!key.empty(), structured_csv.c_str(), "line ", r + 2, ": empty EventId");
    const std::string& label = t.rows[r][c_label];
    AD_CHECK(!label.empty(), structured_csv.c_str(), "line ", r + 2, ": empty Label (\"-\" marks a normal entry)");
    e.keys.push_back(key);
    e.labels.push_back(label == "-" ? 0 : 1);
    if (c_template >= 0) e.templates.emplace(key, t.rows[r][size_t(c_template)]);
  }
  if (!templates_csv.empty()) {
    CsvText tt = read_csv_text(templates_csv);
    const size_t k = require_column(tt, "EventId"), v = require_column(tt, "EventTemplate");
    for (const auto& row : tt.rows) e.templates[row[k]] = row[v];
  }
  return e;
}

std::vector<Window> read_sessions(const std::string& path, int label, int64_t window_size, int64_t* truncated) {
  const std::string text = read_file_bytes(path, "read_sessions");
  std::vector<Window> out;
  std::istringstream lines(text);
  std::string line;
  int64_t lineno = 0, blank_run = 0;
  while (std::getline(lines, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream words(line);
    Window w;
    std::string word;
    while (words >> word) {
      size_t pos = 0;
      bool ok = !word.empty() && word.find_first_not_of("0123456789") == std::string::npos && word.size() <= 9;
      if (ok) {
        pos = size_t(std::stol(word));
        word = std::to_string(pos);  // "007" and "7" are one key
      }
      AD_CHECK(ok, path.c_str(), "line ", lineno, ": key \"", word, "\" is not a non-negative integer");
      w.keys.push_back(word);
    }
    if (w.keys.empty()) {
      ++blank_run;
      continue;
    }
    AD_CHECK(blank_run == 0, path.c_str(), "line ", lineno - blank_run, ": blank line between sessions");
    if (int64_t(w.keys.size()) > window_size) {
      w.keys.resize(size_t(window_size));
      if (truncated) ++*truncated;
    }
    w.label = label;
    w.start = lineno;
    w.source = path;
    out.push_back(std::move(w));
  }
  AD_CHECK(!out.empty(), path.c_str(), "no sessions (the file is empty)");
  return out;
}

std::vector<Window> slide_windows(const LogEntries& e, int64_t size, int64_t step, const std::string& source) {
  const int64_t n = int64_t(e.keys.size());
  AD_CHECK(size <= n, source.c_str(), "window_size: ", size, " is larger than the ", n, " entries read");
  std::vector<Window> out;
  for (int64_t i = 0; i + size <= n; i += step) {
    Window w;
    w.keys.assign(e.keys.begin() + i, e.keys.begin() + i + size);
    w.entry_labels.assign(e.labels.begin() + i, e.labels.begin() + i + size);
    w.label = *std::max_element(w.entry_labels.begin(), w.entry_labels.end());
    w.start = i;
    out.push_back(std::move(w));
  }
  return out;
}

namespace {
// Takes `want` items from the front of `pool` (-1: all); error naming the settings key when too few are left.
std::vector<int64_t> take(std::vector<int64_t>& pool, int64_t want, const std::string& settings, const char* key,
                          const char* where) {
  if (want < 0) want = int64_t(pool.size());
  AD_CHECK(want <= int64_t(pool.size()), settings.c_str(), "split.", key, ": ", want, " windows requested, only ",
           pool.size(), " available ", where);
  std::vector<int64_t> got(pool.begin(), pool.begin() + want);
  pool.erase(pool.begin(), pool.begin() + want);
  return got;
}

void append(std::vector<Window>& to, const std::vector<Window>& from, const std::vector<int64_t>& rows, int semi) {
  for (int64_t r : rows) {
    to.push_back(from[size_t(r)]);
    to.back().semi = semi;
  }
}
}  // namespace

Split split_windows(const std::vector<Window>& windows, const Settings& s, int64_t entries_total) {
  std::mt19937_64 rng(uint64_t(s.seed) * 0x9E3779B97F4A7C15ull + 1);
  const SplitSizes& z = s.sizes;
  Split out;
  // Pools of window indices by class, for each of the three parts (random: one shared pool).
  std::vector<int64_t> normal[3], anomalous[3];
  const bool timed = s.split == "time_ordered";
  std::map<std::string, int64_t> lines_in;  // sessions: lines per file
  for (const Window& w : windows) lines_in[w.source] = std::max(lines_in[w.source], w.start);
  for (size_t i = 0; i < windows.size(); ++i) {
    const Window& w = windows[i];
    int part = 0;
    if (timed) {
      // Entries: by entry range; sessions: by line position within their file. A window that crosses a
      // boundary is dropped, so no entry is shared by two parts.
      double first, last, total;
      if (w.source.empty()) {
        first = double(w.start), last = double(w.start + int64_t(w.keys.size())), total = double(entries_total);
      } else {
        total = double(lines_in[w.source]);
        first = double(w.start - 1), last = double(w.start);
      }
      const double b1 = s.train_fraction * total, b2 = (s.train_fraction + s.val_fraction) * total;
      if (last <= b1) part = 0;
      else if (first >= b1 && last <= b2) part = 1;
      else if (first >= b2) part = 2;
      else continue;
    }
    (w.label ? anomalous : normal)[part].push_back(int64_t(i));
  }
  for (auto* pools : {normal, anomalous})
    for (int p = 0; p < 3; ++p) std::shuffle(pools[p].begin(), pools[p].end(), rng);
  const int tr = 0, va = timed ? 1 : 0, te = timed ? 2 : 0;
  const char* w_tr = timed ? "in the training part" : "";
  const char* w_va = timed ? "in the validation part" : "after the training windows";
  const char* w_te = timed ? "in the test part" : "after the training and validation windows";
  auto ln = take(normal[tr], z.train_labelled_normal, s.path, "train_labelled_normal", w_tr);
  auto la = take(anomalous[tr], z.train_labelled_anomalous, s.path, "train_labelled_anomalous", w_tr);
  auto un = take(normal[tr], z.train_unlabelled_normal, s.path, "train_unlabelled_normal", w_tr);
  auto ua = take(anomalous[tr], z.train_unlabelled_anomalous, s.path, "train_unlabelled_anomalous", w_tr);
  auto vn = take(normal[va], z.val_normal, s.path, "val_normal", w_va);
  auto vaa = take(anomalous[va], z.val_anomalous, s.path, "val_anomalous", w_va);
  auto tn = take(normal[te], z.test_normal, s.path, "test_normal", w_te);
  auto ta = take(anomalous[te], z.test_anomalous, s.path, "test_anomalous", w_te);
  append(out.train, windows, ln, 0);
  append(out.train, windows, la, 0);
  append(out.train, windows, un, 1);
  append(out.train, windows, ua, 1);
  append(out.val, windows, vn, 0);
  append(out.val, windows, vaa, 0);
  append(out.test, windows, tn, 0);
  append(out.test, windows, ta, 0);
  std::ostringstream d;
  d << s.split << " split: train " << ln.size() << " labelled normal + " << la.size() << " labelled anomalous + "
    << un.size() + ua.size() << " unlabelled; validation " << vn.size() << " + " << vaa.size() << "; test "
    << tn.size() << " normal + " << ta.size() << " anomalous (of " << windows.size() << " windows)";
  out.description = d.str();
  return out;
}

Split load_split(const Settings& s) {
  Split out;
  if (s.format == "sessions") {
    int64_t truncated = 0;
    std::vector<Window> w = read_sessions(s.sessions_normal, 0, s.window_size, &truncated);
    std::vector<Window> a = read_sessions(s.sessions_anomalous, 1, s.window_size, &truncated);
    w.insert(w.end(), a.begin(), a.end());
    out = split_windows(w, s, 0);
    out.truncated_sessions = truncated;
    out.entry_labels = false;
    return out;
  }
  LogEntries e;
  std::string source;
  if (s.format == "synthetic") {
    e = generate_synthetic_log(SyntheticLogOptions{s.synthetic_entries, s.synthetic_anomaly_rate, uint64_t(s.seed)});
    source = "synthetic log";
  } else {
    e = read_loghub(s.structured_csv, s.templates_csv, s.max_rows);
    source = s.structured_csv;
  }
  std::vector<Window> w = slide_windows(e, s.window_size, s.step_size, source);
  out = split_windows(w, s, int64_t(e.keys.size()));
  out.entry_labels = true;
  out.templates = std::move(e.templates);
  return out;
}

int32_t Vocabulary::encode(const std::string& key) const {
  auto it = index.find(key);
  return it == index.end() ? 1 : it->second;
}

Vocabulary build_vocabulary(const std::vector<Window>& train) {
  Vocabulary v;
  v.keys = {"", "UNK"};
  v.index = {{"", 0}, {"UNK", 1}};
  for (const Window& w : train)
    for (const std::string& k : w.keys)
      if (v.index.emplace(k, int32_t(v.keys.size())).second) v.keys.push_back(k);
  return v;
}

Tensor encode_windows(const std::vector<Window>& windows, const std::vector<int64_t>& rows, const Vocabulary& v,
                      int64_t window_size) {
  Tensor ids = Tensor::zeros({int64_t(rows.size()), window_size}, DType::I32);
  int32_t* p = ids.data<int32_t>();
  for (size_t i = 0; i < rows.size(); ++i) {
    const Window& w = windows[size_t(rows[i])];
    for (size_t t = 0; t < w.keys.size() && int64_t(t) < window_size; ++t)
      p[int64_t(i) * window_size + int64_t(t)] = v.encode(w.keys[t]);
  }
  return ids;
}

}  // namespace ad::glead
