#include "models/deepsphere/deepsphere.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <sstream>

#if defined(__x86_64__) || defined(__i386__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

#include "runtime/cuda_context.h"
#include "runtime/fs_util.h"
#include "runtime/metrics.h"
#include "runtime/npy.h"
#include "runtime/philox.h"
#include "runtime/progress.h"
#include "runtime/safetensors.h"

namespace ad::deepsphere {

namespace {
// Denormal floats (gradients and Adam moments that shrink towards 0 on inputs that are almost always 0, as
// in sparse call-count matrices) make x86 arithmetic, OpenBLAS's GEMM included, tens of times slower: a
// 300-epoch call-graph run slowed down ten-fold after 100 epochs. Flush them to zero (FTZ/DAZ) on this thread
// and the OpenMP threads, for the CPU path (PyTorch's torch.set_flush_denormal(True) does the same).
void flush_denormals_to_zero() {
#if defined(__x86_64__) || defined(__i386__)
  auto set = [] {
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
  };
  set();
#pragma omp parallel
  set();
#endif
}

NetworkConfig network_config(const Settings& s, const Dataset& d) {
  NetworkConfig c;
  c.steps = d.T;
  c.dim = d.D();
  c.hidden = s.hidden;
  c.gamma = s.gamma;
  c.lambda = s.lambda;
  c.radius_init = s.radius_init;
  c.hypersphere = s.hypersphere;
  c.weight_form = parse_hypersphere_weight(s.weight_form);
  c.seed = s.seed;
  return c;
}
Tensor on(const Tensor& host, Device d) { return d == Device::CPU ? host : host.to(d); }
}  // namespace

Trainer::Trainer(const Settings& s, const Dataset& train, Device device) : s_(s), device_(device) {
  if (s.flush_denormals) flush_denormals_to_zero();
  net_ = std::make_unique<Network>(network_config(s, train), device);
  AdamOptions o;
  o.lr = s.learning_rate;
  adam_ = std::make_unique<Adam>(net_->parameters(), o);
  x_host_ = to_time_major(train.cases);
  x_dev_ = on(x_host_, device);
}

// Bernoulli(keep) mask scaled by 1/keep (tf.nn.dropout), drawn from Philox so runs repeat on any device:
// element k uses output k % 4 of counter offset + k / 4.
Tensor Trainer::with_dropout(const Tensor& host_x) {
  if (s_.keep_prob >= 1.0) return on(host_x, device_);
  if (!dropout_buffer_.defined() || dropout_buffer_.shape() != host_x.shape())
    dropout_buffer_ = Tensor::empty(host_x.shape());
  Tensor& out = dropout_buffer_;  // reused: the encoder keeps its input only until the next forward
  const float* x = host_x.data<float>();
  float* o = out.data<float>();
  const int64_t n = host_x.numel();
  const uint64_t offset = dropout_offset_;
  dropout_offset_ += uint64_t(n + 3) / 4;
  const float keep = float(s_.keep_prob), inv = 1.0f / keep;
  for (int64_t base = 0; base < n; base += 4) {
    const Philox4 r = philox4x32_10(s_.seed, offset + uint64_t(base / 4));
    for (int64_t k = base; k < std::min(base + 4, n); ++k)
      o[k] = philox_u32_to_unit(r.v[k - base]) < keep ? x[k] * inv : 0.0f;
  }
  return on(out, device_);
}

ForwardResult Trainer::epoch() {
  ForwardResult r = net_->forward(x_dev_, with_dropout(x_host_));
  net_->backward();
  adam_->step();
  ++epochs_done_;
  return r;
}

ForwardResult Trainer::score(const Tensor& cases) {
  Tensor host = to_time_major(cases);
  Tensor x = on(host, device_);
  return net_->forward(x, s_.dropout_at_test ? with_dropout(host) : x);
}

CaseDecision decide_cases(const Settings& s, const ForwardResult& test, const ForwardResult& train) {
  CaseDecision d;
  const size_t C = test.d2.size();
  d.distance.resize(C);
  d.score.resize(C);
  d.predicted.resize(C);
  const double R = std::abs(test.radius);
  for (size_t c = 0; c < C; ++c) d.distance[c] = std::sqrt(std::max(test.d2[c], 0.0));
  if (s.hypersphere) {
    d.threshold = R * s.tolerance;  // d - R > R tol  <=>  d > R (1 + tol)
    for (size_t c = 0; c < C; ++c) {
      d.score[c] = d.distance[c] - R;
      d.predicted[c] = d.distance[c] > R * (1.0 + s.tolerance);
    }
  } else {
    std::vector<double> sorted = train.rec;
    std::sort(sorted.begin(), sorted.end());
    const double pos = s.ae_quantile * double(sorted.size() - 1);
    const size_t lo = size_t(std::floor(pos)), hi = std::min(lo + 1, sorted.size() - 1);
    d.threshold = sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
    for (size_t c = 0; c < C; ++c) {
      d.score[c] = test.rec[c];
      d.predicted[c] = test.rec[c] > d.threshold;
    }
  }
  return d;
}

NestedResult nested_anomalies(const Tensor& residual, const std::vector<int>& predicted, double k) {
  const int64_t C = residual.size(0), T = residual.size(1), N = residual.size(2), per_case = T * N * N;
  const float* r = residual.data<float>();
  const bool any_normal = std::find(predicted.begin(), predicted.end(), 0) != predicted.end();
  double sum = 0, sq = 0;
  int64_t n = 0;
  for (int64_t c = 0; c < C; ++c) {
    if (any_normal && predicted[size_t(c)]) continue;
    for (int64_t e = 0; e < per_case; ++e) {
      const double a = std::abs(r[c * per_case + e]);
      sum += a, sq += a * a, ++n;
    }
  }
  const double mean = sum / double(n), sd = std::sqrt(std::max(sq / double(n) - mean * mean, 0.0));
  NestedResult out;
  out.cutoff = mean + k * sd;
  for (int64_t c = 0; c < C; ++c) {
    if (!predicted[size_t(c)]) continue;
    for (int64_t e = 0; e < per_case; ++e) {
      const double v = r[c * per_case + e];
      if (std::abs(v) > out.cutoff) out.flagged.push_back({c, e / (N * N), (e / N) % N, e % N, v, 0.0});
    }
  }
  std::stable_sort(out.flagged.begin(), out.flagged.end(),
                   [](const NestedEntry& a, const NestedEntry& b) { return std::abs(a.residual) > std::abs(b.residual); });
  return out;
}

namespace {
double elapsed_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

nlohmann::json prf_json(const PRF& p) {
  return {{"precision", p.precision}, {"recall", p.recall}, {"f1", p.f1}, {"tp", p.tp}, {"fp", p.fp}, {"fn", p.fn}};
}

// Dense injected deviations [C, T, N, N] (0 where none).
std::vector<float> dense_deviations(const Dataset& d) {
  std::vector<float> dev(size_t(d.cases.numel()), 0.0f);
  for (const Deviation& v : d.deviations) dev[size_t(((v.c * d.T + v.t) * d.N + v.i) * d.N + v.j)] = float(v.value);
  return dev;
}

std::string node_name(const Dataset& d, int64_t i) {
  return d.node_names.empty() ? std::to_string(i) : d.node_names[size_t(i)];
}
}  // namespace

nlohmann::json run(const Settings& s, const Dataset& train, const Dataset& test, Device device,
                   const std::string& run_dir, std::ostream& log) {
  AD_CHECK(train.T == test.T && train.N == test.N, "deepsphere", "train cases are (T ", train.T, ", N ", train.N,
           ") but test cases (T ", test.T, ", N ", test.N, ")");
  const char* model_name = s.hypersphere ? "deepsphere" : "lstm_ae";
  log << model_name << ": train " << train.C << " cases, test " << test.C << " cases, T " << train.T << ", N "
      << train.N << " (D " << train.D() << "), hidden " << s.hidden << ", " << s.epochs << " full-batch epochs\n";
  Trainer trainer(s, train, device);
  std::ofstream train_log(run_dir + "/train_log.csv");
  train_log << "epoch,loss,radius_term,residue_term,distance_term,recon_term,radius,inside_fraction,train_accuracy\n";
  const auto t0 = std::chrono::steady_clock::now();
  ForwardResult last;
  for (int64_t e = 0; e < s.epochs; ++e) {
    last = trainer.epoch();
    AD_CHECK(std::isfinite(last.loss), "deepsphere", "epoch ", e, ": the loss is not finite (", last.loss, ")");
    const double R = std::abs(last.radius);
    int64_t inside = 0, correct = 0;
    for (size_t c = 0; c < last.d2.size(); ++c) {
      const bool normal = std::sqrt(last.d2[c]) <= R * (1 + s.tolerance);
      inside += normal;
      if (!train.labels.empty()) correct += (train.labels[c] == 0) == normal;
    }
    const double inside_frac = double(inside) / double(last.d2.size());
    const double acc = train.labels.empty() ? NAN : double(correct) / double(last.d2.size());
    train_log << e << "," << last.loss << "," << last.loss_radius << "," << last.loss_residue << ","
              << last.loss_distance << "," << last.loss_recon << "," << last.radius << "," << inside_frac << ","
              << acc << "\n";
    // A line every progress_every epochs (the original prints every 10), with the time left.
    if ((e + 1) % s.progress_every == 0 || e + 1 == s.epochs) {
      const double spent = elapsed_since(t0);
      log << std::setprecision(5) << "epoch " << e + 1 << "/" << s.epochs << "  loss " << last.loss << "  R "
          << last.radius << "  inside " << inside_frac;
      if (!train.labels.empty()) log << "  train_acc " << acc;
      log << "  " << format_duration(spent) << " elapsed, " << format_duration(spent / double(e + 1) * double(s.epochs - e - 1))
          << " left\n";
    }
  }
  const double train_seconds = elapsed_since(t0);

  ForwardResult train_scored = trainer.score(train.cases);
  ForwardResult scored = trainer.score(test.cases);
  CaseDecision dec = decide_cases(s, scored, train_scored);
  Tensor x_hat = from_time_major(scored.x_hat, test.N);
  Tensor residual = Tensor::empty(test.cases.shape());
  {
    const float* x = test.cases.data<float>();
    const float* xh = x_hat.data<float>();
    float* r = residual.data<float>();
    for (int64_t k = 0; k < residual.numel(); ++k) r[k] = x[k] - xh[k];
  }

  nlohmann::json m;
  m["model"] = model_name;
  m["mode"] = s.mode;
  m["device"] = device == Device::CUDA ? "cuda" : "cpu";
  m["train"] = {{"cases", train.C},           {"epochs", s.epochs},
                {"seconds", train_seconds},   {"seconds_per_epoch", s.epochs ? train_seconds / double(s.epochs) : 0.0},
                {"final_loss", last.loss},    {"radius", scored.radius}};
  m["test"] = {{"cases", test.C}, {"T", test.T}, {"N", test.N}};
  m["case"]["threshold"] = dec.threshold;
  m["case"]["predicted_anomalies"] = std::accumulate(dec.predicted.begin(), dec.predicted.end(), 0);

  // Case level, with trivial baselines: everything anomalous, and the distance to the mean training case.
  if (!test.labels.empty()) {
    const int positives = std::accumulate(test.labels.begin(), test.labels.end(), 0);
    PRF p = prf(dec.predicted, test.labels);
    int64_t correct = 0;
    for (size_t c = 0; c < dec.predicted.size(); ++c) correct += dec.predicted[c] == test.labels[c];
    m["case"]["accuracy"] = double(correct) / double(test.C);
    m["case"]["prf"] = prf_json(p);
    const bool both = positives > 0 && positives < test.C;
    if (both) {
      m["case"]["auc"] = roc_auc(dec.score, test.labels);
      m["case"]["best_f1"] = best_f1_threshold(dec.score, test.labels).prf.f1;
    }
    std::vector<int> all(size_t(test.C), 1);
    nlohmann::json base;
    base["all_anomalous_f1"] = prf(all, test.labels).f1;
    base["majority_accuracy"] = double(std::max<int64_t>(positives, test.C - positives)) / double(test.C);
    if (both) {
      const int64_t per_case = test.T * test.D();
      std::vector<double> mean(size_t(per_case), 0.0), dist(size_t(test.C), 0.0);
      const float* xt = train.cases.data<float>();
      for (int64_t c = 0; c < train.C; ++c)
        for (int64_t e = 0; e < per_case; ++e) mean[size_t(e)] += xt[c * per_case + e] / double(train.C);
      const float* xs = test.cases.data<float>();
      for (int64_t c = 0; c < test.C; ++c)
        for (int64_t e = 0; e < per_case; ++e) {
          const double v = xs[c * per_case + e] - mean[size_t(e)];
          dist[size_t(c)] += v * v;
        }
      base["distance_to_mean_case_auc"] = roc_auc(dist, test.labels);
      base["distance_to_mean_case_best_f1"] = best_f1_threshold(dist, test.labels).prf.f1;
    }
    m["case"]["baselines"] = base;
  }

  // Nested anomalies.
  NestedResult nested = nested_anomalies(residual, dec.predicted, s.nested_k);
  std::vector<float> dev;
  if (!test.deviations.empty()) {
    dev = dense_deviations(test);
    for (NestedEntry& e : nested.flagged)
      e.injected = dev[size_t(((e.c * test.T + e.t) * test.N + e.i) * test.N + e.j)];
  }
  m["nested"]["rule"] = {{"k_sigma", s.nested_k}, {"cutoff", nested.cutoff}, {"flagged", nested.flagged.size()}};
  if (!dev.empty()) {
    const float* r = residual.data<float>();
    const int64_t n = residual.numel();
    double se = 0, se_zero = 0;
    const size_t entries = static_cast<size_t>(n);
    std::vector<double> abs_r(entries), abs_base(entries);
    std::vector<int> injected(entries);
    // Baseline entry score: |x - the training mean of that entry over cases and steps|.
    const int64_t D = test.D();
    std::vector<double> entry_mean(size_t(D), 0.0);
    const float* xt = train.cases.data<float>();
    for (int64_t k = 0; k < train.cases.numel(); ++k) entry_mean[size_t(k % D)] += xt[k] / double(train.C * train.T);
    const float* xs = test.cases.data<float>();
    for (int64_t k = 0; k < n; ++k) {
      se += (double(r[k]) - dev[size_t(k)]) * (double(r[k]) - dev[size_t(k)]);
      se_zero += double(dev[size_t(k)]) * dev[size_t(k)];
      abs_r[size_t(k)] = std::abs(r[k]);
      abs_base[size_t(k)] = std::abs(xs[k] - entry_mean[size_t(k % D)]);
      injected[size_t(k)] = dev[size_t(k)] != 0.0f;
    }
    m["nested"]["rmse"] = std::sqrt(se / double(n));
    m["nested"]["rmse_baseline_zero"] = std::sqrt(se_zero / double(n));
    m["nested"]["entry_auc"] = roc_auc(abs_r, injected);
    m["nested"]["entry_auc_baseline_entry_mean"] = roc_auc(abs_base, injected);
    std::vector<int> flagged(size_t(n), 0);
    for (const NestedEntry& e : nested.flagged) flagged[size_t(((e.c * test.T + e.t) * test.N + e.i) * test.N + e.j)] = 1;
    m["nested"]["rule"]["prf"] = prf_json(prf(flagged, injected));
    m["nested"]["injected_entries"] = std::accumulate(injected.begin(), injected.end(), int64_t(0));
  }

  // Files.
  {
    std::ostringstream os;
    os << std::setprecision(9) << "case,distance,score,predicted" << (test.labels.empty() ? "" : ",label") << "\n";
    for (int64_t c = 0; c < test.C; ++c) {
      os << c << "," << dec.distance[size_t(c)] << "," << dec.score[size_t(c)] << "," << dec.predicted[size_t(c)];
      if (!test.labels.empty()) os << "," << test.labels[size_t(c)];
      os << "\n";
    }
    write_text_atomic(run_dir + "/case_scores.csv", os.str());
  }
  {
    std::ostringstream os;
    os << std::setprecision(7) << "case,t,i,j,residual,injected,source,target\n";
    const size_t rows = std::min(nested.flagged.size(), size_t(s.nested_max_rows));
    for (size_t k = 0; k < rows; ++k) {
      const NestedEntry& e = nested.flagged[k];
      os << e.c << "," << e.t << "," << e.i << "," << e.j << "," << e.residual << "," << e.injected << ","
         << node_name(test, e.i) << "," << node_name(test, e.j) << "\n";
    }
    write_text_atomic(run_dir + "/nested_anomalies.csv", os.str());
  }
  {
    int64_t top = 0;
    for (int64_t c = 1; c < test.C; ++c)
      if (dec.score[size_t(c)] > dec.score[size_t(top)]) top = c;
    m["top_case"] = top;
    save_npy(run_dir + "/top_case_residual.npy", residual.narrow0(top, 1).view({test.T, test.N, test.N}).clone());
    save_npy(run_dir + "/top_case_input.npy", test.cases.narrow0(top, 1).view({test.T, test.N, test.N}).clone());
    if (!test.node_names.empty()) write_text_atomic(run_dir + "/nodes.json", nlohmann::json(test.node_names).dump());
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (Parameter* p : trainer.network().parameters()) tensors.push_back({p->name, p->value});
  save_safetensors(run_dir + "/checkpoint.safetensors", tensors, {{"model", model_name}});
  write_text_atomic(run_dir + "/metrics.json", m.dump(2));
  return m;
}

}  // namespace ad::deepsphere
