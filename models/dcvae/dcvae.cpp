#include "models/dcvae/dcvae.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kernels/accumulate.h"
#include "layers/optimizer.h"
#include "models/dcvae/data.h"
#include "models/dcvae/graphed_step.h"
#include "models/dcvae/network.h"
#include "models/dcvae/report.h"
#include "runtime/csv.h"
#include "runtime/cuda_context.h"
#include "runtime/fs_util.h"
#include "runtime/json.h"
#include "runtime/progress.h"
#include "runtime/safetensors.h"
#include "runtime/staging.h"

namespace ad::dcvae {

using json = nlohmann::json;

namespace {

const char* kPreprocessing = "preprocessing.json";
const char* kCheckpoint = "checkpoint.safetensors";
const char* kAlphas = "alphas.json";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// What the train stage learned about the data, reused by alpha and test.
struct Preprocessing {
  std::vector<std::string> channels;
  ChannelStats outlier_stats;  // train mean/std (ddof 1) used for masking
  Scaler scaler;
  json to_json() const {
    return {{"channels", channels},
            {"outlier_mean", outlier_stats.mean},
            {"outlier_std", outlier_stats.std},
            {"scaler_mean", scaler.mean},
            {"scaler_scale", scaler.scale}};
  }
  static Preprocessing load(const std::string& run_dir) {
    std::string path = run_dir + "/" + kPreprocessing;
    AD_CHECK(std::filesystem::exists(path), "dcvae", "no ", kPreprocessing, " in ", run_dir,
             ": run the train stage first (or pass --run with a trained run folder)");
    json j = read_json_file(path, "dcvae");
    Preprocessing p;
    try {
      p.channels = j.at("channels").get<std::vector<std::string>>();
      p.outlier_stats.mean = j.at("outlier_mean").get<std::vector<double>>();
      p.outlier_stats.std = j.at("outlier_std").get<std::vector<double>>();
      p.scaler.mean = j.at("scaler_mean").get<std::vector<double>>();
      p.scaler.scale = j.at("scaler_scale").get<std::vector<double>>();
    } catch (const json::exception& e) {
      AD_FAIL("dcvae", path, ": ", e.what());
    }
    // Every list is indexed per channel downstream: a short one would be read past its end.
    const size_t m = p.channels.size();
    for (const auto& [key, v] : {std::pair{"outlier_mean", &p.outlier_stats.mean}, {"outlier_std", &p.outlier_stats.std},
                                 {"scaler_mean", &p.scaler.mean}, {"scaler_scale", &p.scaler.scale}}) {
      AD_CHECK(v->size() == m, "dcvae", path, ": ", key, ": ", v->size(), " values for ", m, " channels");
      for (double x : *v) AD_CHECK(std::isfinite(x), "dcvae", path, ": ", key, ": non-finite value");
    }
    for (size_t c = 0; c < m; ++c)
      AD_CHECK(p.scaler.scale[c] > 0, "dcvae", path, ": scaler_scale: ", p.scaler.scale[c], " for channel \"",
               p.channels[c], "\" (must be > 0)");
    return p;
  }
};

// Masks (only when outlier_stats asks for it: scored values are scored as they are by default) and scales
// a non-train file.
void prepare(const Settings& s, const Preprocessing& p, Series& x, std::ostream& log) {
  AD_CHECK(x.channels == p.channels, "dcvae", x.path, ": channel names differ from the training file's");
  if (s.wo_outliers && s.outlier_stats != "none") {
    ChannelStats st = s.outlier_stats == "train" ? p.outlier_stats : channel_stats(x, 1);
    auto changed = mask_outliers(x, st, s.max_std);
    log << "  masking changed " << std::accumulate(changed.begin(), changed.end(), int64_t(0)) << " values in "
        << x.path << " (" << s.outlier_stats << " statistics)\n";
  }
  if (s.scale) p.scaler.apply(x);
}

std::vector<int64_t> range(int64_t begin, int64_t end) {
  std::vector<int64_t> v;
  for (int64_t i = begin; i < end; ++i) v.push_back(i);
  return v;
}

// Parameters and BatchNorm statistics under their names, as saved in the checkpoint.
std::vector<std::pair<std::string, Tensor*>> named_state(Network& net) {
  std::vector<std::pair<std::string, Tensor*>> out;
  for (Parameter* p : net.parameters()) out.emplace_back(p->name, &p->value);
  net.collect_buffers("", out);
  return out;
}

void load_checkpoint(Network& net, const std::string& run_dir) {
  std::string path = run_dir + "/" + kCheckpoint;
  AD_CHECK(std::filesystem::exists(path), "dcvae", "no ", kCheckpoint, " in ", run_dir, ": run the train stage first");
  auto tensors = load_safetensors(path);
  for (auto& [name, t] : named_state(net)) {
    auto it = tensors.find(name);
    AD_CHECK(it != tensors.end(), "dcvae", path, " has no tensor \"", name, "\" (settings differ from training?)");
    AD_CHECK(it->second.shape() == t->shape(), "dcvae", path, ": \"", name, "\" is ", it->second.describe(),
             ", the network expects ", t->describe());
    for (double v : it->second.to_vector())  // NaN weights would flag nothing and exit 0
      AD_CHECK(std::isfinite(v), "dcvae", path, ": \"", name, "\" holds NaN or inf (training diverged?)");
    t->copy_from(it->second.device() == t->device() ? it->second : it->second.to(t->device()));
  }
}

// An epoch's summed loss terms, accumulated on the training device (no host synchronisation per step) and
// read once, at the end of the epoch. Same arithmetic as summing LossParts on the host: the same bits.
struct EpochLoss {
  double total = 0, reconstruction = 0, kl = 0;
  int64_t batches = 0;
  Tensor sums;  // f64 [3] on the device: reconstruction, KL, total

  explicit EpochLoss(Tensor device_sums) : sums(std::move(device_sums)) { sums.zero_(); }
  void add(const Network& net, const Tensor& xb, const Outputs& o) {
    accumulate_terms(net.loss_terms(xb, o), net.loss_term_scale(xb), sums, /*with_total=*/true);
    ++batches;
  }
  void read() {  // the logging interval's one host synchronisation
    std::vector<double> v = sums.to_vector();
    reconstruction = v[0];
    kl = v[1];
    total = v[2];
  }
  double mean() const { return batches ? total / double(batches) : NAN; }
};

}  // namespace

Reconstruction reconstruct(const Settings& s, Network& net, const Series& x, Device device, std::ostream& log,
                           const std::vector<int64_t>* window_starts) {
  const int64_t T = s.T, M = s.M, J = s.J;
  AD_CHECK(x.rows() >= T, "dcvae", x.path, " has ", x.rows(), " rows, fewer than the window T = ", T);
  const std::vector<int64_t> all = window_starts ? std::vector<int64_t>{} : range(0, x.rows() - T + 1);
  const std::vector<int64_t>& starts = window_starts ? *window_starts : all;
  Reconstruction r;
  r.rows = int64_t(starts.size());
  r.channels = M;
  r.latent_dim = J;
  r.x.resize(size_t(r.rows * M));
  r.mu.resize(size_t(r.rows * M));
  r.sigma.resize(size_t(r.rows * M));
  r.latent.resize(size_t(r.rows * J));
  PhiloxStream rng(uint64_t(s.seed) + 7919);
  const int64_t batch = 256;
  ProgressBar bar("  inference " + std::filesystem::path(x.path).filename().string(), r.rows, log);
  for (int64_t b0 = 0; b0 < r.rows; b0 += batch) {
    int64_t nb = std::min(batch, r.rows - b0);
    Tensor xb = gather_windows(x, std::vector<int64_t>(starts.begin() + b0, starts.begin() + b0 + nb), T);
    Outputs o = net.forward(device == Device::CPU ? xb : xb.to(device), false, s.inference_sampling, rng);
    Tensor mu = o.x_mean.to(Device::CPU), lv = o.x_log_var.to(Device::CPU);
    Tensor z = (s.inference_sampling ? o.z : o.z_mean).to(Device::CPU);
    for (int64_t i = 0; i < nb; ++i) {
      int64_t last = (i * T + T - 1);
      for (int64_t c = 0; c < M; ++c) {
        size_t k = size_t((b0 + i) * M + c);
        r.x[k] = xb.data<float>()[last * M + c];
        r.mu[k] = mu.data<float>()[last * M + c];
        r.sigma[k] = std::exp(0.5f * lv.data<float>()[last * M + c]);  // the original's threshold sigma
      }
      for (int64_t j = 0; j < J; ++j) r.latent[size_t((b0 + i) * J + j)] = z.data<float>()[last * J + j];
    }
    bar.update(b0 + nb);
  }
  bar.finish();
  return r;
}

namespace {

std::vector<int> last_step_labels(const Series& labels, int64_t T) {
  std::vector<int> v;
  for (int64_t r = T - 1; r < labels.rows(); ++r)
    for (int64_t c = 0; c < labels.width(); ++c) v.push_back(int(labels.at(r, c)));
  return v;
}

void write_matrix_csv(const std::string& path, const std::vector<std::string>& stamps, const std::vector<std::string>& names,
                      const std::vector<float>& values, int64_t width) {
  std::vector<std::vector<double>> cols(size_t(width), std::vector<double>(stamps.size()));
  for (size_t r = 0; r < stamps.size(); ++r)
    for (int64_t c = 0; c < width; ++c) cols[size_t(c)][r] = values[r * size_t(width) + size_t(c)];
  std::vector<std::string> header{"timestamp"};
  header.insert(header.end(), names.begin(), names.end());
  write_csv_atomic(path, header, stamps, cols, 7);
}

}  // namespace

TrainReport fit_network(const Settings& s, Device device, const Series& x, WindowSplit windows, Network& net,
                        std::ostream& log, History* history) {
  AD_CHECK(!windows.train.empty(), "dcvae", x.path, ": no training window of length T = ", s.T, " in ", x.rows(),
           " rows");
  std::vector<int64_t>& train_starts = windows.train;
  const std::vector<int64_t>& val_starts = windows.val;
  const int64_t T = s.T;
  std::vector<Parameter*> params = net.parameters();
  AdamOptions ao;
  ao.lr = s.lr;
  ao.beta1 = 0.9;
  ao.beta2 = 0.999;
  ao.eps = s.adam_epsilon;
  Adam adam(params, ao);
  BatchUploader uploader(device);  // pinned, asynchronous batch copies
  // The loss sums stay at one address for the whole run (a captured step accumulates into it).
  Tensor train_sums = Tensor::zeros({3}, DType::F64, device), val_sums = Tensor::zeros({3}, DType::F64, device);
  std::unique_ptr<GraphedTrainStep> graphed;
  if (s.cuda_graphs && device != Device::CPU) graphed = std::make_unique<GraphedTrainStep>(net, adam, device);
  PhiloxStream rng(uint64_t(s.seed));
  std::mt19937_64 shuffle_gen(uint64_t(s.seed));

  std::vector<Tensor> best_state;
  TrainReport rep;
  double best_val = INFINITY, stop_best = INFINITY;
  int64_t wait = 0, step = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t epoch = 1; epoch <= s.epochs; ++epoch) {
    auto te = std::chrono::steady_clock::now();
    std::shuffle(train_starts.begin(), train_starts.end(), shuffle_gen);
    EpochLoss tr(train_sums), va(val_sums);
    int64_t nbatches = (int64_t(train_starts.size()) + s.batch_size - 1) / s.batch_size;
    ProgressBar bar("  epoch " + std::to_string(epoch), nbatches, log);
    for (int64_t b = 0; b < nbatches; ++b) {
      auto first = train_starts.begin() + b * s.batch_size;
      std::vector<int64_t> starts(first, first + std::min<int64_t>(s.batch_size, int64_t(train_starts.size()) - b * s.batch_size));
      Tensor host_batch = gather_windows(x, starts, T);
      if (s.lr_decay) adam.set_lr(s.lr * std::pow(s.decay_rate, double(step / s.decay_step)));  // staircase
      if (graphed) graphed->step(host_batch, rng, tr.sums);
      else train_step(net, adam, uploader.upload(host_batch), rng, tr.sums);
      ++tr.batches;
      ++step;
      bar.update(b + 1);
    }
    tr.read();
    AD_CHECK(std::isfinite(tr.total), "dcvae", "training loss became ", tr.total, " during epoch ", epoch,
             " (try a smaller lr)");
    std::ostringstream extra;
    extra << "loss " << std::setprecision(4) << tr.mean();
    bar.update(nbatches, extra.str());
    bar.finish();
    for (size_t b0 = 0; s.early_stopping && b0 < val_starts.size(); b0 += size_t(s.batch_size)) {
      std::vector<int64_t> starts(val_starts.begin() + long(b0),
                                  val_starts.begin() + long(std::min(val_starts.size(), b0 + size_t(s.batch_size))));
      Tensor xb = uploader.upload(gather_windows(x, starts, T));
      // Keras validates with BN in inference mode; its Sampling layer samples z in every mode.
      Outputs o = net.forward(xb, false, true, rng);
      va.add(net, xb, o);
    }
    if (va.batches > 0) va.read();
    double val = val_starts.empty() || !s.early_stopping ? tr.mean() : va.mean();
    double secs = seconds_since(te), total = seconds_since(t0);
    if (history) {
      history->epoch.push_back(epoch);
      history->loss.push_back(tr.mean());
      history->reconstruction.push_back(tr.reconstruction / double(tr.batches));
      history->kl.push_back(tr.kl / double(tr.batches));
      history->val_loss.push_back(s.early_stopping ? val : NAN);
      history->seconds.push_back(secs);
    }
    rep.last_loss = tr.mean();
    rep.epochs_run = epoch;
    if (!s.early_stopping) {  // a fixed epoch count: the last weights are the model
      rep.best_epoch = epoch;
      log << "epoch " << epoch << "/" << s.epochs << "  loss " << std::fixed << std::setprecision(4) << tr.mean()
          << "  " << std::setprecision(1) << secs << "s" << std::defaultfloat << "\n";
      continue;
    }
    bool improved = val < best_val;  // ModelCheckpoint(save_best_only): any improvement
    if (improved) {
      best_val = val;
      rep.best_epoch = epoch;
      best_state.clear();
      for (auto& [name, t] : named_state(net)) best_state.push_back(t->clone());
    }
    log << "epoch " << epoch << "/" << s.epochs << "  loss " << std::fixed << std::setprecision(4) << tr.mean()
        << " (rec " << tr.reconstruction / double(tr.batches) << ", kl " << tr.kl / double(tr.batches) << ")  val "
        << val << (improved ? " *" : "  ") << "  " << std::setprecision(1) << secs << "s  ETA<= "
        << format_duration(total / double(epoch) * double(s.epochs - epoch)) << std::defaultfloat << "\n";
    // EarlyStopping(min_delta=0.01, patience=5): an improvement must beat the best by min_delta.
    if (val < stop_best - s.early_stopping_min_delta) {
      stop_best = val;
      wait = 0;
    } else if (++wait >= s.early_stopping_patience) {
      log << "  early stopping: no validation improvement of " << s.early_stopping_min_delta << " for "
          << s.early_stopping_patience << " epochs\n";
      break;
    }
  }
  rep.best_val_loss = s.early_stopping ? best_val : NAN;
  rep.seconds = seconds_since(t0);
  if (!best_state.empty()) {
    auto named = named_state(net);
    for (size_t i = 0; i < named.size(); ++i) named[i].second->copy_from(best_state[i]);
  }
  return rep;
}

TrainReport train_stage(const Settings& s, Device device, const std::string& run_dir, std::ostream& log) {
  AD_CHECK(!s.train_data.empty(), "dcvae", "settings have no data.train file");
  Series x = read_series(s.train_data, s.M);
  Preprocessing p;
  p.channels = x.channels;
  if (s.wo_outliers) {
    p.outlier_stats = channel_stats(x, 1);
    auto changed = mask_outliers(x, p.outlier_stats, s.max_std);
    log << "  masking changed " << std::accumulate(changed.begin(), changed.end(), int64_t(0))
        << " training values (|z| > " << s.max_std << ")\n";
  }
  if (s.scale) {
    p.scaler = Scaler::fit(x);
    p.scaler.apply(x);
  } else {
    p.scaler.mean.assign(size_t(s.M), 0.0);
    p.scaler.scale.assign(size_t(s.M), 1.0);
  }
  write_text_atomic(run_dir + "/" + kPreprocessing, p.to_json().dump(2));

  WindowSplit windows = split_windows(x.rows(), s.T, s.val_percent, s.validation_split);
  AD_CHECK(!windows.train.empty(), "dcvae", s.train_data, ": no training window of length T = ", s.T);
  log << "  " << x.rows() << " rows x " << s.M << " channels; " << windows.train.size() << " training windows, "
      << windows.val.size() << " validation windows (last " << s.val_percent * 100 << "% of "
      << s.validation_split << ")\n";

  Network net(s, device);
  if (s.summary) log << net.summary();
  History history;
  TrainReport rep = fit_network(s, device, x, windows, net, log, &history);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, t] : named_state(net)) tensors.emplace_back(name, *t);
  save_safetensors(run_dir + "/" + kCheckpoint, tensors,
                   {{"model", "dc-vae"}, {"settings", s.resolved.dump()}, {"best_epoch", std::to_string(rep.best_epoch)}});
  std::vector<std::string> epochs;
  for (int64_t e : history.epoch) epochs.push_back(std::to_string(e));
  write_csv_atomic(run_dir + "/history.csv", {"epoch", "loss", "reconstruction", "kl", "val_loss", "seconds"}, epochs,
                   {history.loss, history.reconstruction, history.kl, history.val_loss, history.seconds}, 8);
  log << "  best epoch " << rep.best_epoch << " (val loss " << std::setprecision(6) << rep.best_val_loss << "), "
      << format_duration(rep.seconds) << " in total\n";
  return rep;
}

std::vector<ChannelScore> alpha_stage(const Settings& s, Device device, const std::string& run_dir, std::ostream& log) {
  AD_CHECK(!s.alpha_data.empty() && !s.alpha_labels.empty(), "dcvae",
           "settings need data.alpha and data.alpha_labels for the alpha stage");
  Preprocessing p = Preprocessing::load(run_dir);
  Series x = read_series(s.alpha_data, s.M);
  Series labels = read_labels(s.alpha_labels, x);
  prepare(s, p, x, log);
  Network net(s, device);
  load_checkpoint(net, run_dir);
  Reconstruction r = reconstruct(s, net, x, device, log);
  std::vector<ChannelScore> sc =
      select_alphas(r, last_step_labels(labels, s.T), s.custom_metrics, s.max_alpha, s.min_alpha);
  json j = {{"criterion", s.custom_metrics ? "range-based F1 (prts alpha 0, reciprocal, front)" : "point-wise F1"},
            {"file", s.alpha_data},
            {"channels", channel_scores_json(x.channels, sc)}};
  write_text_atomic(run_dir + "/" + kAlphas, j.dump(2));
  return sc;
}

StageReport test_stage(const Settings& s, Device device, const std::string& run_dir, std::ostream& log) {
  AD_CHECK(!s.test_data.empty(), "dcvae", "settings need data.test for the test stage");
  Preprocessing p = Preprocessing::load(run_dir);
  std::string alphas_path = run_dir + "/" + kAlphas;
  AD_CHECK(std::filesystem::exists(alphas_path), "dcvae", "no ", kAlphas, " in ", run_dir, ": run the alpha stage first");
  json aj = read_json_file(alphas_path, "dcvae");
  std::vector<double> up, down;
  try {
    for (const json& c : aj.at("channels")) {
      up.push_back(c.at("alpha_up").get<double>());
      down.push_back(c.at("alpha_down").get<double>());
      AD_CHECK(up.back() >= 0 && down.back() >= 0, "dcvae", alphas_path, ": channel ", up.size() - 1,
               ": alphas must be finite and >= 0");
    }
  } catch (const json::exception& e) {
    AD_FAIL("dcvae", alphas_path, ": ", e.what());
  }
  AD_CHECK(up.size() == p.channels.size(), "dcvae", alphas_path, ": ", up.size(), " channels, the run has ",
           p.channels.size());
  Series x = read_series(s.test_data, s.M);
  std::vector<int> labels, system_labels;
  if (!s.test_labels.empty()) labels = last_step_labels(read_labels(s.test_labels, x), s.T);
  if (!s.test_system_labels.empty()) {
    system_labels = read_system_labels(s.test_system_labels, x);
    system_labels.erase(system_labels.begin(), system_labels.begin() + (s.T - 1));  // scored rows: T-1 .. N-1
  }
  prepare(s, p, x, log);
  Network net(s, device);
  load_checkpoint(net, run_dir);
  Reconstruction r = reconstruct(s, net, x, device, log);
  StageReport rep;
  rep.channels = evaluate(r, labels, up, down);

  std::vector<std::string> stamps(x.timestamps.begin() + (s.T - 1), x.timestamps.end());
  std::vector<int> flags = flag_all(r, up, down);
  std::vector<float> flag_values(flags.begin(), flags.end()), err(r.x.size());
  for (size_t k = 0; k < r.x.size(); ++k) err[k] = std::abs(r.x[k] - r.mu[k]);
  write_matrix_csv(run_dir + "/test_predictions.csv", stamps, x.channels, flag_values, r.channels);
  write_matrix_csv(run_dir + "/test_scores.csv", stamps, x.channels, err, r.channels);
  write_matrix_csv(run_dir + "/test_reconstruction.csv", stamps, x.channels, r.mu, r.channels);
  write_matrix_csv(run_dir + "/test_sigma.csv", stamps, x.channels, r.sigma, r.channels);
  write_matrix_csv(run_dir + "/test_scaled_values.csv", stamps, x.channels, r.x, r.channels);
  std::vector<std::string> zn;
  for (int64_t j = 0; j < r.latent_dim; ++j) zn.push_back("z" + std::to_string(j));
  write_matrix_csv(run_dir + "/test_latent.csv", stamps, zn, r.latent, r.latent_dim);

  rep.rows = summary_rows(flags, r.rows, r.channels, labels, system_labels);
  json m = {{"file", s.test_data},
            {"labels", s.test_labels},
            {"system_labels", s.test_system_labels},
            {"channels", channel_scores_json(x.channels, rep.channels)},
            {"summary", summary_json(rep.rows)}};
  write_text_atomic(run_dir + "/metrics.json", m.dump(2));
  return rep;
}

std::string channel_table(const std::vector<std::string>& channels, const std::vector<ChannelScore>& scores) {
  std::ostringstream os;
  os << std::left << std::setw(12) << "channel" << std::right << std::setw(6) << "a_up" << std::setw(7) << "a_down"
     << std::setw(9) << "P_range" << std::setw(9) << "R_range" << std::setw(9) << "F1_range" << std::setw(9) << "P_point"
     << std::setw(9) << "R_point" << std::setw(9) << "F1_point" << std::setw(8) << "flagged" << std::setw(8) << "labels"
     << "\n";
  os << std::fixed << std::setprecision(3);
  for (size_t c = 0; c < scores.size(); ++c) {
    const ChannelScore& s = scores[c];
    os << std::left << std::setw(12) << channels[c].substr(0, 11) << std::right << std::setprecision(2)
       << std::setw(6) << s.alpha_up << std::setw(7) << s.alpha_down << std::setprecision(3) << std::setw(9) << s.precision << std::setw(9) << s.recall << std::setw(9) << s.f1
       << std::setw(9) << s.point_precision << std::setw(9) << s.point_recall << std::setw(9) << s.point_f1
       << std::setw(8) << s.flagged << std::setw(8) << s.labelled << (s.note.empty() ? "" : "  " + s.note) << "\n";
  }
  return os.str();
}

}  // namespace ad::dcvae
