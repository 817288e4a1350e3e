#include "models/glead/glead.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <map>
#include <numeric>
#include <ostream>
#include <random>
#include <set>
#include <sstream>

#include "kernels/elementwise.h"
#include "layers/optimizer.h"
#include "runtime/fs_util.h"
#include "runtime/metrics.h"
#include "runtime/progress.h"

namespace ad::glead {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<int64_t> iota_rows(size_t n) {
  std::vector<int64_t> r(n);
  std::iota(r.begin(), r.end(), 0);
  return r;
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

std::vector<WindowResult> evaluate(Network& net, const std::vector<Window>& windows, const Vocabulary& vocab,
                                   int64_t window_size, int64_t batch, double entry_threshold) {
  std::vector<WindowResult> out(windows.size());
  const int64_t K = net.config().heads, n = int64_t(windows.size());
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t B = std::min(batch, n - first);
    std::vector<int64_t> rows(static_cast<size_t>(B));
    std::iota(rows.begin(), rows.end(), first);
    Network::Output o = net.forward(encode_windows(windows, rows, vocab, window_size));
    const std::vector<double> d = o.distances.to_vector(), a = o.attention.to_vector();
    for (int64_t b = 0; b < B; ++b) {
      WindowResult& r = out[size_t(first + b)];
      const Window& w = windows[size_t(first + b)];
      r.label = w.label;
      const double* dn = d.data() + (b * 2) * K;
      const double* da = d.data() + (b * 2 + 1) * K;
      r.normal_distance = std::accumulate(dn, dn + K, 0.0) / double(K);
      r.anomalous_distance = std::accumulate(da, da + K, 0.0) / double(K);
      r.score = r.normal_distance - r.anomalous_distance;
      r.prediction = r.normal_distance < r.anomalous_distance ? 0 : 1;  // the original's torch.where(n < a, 0, 1)
      const double* closest = r.prediction ? da : dn;
      r.best_head = int(std::min_element(closest, closest + K) - closest);  // first minimum, as torch.min
      const int64_t len = int64_t(w.keys.size());
      r.attention.resize(size_t(len));
      r.flagged.assign(size_t(len), 0);
      for (int64_t t = 0; t < len; ++t) {
        r.attention[size_t(t)] = float(a[size_t((b * K + r.best_head) * window_size + t)]);
        r.flagged[size_t(t)] = r.prediction == 1 && r.attention[size_t(t)] > entry_threshold;
      }
    }
  }
  return out;
}

ClassReport class_report(const std::vector<int>& prediction, const std::vector<int>& label,
                         const std::vector<double>* score) {
  ClassReport r;
  if (label.empty()) return r;
  r.defined = true;
  for (size_t i = 0; i < label.size(); ++i) ++r.confusion[label[i]][prediction[i]];
  for (int c = 0; c < 2; ++c) {
    const int64_t tp = r.confusion[c][c], fp = r.confusion[1 - c][c], fn = r.confusion[c][1 - c];
    r.support[c] = tp + fn;
    r.precision[c] = tp + fp ? double(tp) / double(tp + fp) : 0;
    r.recall[c] = tp + fn ? double(tp) / double(tp + fn) : 0;
    r.f1[c] = r.precision[c] + r.recall[c] > 0 ? 2 * r.precision[c] * r.recall[c] / (r.precision[c] + r.recall[c]) : 0;
  }
  r.accuracy = double(r.confusion[0][0] + r.confusion[1][1]) / double(label.size());
  const bool both = r.support[0] > 0 && r.support[1] > 0;
  if (both) {
    std::vector<double> hard(prediction.begin(), prediction.end());
    r.hard_auc = roc_auc(hard, label);
    if (score) r.roc_auc = roc_auc(*score, label);
  }
  return r;
}

std::string format_class_report(const ClassReport& r) {
  if (!r.defined) return "  (no items)\n";
  std::ostringstream os;
  os << std::fixed << std::setprecision(4);
  os << "              precision    recall  f1-score   support\n\n";
  const int64_t n = r.support[0] + r.support[1];
  for (int c = 0; c < 2; ++c)
    os << std::setw(12) << c << std::setw(12) << r.precision[c] << std::setw(10) << r.recall[c] << std::setw(10)
       << r.f1[c] << std::setw(10) << r.support[c] << "\n";
  os << "\n" << std::setw(12) << "accuracy" << std::setw(32) << r.accuracy << std::setw(10) << n << "\n";
  auto avg = [&](const double* v, bool weighted) {
    return weighted ? (v[0] * double(r.support[0]) + v[1] * double(r.support[1])) / double(n) : (v[0] + v[1]) / 2;
  };
  for (bool weighted : {false, true})
    os << std::setw(12) << (weighted ? "weighted avg" : "macro avg") << std::setw(12) << avg(r.precision, weighted)
       << std::setw(10) << avg(r.recall, weighted) << std::setw(10) << avg(r.f1, weighted) << std::setw(10) << n
       << "\n";
  os << "\nconfusion matrix (rows: true 0/1, columns: predicted 0/1)\n[[" << r.confusion[0][0] << " "
     << r.confusion[0][1] << "]\n [" << r.confusion[1][0] << " " << r.confusion[1][1] << "]]\n";
  os << "AUC from the 0/1 predictions (the original's figure): " << r.hard_auc << "\n";
  if (r.roc_auc >= 0) os << "ROC-AUC from the continuous score: " << r.roc_auc << "\n";
  return os.str();
}

nlohmann::json class_report_json(const ClassReport& r) {
  if (!r.defined) return nullptr;
  nlohmann::json j;
  for (int c = 0; c < 2; ++c)
    j[std::to_string(c)] = {{"precision", r.precision[c]}, {"recall", r.recall[c]}, {"f1", r.f1[c]},
                            {"support", r.support[c]}};
  j["accuracy"] = r.accuracy;
  j["confusion_matrix"] = {{r.confusion[0][0], r.confusion[0][1]}, {r.confusion[1][0], r.confusion[1][1]}};
  j["auc_from_hard_labels"] = r.hard_auc;
  j["roc_auc"] = r.roc_auc >= 0 ? nlohmann::json(r.roc_auc) : nlohmann::json(nullptr);
  return j;
}

namespace {
struct Snapshot {
  std::vector<Tensor> values;
};
Snapshot snapshot(const std::vector<Parameter*>& ps) {
  Snapshot s;
  for (Parameter* p : ps) s.values.push_back(p->value.clone());
  return s;
}
void restore(const std::vector<Parameter*>& ps, const Snapshot& s) {
  for (size_t i = 0; i < ps.size(); ++i) ps[i]->value.copy_from(s.values[i]);
}

// Entry-level predictions and labels over all windows' real positions (overlapping windows count each time,
// as in the original).
void entry_vectors(const std::vector<Window>& w, const std::vector<WindowResult>& r, std::vector<int>& pred,
                   std::vector<int>& label) {
  for (size_t i = 0; i < w.size(); ++i)
    for (size_t t = 0; t < w[i].entry_labels.size(); ++t) {
      label.push_back(w[i].entry_labels[t]);
      pred.push_back(r[i].flagged[t]);
    }
}

// The trivial baseline's key set. With entry labels: the keys of anomalous entries in labelled anomalous
// training windows. Without (sessions): keys of labelled anomalous training windows that no normal training
// window holds (every key of an anomalous session would otherwise flag nearly everything).
std::set<std::string> baseline_keys(const std::vector<Window>& train, bool entry_labels) {
  std::set<std::string> keys, normal_keys;
  for (const Window& w : train) {
    if (w.semi == 1 || w.label == 0) {
      normal_keys.insert(w.keys.begin(), w.keys.end());
      continue;
    }
    for (size_t t = 0; t < w.keys.size(); ++t)
      if (!entry_labels || w.entry_labels[t]) keys.insert(w.keys[t]);
  }
  if (!entry_labels)
    for (const std::string& k : normal_keys) keys.erase(k);
  return keys;
}

struct History {
  int64_t epoch;
  double loss, triplet, penalty;
  int64_t val_windows_correct, val_entries_correct;
  double val_window_f1;
  bool kept;
  double seconds;
};
}  // namespace

Results run(const Settings& s, Device device, const std::string& run_dir, std::ostream& log) {
  Results res;
  Split split = load_split(s);
  res.entry_labels = split.entry_labels;
  res.split_description = split.description;
  log << split.description << "\n";
  if (split.truncated_sessions > 0)
    log << split.truncated_sessions << " sessions longer than window_size " << s.window_size << " were cut\n";
  const Vocabulary vocab = build_vocabulary(split.train);
  log << "vocabulary: " << vocab.size() << " keys (with padding and UNK) from the training windows\n";

  NetworkConfig cfg{vocab.size(), s.window_size, s.hidden_size, s.attention_size, s.n_attention_heads,
                    s.positional_embedding};
  Network net(cfg, uint64_t(s.seed), device);
  std::vector<Parameter*> params = net.parameters();
  Adam adam(params, AdamOptions{s.learning_rate});
  const LossOptions lo{s.alpha, s.margin, s.loss_plus_one};
  const int64_t K = s.n_attention_heads;
  std::mt19937_64 order_rng(uint64_t(s.seed) * 0xBF58476D1CE4E5B9ull + 3);
  std::vector<int64_t> order = iota_rows(split.train.size());
  const int64_t n_train = int64_t(order.size());
  AD_CHECK(n_train > 0, s.path.c_str(), "split: no training windows");
  const int64_t batches = s.drop_last_train ? n_train / s.batch_size_train
                                            : (n_train + s.batch_size_train - 1) / s.batch_size_train;
  AD_CHECK(batches > 0, s.path.c_str(), "batch_size_train: ", s.batch_size_train, " exceeds the ", n_train,
           " training windows (with drop_last_train, no batch would run)");

  std::vector<History> history;
  Snapshot best = snapshot(params);
  int64_t best_windows = -1000, best_entries = -1000;  // the original's -1000 start
  double best_f1 = -1;
  const auto t_train = std::chrono::steady_clock::now();
  ProgressBar bar("train", s.epochs, log);
  for (int64_t epoch = 0; epoch < s.epochs; ++epoch) {
    const auto t_epoch = std::chrono::steady_clock::now();
    std::shuffle(order.begin(), order.end(), order_rng);
    double loss_sum = 0, triplet_sum = 0, penalty_sum = 0;
    for (int64_t bi = 0; bi < batches; ++bi) {
      const int64_t first = bi * s.batch_size_train, B = std::min(s.batch_size_train, n_train - first);
      std::vector<int64_t> rows(order.begin() + first, order.begin() + first + B);
      std::vector<int> labels(static_cast<size_t>(B)), semi(static_cast<size_t>(B));
      for (int64_t b = 0; b < B; ++b) {
        labels[size_t(b)] = split.train[size_t(rows[size_t(b)])].label;
        semi[size_t(b)] = split.train[size_t(rows[size_t(b)])].semi;
      }
      adam.zero_grad();
      StepLoss sl = loss_and_backward(net, encode_windows(split.train, rows, vocab, s.window_size), labels, semi, lo,
                                      s.lambda_p);
      adam.step();
      loss_sum += sl.total;
      triplet_sum += sl.triplet;
      penalty_sum += sl.penalty;
    }
    // Validation: the original's counts (windows right, entries right) and, ours, the window F1.
    std::vector<WindowResult> v =
        evaluate(net, split.val, vocab, s.window_size, s.batch_size_val, s.entry_threshold);
    int64_t right_windows = 0, right_entries = 0;
    std::vector<int> vp, vl;
    for (size_t i = 0; i < v.size(); ++i) {
      right_windows += v[i].prediction == v[i].label;
      vp.push_back(v[i].prediction);
      vl.push_back(v[i].label);
      for (size_t t = 0; t < split.val[i].entry_labels.size(); ++t)
        right_entries += v[i].flagged[t] == split.val[i].entry_labels[t];
    }
    const double f1 = prf(vp, vl).f1;
    bool keep = false;
    // Without entry labels (sessions) the entry count is always 0 and could never improve after epoch 0: the
    // original's rule then compares the window counts alone.
    if (s.model_selection == "both_improve")
      keep = right_windows > best_windows && (right_entries > best_entries || !split.entry_labels);
    else if (s.model_selection == "window_f1") keep = f1 > best_f1;
    else keep = true;
    if (keep) {
      best = snapshot(params);
      best_windows = right_windows, best_entries = right_entries, best_f1 = f1;
      res.best_epoch = epoch;
    }
    history.push_back({epoch, loss_sum / double(batches), triplet_sum / double(batches), penalty_sum / double(batches),
                       right_windows, right_entries, f1, keep, seconds_since(t_epoch)});
    std::ostringstream extra;
    extra << std::setprecision(4) << "loss=" << loss_sum / double(batches) << " val windows " << right_windows << "/"
          << v.size() << " F1=" << f1 << (keep ? " (kept)" : "");
    bar.update(epoch + 1, extra.str());
    res.epochs_run = epoch + 1;
  }
  bar.finish();
  res.train_seconds = seconds_since(t_train);
  restore(params, best);

  const auto t_test = std::chrono::steady_clock::now();
  std::vector<WindowResult> test =
      evaluate(net, split.test, vocab, s.window_size, s.batch_size_test, s.entry_threshold);
  res.test_seconds = seconds_since(t_test);

  std::vector<int> wp, wl;
  std::vector<double> ws;
  for (const WindowResult& r : test) {
    wp.push_back(r.prediction);
    wl.push_back(r.label);
    ws.push_back(r.score);
  }
  res.window = class_report(wp, wl, &ws);
  std::vector<int> ep, el;
  if (split.entry_labels) {
    entry_vectors(split.test, test, ep, el);
    res.entry = class_report(ep, el);
  }

  // Trivial baseline.
  const std::set<std::string> bkeys = baseline_keys(split.train, split.entry_labels);
  std::vector<int> bp, bep, bel;
  for (const Window& w : split.test) {
    int any = 0;
    for (size_t t = 0; t < w.keys.size(); ++t) {
      const int hit = bkeys.count(w.keys[t]) ? 1 : 0;
      any |= hit;
      if (split.entry_labels) {
        bep.push_back(hit);
        bel.push_back(w.entry_labels[t]);
      }
    }
    bp.push_back(any);
  }
  res.baseline_window = class_report(bp, wl);
  if (split.entry_labels) res.baseline_entry = class_report(bep, bel);

  // ---- outputs ----
  auto template_of = [&](const std::string& key) {
    auto it = split.templates.find(key);
    return it == split.templates.end() ? std::string() : it->second;
  };
  std::ostringstream result;
  result << "GLEAD test results (" << split.description << ")\n"
         << "best epoch " << res.best_epoch << " of " << res.epochs_run << " (model selection: " << s.model_selection
         << ")\n\n";
  result << "Window-level anomaly detection:\n" << format_class_report(res.window) << std::string(50, '-') << "\n";
  result << "Entry anomaly detection on detected sequences:\n"
         << (split.entry_labels ? format_class_report(res.entry) : "  (no entry labels in this data)\n")
         << std::string(50, '-') << "\n";
  std::ostringstream bk;
  for (const std::string& k : bkeys) bk << " " << k;
  result << "Trivial baseline (flag a window holding any of these keys:" << bk.str() << ")\nwindow level:\n"
         << format_class_report(res.baseline_window);
  if (split.entry_labels) result << "entry level:\n" << format_class_report(res.baseline_entry);
  write_text_atomic(run_dir + "/result.txt", result.str());

  // top_entry.txt: per head, flagged keys by count, with the template text.
  std::vector<std::map<std::string, int64_t>> per_head(static_cast<size_t>(K));
  for (size_t i = 0; i < test.size(); ++i)
    for (size_t t = 0; t < test[i].flagged.size(); ++t)
      if (test[i].flagged[t]) ++per_head[size_t(test[i].best_head)][split.test[i].keys[t]];
  std::ostringstream top;
  nlohmann::json top_json = nlohmann::json::array();
  for (int64_t h = 0; h < K; ++h) {
    std::vector<std::pair<std::string, int64_t>> v(per_head[size_t(h)].begin(), per_head[size_t(h)].end());
    std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
    top << "Head " << h << ":\n";
    nlohmann::json hj = nlohmann::json::array();
    for (auto& [key, count] : v) {
      top << "  " << key << " (" << count << "): " << template_of(key) << "\n";
      hj.push_back({{"key", key}, {"count", count}, {"template", template_of(key)}});
    }
    top << "\n";
    top_json.push_back(hj);
  }
  write_text_atomic(run_dir + "/top_entry.txt", top.str());

  nlohmann::json m;
  m["split"] = split.description;
  m["best_epoch"] = res.best_epoch;
  m["epochs"] = res.epochs_run;
  m["train_seconds"] = res.train_seconds;
  m["test_seconds"] = res.test_seconds;
  m["window"] = class_report_json(res.window);
  m["entry"] = split.entry_labels ? class_report_json(res.entry) : nlohmann::json(nullptr);
  m["baseline"] = {{"keys", std::vector<std::string>(bkeys.begin(), bkeys.end())},
                   {"window", class_report_json(res.baseline_window)},
                   {"entry", split.entry_labels ? class_report_json(res.baseline_entry) : nlohmann::json(nullptr)}};
  m["top_entries"] = top_json;
  m["vocabulary_size"] = vocab.size();
  write_text_atomic(run_dir + "/metrics.json", m.dump(2));

  std::ostringstream wc;
  wc << std::setprecision(9)
     << "window,source,start,label,prediction,score,normal_distance,anomalous_distance,best_head,flagged_entries,keys,"
        "entry_labels,attention\n";
  for (size_t i = 0; i < test.size(); ++i) {
    const Window& w = split.test[i];
    const WindowResult& r = test[i];
    std::string flagged, keys, labels, att;
    for (size_t t = 0; t < w.keys.size(); ++t) {
      const char* sep = t ? " " : "";
      if (r.flagged[t]) flagged.append(flagged.empty() ? "" : " ").append(std::to_string(t));
      keys.append(sep).append(w.keys[t]);
      if (!w.entry_labels.empty()) labels.append(sep).append(std::to_string(w.entry_labels[t]));
      std::ostringstream a;
      a << std::setprecision(6) << r.attention[t];
      att.append(sep).append(a.str());
    }
    wc << i << "," << csv_cell(w.source) << "," << w.start << "," << r.label << "," << r.prediction << "," << r.score
       << "," << r.normal_distance << "," << r.anomalous_distance << "," << r.best_head << "," << flagged << ","
       << csv_cell(keys) << "," << labels << "," << att << "\n";
  }
  write_text_atomic(run_dir + "/windows.csv", wc.str());

  std::ostringstream hc;
  hc << std::setprecision(9)
     << "epoch,loss,triplet,penalty,val_windows_correct,val_entries_correct,val_window_f1,kept,seconds\n";
  for (const History& h : history)
    hc << h.epoch << "," << h.loss << "," << h.triplet << "," << h.penalty << "," << h.val_windows_correct << ","
       << h.val_entries_correct << "," << h.val_window_f1 << "," << h.kept << "," << h.seconds << "\n";
  write_text_atomic(run_dir + "/history.csv", hc.str());

  std::ostringstream vc;
  vc << "index,key,template\n";
  for (size_t i = 0; i < vocab.keys.size(); ++i)
    vc << i << "," << csv_cell(vocab.keys[i]) << "," << csv_cell(template_of(vocab.keys[i])) << "\n";
  write_text_atomic(run_dir + "/vocabulary.csv", vc.str());
  return res;
}

std::string summary_table(const Results& r) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(4);
  os << "                      window P   window R  window F1  ROC-AUC    entry P    entry R   entry F1\n";
  auto row = [&](const char* name, const ClassReport& w, const ClassReport& e) {
    os << std::left << std::setw(20) << name << std::right << std::setw(11) << w.precision[1] << std::setw(11)
       << w.recall[1] << std::setw(11) << w.f1[1];
    if (w.roc_auc >= 0) os << std::setw(9) << w.roc_auc;
    else os << std::setw(9) << "-";
    if (e.defined)
      os << std::setw(11) << e.precision[1] << std::setw(11) << e.recall[1] << std::setw(11) << e.f1[1];
    else
      os << std::setw(11) << "-" << std::setw(11) << "-" << std::setw(11) << "-";
    os << "\n";
  };
  row("GLEAD", r.window, r.entry);
  row("trivial baseline", r.baseline_window, r.baseline_entry);
  return os.str();
}

}  // namespace ad::glead
