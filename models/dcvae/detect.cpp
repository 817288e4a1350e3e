#include "models/dcvae/detect.h"

#include <numeric>

#include "runtime/error.h"

namespace ad::dcvae {

namespace {
std::vector<int> column(const std::vector<int>& m, int64_t rows, int64_t channels, int64_t c) {
  std::vector<int> v(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) v[size_t(r)] = m[size_t(r * channels + c)];
  return v;
}
}  // namespace

std::vector<int> flag_channel(const Reconstruction& r, int64_t c, double alpha_up, double alpha_down) {
  std::vector<int> f(static_cast<size_t>(r.rows));
  for (int64_t i = 0; i < r.rows; ++i) {
    size_t k = size_t(i * r.channels + c);
    float lo = r.mu[k] - float(alpha_down) * r.sigma[k], hi = r.mu[k] + float(alpha_up) * r.sigma[k];
    f[size_t(i)] = (r.x[k] < lo || r.x[k] > hi) ? 1 : 0;
  }
  return f;
}

ChannelScore score_channel(const std::vector<int>& flags, const std::vector<int>& labels) {
  ChannelScore s;
  s.labelled = std::accumulate(labels.begin(), labels.end(), int64_t(0));
  s.flagged = std::accumulate(flags.begin(), flags.end(), int64_t(0));
  PRF p = prf(flags, labels);
  s.point_precision = p.precision;
  s.point_recall = p.recall;
  s.point_f1 = p.f1;
  if (s.flagged > 0 && s.labelled > 0) {
    s.precision = range_precision(labels, flags, 0.0, Cardinality::Reciprocal, PositionalBias::Front);
    s.recall = range_recall(labels, flags, 0.0, Cardinality::Reciprocal, PositionalBias::Front);
    s.f1 = 2 * s.precision * s.recall / (s.precision + s.recall + 1e-6);
  }
  return s;
}

std::vector<ChannelScore> select_alphas(const Reconstruction& r, const std::vector<int>& labels, bool custom_metrics,
                                        int64_t max_alpha, int64_t min_alpha) {
  AD_CHECK(int64_t(labels.size()) == r.rows * r.channels, "select_alphas", labels.size(), " labels for ", r.rows,
           " rows x ", r.channels, " channels");
  std::vector<ChannelScore> best(size_t(r.channels));
  for (int64_t c = 0; c < r.channels; ++c) {
    std::vector<int> lab = column(labels, r.rows, r.channels, c);
    ChannelScore& b = best[size_t(c)];
    if (std::accumulate(lab.begin(), lab.end(), 0) == 0) {
      // The original asserts here (prts needs a real anomaly); we report it and keep the defaults.
      b = score_channel(flag_channel(r, c, double(max_alpha), double(max_alpha)), lab);
      b.alpha_up = b.alpha_down = double(max_alpha);
      b.note = "no labelled anomaly: alphas kept at " + std::to_string(max_alpha);
      continue;
    }
    double best_f1 = 0;
    b.alpha_up = b.alpha_down = double(max_alpha);
    for (int64_t up = max_alpha; up >= min_alpha; --up)
      for (int64_t down = max_alpha; down >= min_alpha; --down) {
        ChannelScore s = score_channel(flag_channel(r, c, double(up), double(down)), lab);
        double f1 = custom_metrics ? s.f1 : s.point_f1;
        if (f1 >= best_f1) {
          best_f1 = f1;
          b = s;
          b.alpha_up = double(up);
          b.alpha_down = double(down);
        }
      }
  }
  return best;
}

std::vector<ChannelScore> evaluate(const Reconstruction& r, const std::vector<int>& labels,
                                   const std::vector<double>& alpha_up, const std::vector<double>& alpha_down) {
  AD_CHECK(int64_t(alpha_up.size()) == r.channels && int64_t(alpha_down.size()) == r.channels, "evaluate",
           "need one alpha pair per channel (", r.channels, "), got ", alpha_up.size());
  std::vector<ChannelScore> out(size_t(r.channels));
  for (int64_t c = 0; c < r.channels; ++c) {
    std::vector<int> flags = flag_channel(r, c, alpha_up[size_t(c)], alpha_down[size_t(c)]);
    std::vector<int> lab = labels.empty() ? std::vector<int>(flags.size(), 0) : column(labels, r.rows, r.channels, c);
    out[size_t(c)] = score_channel(flags, lab);
    out[size_t(c)].alpha_up = alpha_up[size_t(c)];
    out[size_t(c)].alpha_down = alpha_down[size_t(c)];
    if (!labels.empty() && out[size_t(c)].labelled == 0) out[size_t(c)].note = "no labelled anomaly";
  }
  return out;
}

std::vector<int> flag_all(const Reconstruction& r, const std::vector<double>& alpha_up,
                          const std::vector<double>& alpha_down) {
  AD_CHECK(int64_t(alpha_up.size()) == r.channels && int64_t(alpha_down.size()) == r.channels, "flag_all",
           "need one alpha pair per channel (", r.channels, "), got ", alpha_up.size());
  std::vector<int> flags(size_t(r.rows * r.channels));
  for (int64_t c = 0; c < r.channels; ++c) {
    std::vector<int> f = flag_channel(r, c, alpha_up[size_t(c)], alpha_down[size_t(c)]);
    for (int64_t i = 0; i < r.rows; ++i) flags[size_t(i * r.channels + c)] = f[size_t(i)];
  }
  return flags;
}

}  // namespace ad::dcvae
