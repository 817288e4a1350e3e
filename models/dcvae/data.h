// DC-VAE data pipeline: read a multivariate series (CSV, first column a timestamp), validate it,
// mask outliers, scale, and cut stride-1 windows of length T.
#pragma once
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace ad::dcvae {

struct Series {
  std::string path;
  std::vector<std::string> timestamps;
  std::vector<std::string> channels;  // column names after the timestamp
  std::vector<float> values;          // row-major [rows, channels]
  int64_t rows() const { return int64_t(timestamps.size()); }
  int64_t width() const { return int64_t(channels.size()); }
  float at(int64_t r, int64_t c) const { return values[size_t(r * width() + c)]; }
};

// Reads the CSV; error if it has no rows, a non-finite value, or a channel count other than `m`
// (m <= 0 skips that check).
Series read_series(const std::string& path, int64_t m);
// Reads a label CSV (0/1 per channel) and checks it matches `data` row by row (same timestamps).
Series read_labels(const std::string& path, const Series& data);

// Outlier masking as in the original: values with |x - mean| > max_std * std (std with ddof 1) are
// replaced by the previous valid value (forward fill), leading ones by the next (back fill).
// mean/std are per channel and given, so the caller chooses whose statistics to use.
struct ChannelStats {
  std::vector<double> mean, std;
};
ChannelStats channel_stats(const Series& s, int ddof);
// Returns how many values were masked per channel.
std::vector<int64_t> mask_outliers(Series& s, const ChannelStats& stats, double max_std);

// Standard scaler (ddof 0), fitted on train and reused for alpha and test.
struct Scaler {
  std::vector<double> mean, scale;
  static Scaler fit(const Series& s);
  void apply(Series& s) const;
  double invert(double v, int64_t c) const { return v * scale[size_t(c)] + mean[size_t(c)]; }
};

// Windows [B, T, M] starting at rows starts[i] (a window covers rows start .. start+T-1).
Tensor gather_windows(const Series& s, const std::vector<int64_t>& starts, int64_t T);

}  // namespace ad::dcvae
