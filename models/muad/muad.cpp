#include "models/muad/muad.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <ostream>
#include <random>

#include "layers/optimizer.h"
#include "runtime/csv.h"
#include "runtime/error.h"
#include "runtime/fs_util.h"
#include "runtime/metrics.h"
#include "runtime/settings.h"

namespace ad::muad {

// ---- settings ---------------------------------------------------------------------------------------------
Settings load_settings(const std::string& path) {
  SettingsReader r(load_json_file(path), path);
  Settings s;
  s.path = path;
  const char* p = path.c_str();  // errors read "<settings file>: <key>: <what>"
  const int64_t seed = r.get_int("seed");
  AD_CHECK(seed >= 0, p, "seed: must be >= 0, got ", seed);
  s.seed = uint64_t(seed);
  s.device = r.get_choice("device", s.device, {"auto", "cpu", "cuda"});
  s.output_dir = r.get_string("output_dir", "runs/muad");
  s.plots = r.get_bool("plots", true);

  SettingsReader d = r.section("data");
  s.data_kind = d.get_choice("kind", "synthetic", {"synthetic", "folder"});
  if (s.data_kind == "folder") {
    s.data_dir = d.get_string("dir");
  } else {
    GeneratorSettings& g = s.generator;
    s.graph_dir = d.get_string("graph_dir");
    g.seconds = d.get_int("seconds", g.seconds);
    g.window = d.get_int("window", g.window);
    g.stride = d.get_int("stride", g.stride);
    g.split = d.get_choice("split", g.split, {"random", "blocked"});
    g.train_fraction = d.get_number("train_fraction", g.train_fraction);
    g.anomaly_ratio = d.get_number("anomaly_ratio", g.anomaly_ratio);
    g.fault_min_s = d.get_int("fault_min_s", g.fault_min_s);
    g.fault_max_s = d.get_int("fault_max_s", g.fault_max_s);
    // A comma-separated string keeps the settings reader's types simple: "cpu,delay,loss".
    const std::string f = d.get_string("faults", "cpu,delay,loss");
    g.faults.clear();
    for (size_t a = 0; a <= f.size();) {
      size_t b = f.find(',', a);
      if (b == std::string::npos) b = f.size();
      g.faults.push_back(f.substr(a, b - a));
      a = b + 1;
    }
    for (const std::string& x : g.faults)
      AD_CHECK(x == "cpu" || x == "delay" || x == "loss" || x == "memory" || x == "kill", p, "data.faults: unknown fault \"",
               x, "\" (known: cpu, delay, loss, memory, kill)");
    g.base_rate = d.get_number("base_rate", g.base_rate);
    g.seed = s.seed;
    AD_CHECK(g.seconds >= 100 && g.seconds <= 10000000, p, "data.seconds: must be in [100, 1e7], got ", g.seconds);
    AD_CHECK(g.window >= 2 && g.window <= 1000, p, "data.window: must be in [2, 1000], got ", g.window);
    AD_CHECK(g.stride >= 1 && g.stride <= g.window * 10, p, "data.stride: must be in [1, 10 windows], got ",
             g.stride);
    AD_CHECK(g.train_fraction > 0.1 && g.train_fraction < 0.95, p, "data.train_fraction: must be in (0.1, 0.95)");
    AD_CHECK(g.anomaly_ratio > 0 && g.anomaly_ratio < 1, p, "data.anomaly_ratio: must be in (0, 1), got ",
             g.anomaly_ratio);
    AD_CHECK(g.fault_min_s >= 1 && g.fault_max_s >= g.fault_min_s, p,
             ": data.fault_max_s: must be >= fault_min_s >= 1");
    AD_CHECK(g.base_rate > 0, p, "data.base_rate: must be > 0");
  }
  s.validation_fraction = d.get_number("validation_fraction", s.validation_fraction);
  AD_CHECK(s.validation_fraction > 0 && s.validation_fraction < 0.5, p,
           ": data.validation_fraction: must be in (0, 0.5), got ", s.validation_fraction);

  SettingsReader m = r.section("model");
  NetworkConfig& n = s.net;
  // Checked before they narrow to int (2^32 + 64 must not become 64).
  n.hidden = int(m.get_int_in("hidden", n.hidden, 1, 4096));
  n.heads = int(m.get_int_in("heads", n.heads, 1, 64));
  n.negative_slope = m.get_number("negative_slope", n.negative_slope);
  n.sum_fusion = m.get_choice("fusion", "concat", {"concat", "sum"}) == "sum";
  n.variance = m.get_choice("variance", "logvar", {"logvar", "official"}) == "official" ? VarianceForm::OfficialMuad
                                                                                          : VarianceForm::LogVar;
  n.sigmoid_mu = m.get_bool("sigmoid_mu", n.sigmoid_mu);
  n.sigmoid_variance = m.get_bool("sigmoid_variance", n.variance == VarianceForm::OfficialMuad);
  n.train_fused_confidence = m.get_bool("train_fused_confidence", n.train_fused_confidence);
  n.lambda_conf = m.get_number("lambda_conf", n.lambda_conf);
  n.lambda_kl = m.get_number("lambda_kl", n.lambda_kl);
  AD_CHECK(n.hidden >= 1 && n.hidden <= 4096, p, "model.hidden: must be in [1, 4096], got ", n.hidden);
  AD_CHECK(n.heads >= 1 && n.heads <= 64, p, "model.heads: must be in [1, 64], got ", n.heads);
  AD_CHECK(n.negative_slope >= 0 && n.negative_slope < 1, p, "model.negative_slope: must be in [0, 1)");
  AD_CHECK(n.lambda_conf >= 0 && n.lambda_kl >= 0, p, "model.lambda_conf/lambda_kl: must be >= 0");
  AD_CHECK(n.variance == VarianceForm::LogVar || n.sigmoid_variance, p,
           "model.sigmoid_variance: \"variance\": \"official\" takes sqrt(v), which needs the sigmoid (v > 0)");

  SettingsReader t = r.section("training");
  s.epochs = t.get_int("epochs", s.epochs);
  s.batch_size = t.get_int("batch_size", s.batch_size);
  s.learning_rate = t.get_number("learning_rate", s.learning_rate);
  s.min_steps = t.get_int("min_steps", s.min_steps);
  s.threshold = t.get_choice("threshold", s.threshold, {"argmax", "validation"});
  AD_CHECK(s.epochs >= 1 && s.epochs <= 100000, p, "training.epochs: must be in [1, 1e5], got ", s.epochs);
  AD_CHECK(s.batch_size >= 1 && s.batch_size <= 100000, p, "training.batch_size: must be in [1, 1e5]");
  AD_CHECK(s.learning_rate > 0 && s.learning_rate < 10, p, "training.learning_rate: must be in (0, 10)");
  AD_CHECK(s.min_steps >= 0 && s.min_steps <= 10000000, p, "training.min_steps: must be in [0, 1e7], got ",
           s.min_steps);

  SettingsReader a = r.section("active");
  s.mode = a.get_choice("mode", s.mode, {"active", "full"});
  s.query = a.get_choice("query", s.query, {"entropy", "random"});
  s.initial_fraction = a.get_number("initial_fraction", s.initial_fraction);
  s.query_size = a.get_int("query_size", s.query_size);
  s.label_budget = a.get_int("label_budget", s.label_budget);
  s.passes = a.get_int("passes", s.passes);
  s.pseudo_threshold = a.get_number("pseudo_threshold", s.pseudo_threshold);
  s.pseudo_labels = a.get_bool("pseudo_labels", s.pseudo_labels);
  s.warm_start = a.get_bool("warm_start", s.warm_start);
  AD_CHECK(s.initial_fraction > 0 && s.initial_fraction <= 1, p, "active.initial_fraction: must be in (0, 1]");
  AD_CHECK(s.query_size >= 1, p, "active.query_size: must be >= 1, got ", s.query_size);
  AD_CHECK(s.label_budget >= 1, p, "active.label_budget: must be >= 1, got ", s.label_budget);
  AD_CHECK(s.passes >= 1 && s.passes <= 1000, p, "active.passes: must be in [1, 1000]");
  AD_CHECK(s.pseudo_threshold > 0 && s.pseudo_threshold <= 1, p, "active.pseudo_threshold: must be in (0, 1]");
  r.finish();
  s.resolved = r.resolved();
  return s;
}

// ---- batches ------------------------------------------------------------------------------------------
Batch make_batch(const ChunkSet& d, const std::vector<int64_t>& rows, const std::vector<int>* labels) {
  const int64_t B = int64_t(rows.size()), S = d.services, T = d.steps, M = d.metric_channels, L = d.log_templates;
  Batch b;
  b.size = B;
  b.metrics = Tensor::empty({T, B * S, M});
  b.traces = Tensor::empty({T, B * S, 1});
  b.logs = Tensor::empty({B * S, L});
  float* m = b.metrics.data<float>();
  float* tr = b.traces.data<float>();
  float* lg = b.logs.data<float>();
  for (int64_t i = 0; i < B; ++i) {
    const int64_t k = rows[size_t(i)];
    for (int64_t s = 0; s < S; ++s) {
      const int64_t node = i * S + s;
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t c = 0; c < M; ++c) m[(t * B * S + node) * M + c] = d.metrics[size_t(((k * S + s) * T + t) * M + c)];
        tr[t * B * S + node] = d.traces[size_t((k * S + s) * T + t)];
      }
      for (int64_t l = 0; l < L; ++l) lg[node * L + l] = d.logs[size_t((k * S + s) * L + l)];
    }
    if (labels) b.y.push_back((*labels)[size_t(i)]);
  }
  return b;
}

namespace {

struct Context {
  const Settings& s;
  const ChunkSet& d;
  const ServiceGraph& graph;
  Device device;  // where the networks, their batches and batch graphs live
  std::map<int64_t, BatchGraph> graphs;
  uint64_t offset = 0;  // Philox counter: every sampled forward takes fresh draws
  const BatchGraph& graph_for(int64_t B) {
    auto it = graphs.find(B);
    if (it == graphs.end()) it = graphs.emplace(B, BatchGraph::build(d.services, graph.edges, B).to(device)).first;
    return it->second;
  }
  uint64_t take(int64_t B) {
    const uint64_t o = offset;
    offset += uint64_t(3 * B * s.net.hidden);
    return o;
  }
};

// Forward over `rows` in batches (no loss).
Output predict(Context& cx, Network& net, const std::vector<int64_t>& rows, bool sample) {
  Output all;
  for (size_t a = 0; a < rows.size(); a += size_t(cx.s.batch_size)) {
    std::vector<int64_t> part(rows.begin() + long(a), rows.begin() + long(std::min(rows.size(), a + cx.s.batch_size)));
    Batch b = make_batch(cx.d, part, nullptr);
    Output o = net.forward(b, cx.graph_for(b.size), sample, cx.s.seed, cx.take(b.size), false);
    all.prob_anomalous.insert(all.prob_anomalous.end(), o.prob_anomalous.begin(), o.prob_anomalous.end());
    all.fused_confidence.insert(all.fused_confidence.end(), o.fused_confidence.begin(), o.fused_confidence.end());
    all.predicted.insert(all.predicted.end(), o.predicted.begin(), o.predicted.end());
  }
  return all;
}

std::vector<int> labels_of(const ChunkSet& d, const std::vector<int64_t>& rows) {
  std::vector<int> y;
  for (int64_t k : rows) y.push_back(d.label[size_t(k)]);
  return y;
}

struct Trained {
  std::unique_ptr<Network> net;
  int best_epoch = 0, epochs = 0;
  double val_f1 = -1;
  double threshold = 0.5;  // anomalous when P(anomalous) >= threshold ("argmax": the logits' argmax instead)
  std::vector<int> classify(const Output& o) const {
    if (!use_threshold) return o.predicted;
    std::vector<int> pred;
    for (float p : o.prob_anomalous) pred.push_back(p >= threshold ? 1 : 0);
    return pred;
  }
  bool use_threshold = false;
};

// Epochs for a round on n training windows: `epochs`, or more where that gives fewer than min_steps steps.
int epochs_for(const Settings& s, size_t n) {
  const int64_t per_epoch = (int64_t(n) + s.batch_size - 1) / s.batch_size;
  return int(std::max<int64_t>(s.epochs, (s.min_steps + per_epoch - 1) / std::max<int64_t>(per_epoch, 1)));
}

// Trains on (rows, y) a fresh network, or `warm` (the previous round's) when given; the epoch with the best
// validation F1 is kept (ties: the earlier), with its threshold when thresholds are chosen on validation.
Trained train(Context& cx, const std::vector<int64_t>& rows, const std::vector<int>& y,
              const std::vector<int64_t>& val, int round, std::unique_ptr<Network> warm) {
  NetworkConfig cfg = cx.s.net;
  cfg.seed = cx.s.seed * 1000003ULL + uint64_t(round) * 7919ULL;
  Trained t;
  const bool fresh = !warm;
  t.net = warm ? std::move(warm) : std::make_unique<Network>(cfg);
  if (fresh) t.net->to(cx.device);  // before the optimizer adopts the parameters into its flat buffers
  t.use_threshold = cx.s.threshold == "validation";
  std::vector<Parameter*> params = t.net->parameters();
  AdamOptions ao;
  ao.lr = cx.s.learning_rate;
  Adam opt(params, ao);
  std::mt19937_64 gen(cfg.seed ^ 0x5eedULL);
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  const std::vector<int> yval = labels_of(cx.d, val);
  std::vector<Tensor> best;
  t.epochs = epochs_for(cx.s, rows.size());
  size_t steps_since_check = 0;
  for (int epoch = 1; epoch <= t.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), gen);
    for (size_t a = 0; a < order.size(); a += size_t(cx.s.batch_size)) {
      std::vector<int64_t> part;
      std::vector<int> py;
      for (size_t k = a; k < std::min(order.size(), a + size_t(cx.s.batch_size)); ++k) {
        part.push_back(rows[order[k]]);
        py.push_back(y[order[k]]);
      }
      Batch b = make_batch(cx.d, part, &py);
      opt.zero_grad();
      t.net->forward(b, cx.graph_for(b.size), true, cx.s.seed, cx.take(b.size), true, /*read_back=*/false);
      t.net->backward();
      opt.step();
    }
    // Small labelled sets run many short epochs: validate once at least 10 steps have passed (and last).
    steps_since_check += (order.size() + size_t(cx.s.batch_size) - 1) / size_t(cx.s.batch_size);
    if (steps_since_check < 10 && epoch < t.epochs) continue;
    steps_since_check = 0;
    const Output o = predict(cx, *t.net, val, false);
    double f1 = 0, threshold = 0.5;
    if (t.use_threshold) {
      const BestF1 b = best_f1_threshold(std::vector<double>(o.prob_anomalous.begin(), o.prob_anomalous.end()), yval);
      f1 = b.prf.f1;
      threshold = b.threshold;
    } else {
      f1 = prf(o.predicted, yval).f1;
    }
    if (f1 > t.val_f1) {
      t.val_f1 = f1;
      t.threshold = threshold;
      t.best_epoch = epoch;
      best.clear();
      for (Parameter* p : params) best.push_back(p->value.clone());
    }
  }
  for (size_t i = 0; i < params.size(); ++i) params[i]->value.copy_from(best[i]);
  return t;
}

}  // namespace

// ---- the loop ---------------------------------------------------------------------------------------------
RunResult run(const Settings& s, std::ostream& log) {
  const Device device = choose_device(s.device, s.path + ": device");  // before any work
  RunResult res;
  ServiceGraph graph;
  if (s.data_kind == "folder") {
    graph = read_service_graph(s.data_dir);
    res.data = read_chunks(s.data_dir, graph);
  } else {
    graph = read_service_graph(s.graph_dir);
    res.data = generate_chunks(s.generator, graph);
  }
  ChunkSet& d = res.data;
  Settings st = s;
  st.net.services = d.services;
  st.net.steps = d.steps;
  st.net.metric_channels = d.metric_channels;
  st.net.log_templates = d.log_templates;

  // Splits: training windows by start time; the latest validation_fraction of them validate, and pool
  // windows that overlap the first validation window in time are dropped (no shared seconds).
  std::vector<int64_t> train_rows, test_rows;
  for (int64_t k = 0; k < d.size(); ++k) (d.split[size_t(k)] == 0 ? train_rows : test_rows).push_back(k);
  AD_CHECK(!train_rows.empty() && !test_rows.empty(), s.path.c_str(), "data: needs training and test windows, got ",
           train_rows.size(), " and ", test_rows.size());
  std::stable_sort(train_rows.begin(), train_rows.end(),
                   [&](int64_t a, int64_t b) { return d.start_s[size_t(a)] < d.start_s[size_t(b)]; });
  const size_t nval = std::max<size_t>(1, size_t(double(train_rows.size()) * s.validation_fraction));
  std::vector<int64_t> val(train_rows.end() - long(nval), train_rows.end()), pool_all;
  const double val_start = d.start_s[size_t(val.front())];
  for (size_t i = 0; i + nval < train_rows.size(); ++i)
    if (d.start_s[size_t(train_rows[i])] + double(d.steps) <= val_start) pool_all.push_back(train_rows[i]);
  AD_CHECK(!pool_all.empty(), s.path.c_str(), "data: no training windows left before the validation block");
  standardise(d, train_rows);
  res.train_windows = int64_t(pool_all.size());
  res.validation_windows = int64_t(val.size());
  res.test_windows = int64_t(test_rows.size());
  res.test_rows = test_rows;
  const std::vector<int> ytest = labels_of(d, test_rows), yval = labels_of(d, val);
  const double pos = double(std::count(ytest.begin(), ytest.end(), 1)) / double(ytest.size());
  res.test_positive_ratio = pos;
  res.trivial_f1 = pos > 0 ? 2 * pos / (1 + pos) : 0.0;
  log << "data: " << pool_all.size() << " training (pool) windows, " << val.size() << " validation, "
      << test_rows.size() << " test; test anomaly ratio " << pos << ", trivial all-anomalous F1 " << res.trivial_f1
      << "\n";

  std::mt19937_64 gen(s.seed ^ 0xa11ce);
  std::vector<int64_t> labelled, pool = pool_all, pseudo_rows;
  std::vector<int> pseudo_y;
  if (s.mode == "full") {
    labelled = pool_all;
    pool.clear();
  } else {
    AD_CHECK(s.label_budget <= int64_t(pool_all.size()), s.path.c_str(), "active.label_budget: ", s.label_budget,
             " is larger than the pool (", pool_all.size(), " training windows)");
    std::shuffle(pool.begin(), pool.end(), gen);
    const size_t n0 = std::max<size_t>(1, size_t(double(pool_all.size()) * s.initial_fraction));
    AD_CHECK(int64_t(n0) <= s.label_budget, s.path.c_str(), "active.label_budget: ", s.label_budget,
             " is below the initial labelled set (", n0, " = initial_fraction of the pool)");
    labelled.assign(pool.begin(), pool.begin() + long(n0));
    pool.erase(pool.begin(), pool.begin() + long(n0));
  }
  Context cx{st, d, graph, device, {}, 0};
  std::unique_ptr<Network> previous;
  for (int round = 1;; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<int64_t> rows = labelled;
    std::vector<int> y = labels_of(d, labelled);
    rows.insert(rows.end(), pseudo_rows.begin(), pseudo_rows.end());
    y.insert(y.end(), pseudo_y.begin(), pseudo_y.end());
    Trained tr = train(cx, rows, y, val, round, s.warm_start ? std::move(previous) : nullptr);
    Output test = predict(cx, *tr.net, test_rows, false);
    const std::vector<int> test_pred = tr.classify(test);
    const PRF pt = prf(test_pred, ytest);
    RoundResult rr;
    rr.round = round;
    rr.labels = int64_t(labelled.size());
    rr.pseudo = int64_t(pseudo_rows.size());
    for (size_t i = 0; i < pseudo_rows.size(); ++i) rr.pseudo_wrong += pseudo_y[i] != d.label[size_t(pseudo_rows[i])];
    rr.train_size = int64_t(rows.size());
    rr.best_epoch = tr.best_epoch;
    rr.epochs = tr.epochs;
    rr.threshold = tr.use_threshold ? tr.threshold : 0.5;
    res.test_scores.assign(test.prob_anomalous.begin(), test.prob_anomalous.end());
    const bool both_classes = std::count(ytest.begin(), ytest.end(), 1) > 0 && std::count(ytest.begin(), ytest.end(), 0) > 0;
    rr.test_auc = both_classes ? roc_auc(res.test_scores, ytest) : 0.0;
    rr.val_f1 = tr.val_f1;
    rr.test_f1 = pt.f1;
    rr.test_precision = pt.precision;
    rr.test_recall = pt.recall;
    res.test_pred = test_pred;
    const bool last = s.mode == "full" || int64_t(labelled.size()) >= s.label_budget || pool.empty();
    // Pseudo-labels and queries for the next round, from this round's model.
    if (!last) {
      Output mean = predict(cx, *tr.net, pool, false);
      const std::vector<int> mean_pred = tr.classify(mean);
      std::vector<double> score(pool.size(), 0.0);
      if (s.query == "entropy") {
        for (int64_t pass = 0; pass < s.passes; ++pass) {
          Output o = predict(cx, *tr.net, pool, true);
          for (size_t i = 0; i < pool.size(); ++i) {
            const double p1 = o.prob_anomalous[i], p0 = 1 - p1;
            score[i] -= (p0 * std::log(p0 + 1e-8) + p1 * std::log(p1 + 1e-8)) / double(s.passes);
          }
        }
      } else {
        std::uniform_real_distribution<double> u(0, 1);
        for (double& v : score) v = u(gen);
      }
      std::vector<char> confident(pool.size(), 0);
      if (s.pseudo_labels)
        for (size_t i = 0; i < pool.size(); ++i) confident[i] = mean.fused_confidence[i] > s.pseudo_threshold;
      std::vector<size_t> idx;
      for (size_t i = 0; i < pool.size(); ++i)
        if (!confident[i]) idx.push_back(i);
      std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
      const size_t q = size_t(std::min<int64_t>({s.query_size, s.label_budget - int64_t(labelled.size()),
                                                  int64_t(idx.size())}));
      std::vector<char> taken(pool.size(), 0);
      for (size_t k = 0; k < q; ++k) {
        labelled.push_back(pool[idx[k]]);
        taken[idx[k]] = 1;
      }
      std::vector<int64_t> rest;
      for (size_t i = 0; i < pool.size(); ++i) {
        if (confident[i]) {
          pseudo_rows.push_back(pool[i]);
          pseudo_y.push_back(mean_pred[i]);
        } else if (!taken[i]) {
          rest.push_back(pool[i]);
        }
      }
      pool = rest;
    }
    if (s.warm_start) previous = std::move(tr.net);
    rr.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.rounds.push_back(rr);
    char line[400];
    std::snprintf(line, sizeof line,
                  "round %d: labels %lld, pseudo-labels %lld (%lld wrong), trained on %lld, best epoch %d of %d, "
                  "threshold %.3f, val F1 %.4f, test F1 %.4f (P %.4f R %.4f; trivial all-anomalous F1 %.4f), "
                  "test ROC-AUC %.3f, %.1f s",
                  rr.round, (long long)rr.labels, (long long)rr.pseudo, (long long)rr.pseudo_wrong,
                  (long long)rr.train_size, rr.best_epoch, rr.epochs, rr.threshold, rr.val_f1, rr.test_f1,
                  rr.test_precision, rr.test_recall, res.trivial_f1, rr.test_auc, rr.seconds);
    log << line << "\n" << std::flush;
    if (last) break;
  }
  return res;
}

void write_results(const std::string& dir, const Settings& s, const RunResult& r) {
  nlohmann::json rounds = nlohmann::json::array();
  for (const RoundResult& x : r.rounds)
    rounds.push_back({{"round", x.round}, {"labels", x.labels}, {"pseudo_labels", x.pseudo},
                      {"pseudo_labels_wrong", x.pseudo_wrong}, {"train_size", x.train_size},
                      {"best_epoch", x.best_epoch}, {"epochs", x.epochs}, {"threshold", x.threshold},
                      {"test_roc_auc", x.test_auc}, {"val_f1", x.val_f1}, {"test_f1", x.test_f1},
                      {"test_precision", x.test_precision}, {"test_recall", x.test_recall}, {"seconds", x.seconds}});
  const RoundResult& f = r.rounds.back();
  nlohmann::json m = {{"mode", s.mode},
                      {"query", s.query},
                      {"rounds", rounds},
                      {"final", {{"labels", f.labels}, {"test_f1", f.test_f1}, {"val_f1", f.val_f1}}},
                      {"trivial_all_anomalous_f1", r.trivial_f1},
                      {"test_positive_ratio", r.test_positive_ratio},
                      {"windows", {{"pool", r.train_windows}, {"validation", r.validation_windows},
                                   {"test", r.test_windows}}}};
  write_text_atomic(dir + "/metrics.json", m.dump(2));
  std::vector<std::string> ids;
  std::vector<std::vector<double>> cols(4);
  for (size_t i = 0; i < r.test_rows.size(); ++i) {
    const int64_t k = r.test_rows[i];
    ids.push_back(std::to_string(k));
    cols[0].push_back(r.data.start_s[size_t(k)]);
    cols[1].push_back(r.data.label[size_t(k)]);
    cols[2].push_back(r.test_scores[i]);
    cols[3].push_back(r.test_pred[i]);
  }
  write_csv_atomic(dir + "/scores.csv", {"chunk", "start_s", "label", "score", "predicted"}, ids, cols, 8);
}

}  // namespace ad::muad
