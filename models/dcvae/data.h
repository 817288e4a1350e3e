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

// One 0/1 label per step (e.g. SKAB's labels_*_system.csv: timestamp,label,changepoint): the column named
// "label" when there is one, else the only numeric column; timestamps must match `data` row by row.
std::vector<int> read_system_labels(const std::string& path, const Series& data);

// Rows first..last (inclusive) of a series, and two series' rows one after the other (same channels).
Series slice_rows(const Series& s, int64_t first, int64_t last);
Series concat_rows(const Series& a, const Series& b);

// Outlier masking as in the original: values with |x - mean| > max_std * std (std with ddof 1) are
// replaced by the previous valid value (forward fill), leading ones by the next (back fill).
// mean/std are per channel and given, so the caller chooses whose statistics to use.
struct ChannelStats {
  std::vector<double> mean, std;
};
ChannelStats channel_stats(const Series& s, int ddof);
// Returns, per channel, how many values it changed (a flagged value filled with an equal value, or a
// channel whose every value is flagged, changes nothing and is not counted).
std::vector<int64_t> mask_outliers(Series& s, const ChannelStats& stats, double max_std);

// Standard scaler (ddof 0), fitted on train and reused for alpha and test.
struct Scaler {
  std::vector<double> mean, scale;
  static Scaler fit(const Series& s);
  void apply(Series& s) const;
  double invert(double v, int64_t c) const { return v * scale[size_t(c)] + mean[size_t(c)]; }
};

// Window starts (a window covers rows start .. start+T-1) for training and validation on `rows` rows:
//   "rows":    the last val_percent of the rows are validation; windows lie wholly on one side (the original);
//   "windows": every window, the last val_percent of them (in time order) held out, as Keras'
//              validation_split does (SKAB's Conv-AE): validation windows share rows with training windows.
struct WindowSplit {
  std::vector<int64_t> train, val;
};
WindowSplit split_windows(int64_t rows, int64_t T, double val_percent, const std::string& mode);

// Windows [B, T, M] starting at rows starts[i] (a window covers rows start .. start+T-1).
Tensor gather_windows(const Series& s, const std::vector<int64_t>& starts, int64_t T);

}  // namespace ad::dcvae
