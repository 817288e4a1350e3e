#include "models/dcvae/data.h"

#include <algorithm>
#include <cmath>

#include "runtime/csv.h"

namespace ad::dcvae {

namespace {
Series from_table(const std::string& path, CsvTable&& t) {
  Series s;
  s.path = path;
  s.timestamps = std::move(t.first_column);
  s.channels.assign(t.header.begin() + 1, t.header.end());
  AD_CHECK(!s.timestamps.empty(), "read_series", path, ": no data rows");
  s.values.resize(size_t(s.rows() * s.width()));
  for (int64_t c = 0; c < s.width(); ++c)
    for (int64_t r = 0; r < s.rows(); ++r) s.values[size_t(r * s.width() + c)] = float(t.columns[size_t(c)][size_t(r)]);
  return s;
}
}  // namespace

Series read_series(const std::string& path, int64_t m) {
  Series s = from_table(path, read_csv(path));  // read_csv rejects NaN/inf cells, ragged rows, text
  AD_CHECK(m <= 0 || s.width() == m, "read_series", path, " has ", s.width(), " channels but the settings say M = ",
           m);
  return s;
}

Series read_labels(const std::string& path, const Series& data) {
  Series l = from_table(path, read_csv(path));
  AD_CHECK(l.width() == data.width(), "read_labels", path, " has ", l.width(), " label columns, data ", data.path,
           " has ", data.width(), " channels");
  AD_CHECK(l.rows() == data.rows(), "read_labels", path, " has ", l.rows(), " rows, data ", data.path, " has ",
           data.rows());
  for (int64_t r = 0; r < l.rows(); ++r)
    AD_CHECK(l.timestamps[size_t(r)] == data.timestamps[size_t(r)], "read_labels", path, " line ", r + 2,
             ": timestamp \"", l.timestamps[size_t(r)], "\" differs from \"", data.timestamps[size_t(r)], "\" in ",
             data.path);
  for (size_t i = 0; i < l.values.size(); ++i) {
    float v = l.values[i];
    AD_CHECK(v == 0.f || v == 1.f, "read_labels", path, " line ", i / size_t(l.width()) + 2, ", column \"",
             l.channels[i % size_t(l.width())], "\": label must be 0 or 1, got ", v);
  }
  return l;
}

std::vector<int> read_system_labels(const std::string& path, const Series& data) {
  CsvTable t = read_csv(path);
  AD_CHECK(t.numeric_columns() >= 1, "read_system_labels", path, ": no label column");
  size_t col = 0;
  bool named = std::find(t.header.begin() + 1, t.header.end(), "label") != t.header.end();
  if (named)
    col = t.column_index("label");
  else
    AD_CHECK(t.numeric_columns() == 1, "read_system_labels", path, ": no column named \"label\" and ",
             t.numeric_columns(), " numeric columns (need one)");
  AD_CHECK(int64_t(t.rows()) == data.rows(), "read_system_labels", path, " has ", t.rows(), " rows, data ", data.path,
           " has ", data.rows());
  std::vector<int> out(t.rows());
  for (size_t r = 0; r < t.rows(); ++r) {
    AD_CHECK(t.first_column[r] == data.timestamps[r], "read_system_labels", path, " line ", r + 2, ": timestamp \"",
             t.first_column[r], "\" differs from \"", data.timestamps[r], "\" in ", data.path);
    double v = t.columns[col][r];
    AD_CHECK(v == 0 || v == 1, "read_system_labels", path, " line ", r + 2, ", column \"", t.header[col + 1],
             "\": label must be 0 or 1, got ", v);
    out[r] = int(v);
  }
  return out;
}

Series slice_rows(const Series& s, int64_t first, int64_t last) {
  AD_CHECK(first >= 0 && first <= last && last < s.rows(), "slice_rows", s.path, ": rows ", first, "..", last,
           " outside 0..", s.rows() - 1);
  Series out;
  out.path = s.path;
  out.channels = s.channels;
  out.timestamps.assign(s.timestamps.begin() + first, s.timestamps.begin() + last + 1);
  out.values.assign(s.values.begin() + first * s.width(), s.values.begin() + (last + 1) * s.width());
  return out;
}

Series concat_rows(const Series& a, const Series& b) {
  AD_CHECK(a.channels == b.channels, "concat_rows", a.path, " and ", b.path, " have different channels");
  Series out = a;
  out.timestamps.insert(out.timestamps.end(), b.timestamps.begin(), b.timestamps.end());
  out.values.insert(out.values.end(), b.values.begin(), b.values.end());
  return out;
}

ChannelStats channel_stats(const Series& s, int ddof) {
  ChannelStats st;
  int64_t n = s.rows();
  for (int64_t c = 0; c < s.width(); ++c) {
    double m = 0, v = 0;
    for (int64_t r = 0; r < n; ++r) m += s.at(r, c);
    m /= double(n);
    for (int64_t r = 0; r < n; ++r) v += (s.at(r, c) - m) * (s.at(r, c) - m);
    v = n - ddof > 0 ? v / double(n - ddof) : 0.0;
    st.mean.push_back(m);
    st.std.push_back(std::sqrt(v));
  }
  return st;
}

std::vector<int64_t> mask_outliers(Series& s, const ChannelStats& stats, double max_std) {
  std::vector<int64_t> changed(size_t(s.width()), 0);
  for (int64_t c = 0; c < s.width(); ++c) {
    double m = stats.mean[size_t(c)], sd = stats.std[size_t(c)];
    std::vector<bool> bad(size_t(s.rows()));
    int64_t flagged = 0;
    for (int64_t r = 0; r < s.rows(); ++r) {
      bad[size_t(r)] = sd > 0 && std::abs(s.at(r, c) - m) > max_std * sd;
      flagged += bad[size_t(r)];
    }
    if (flagged == s.rows()) continue;  // nothing valid to fill from: the channel is left as it is
    auto cell = [&](int64_t r) -> float& { return s.values[size_t(r * s.width() + c)]; };
    std::vector<float> before(size_t(s.rows()));
    for (int64_t r = 0; r < s.rows(); ++r) before[size_t(r)] = cell(r);
    int64_t first_valid = 0;
    while (bad[size_t(first_valid)]) ++first_valid;
    for (int64_t r = 0; r < first_valid; ++r) cell(r) = cell(first_valid);  // back fill
    for (int64_t r = first_valid + 1; r < s.rows(); ++r)
      if (bad[size_t(r)]) cell(r) = cell(r - 1);  // forward fill
    for (int64_t r = 0; r < s.rows(); ++r) changed[size_t(c)] += cell(r) != before[size_t(r)];
  }
  return changed;
}

Scaler Scaler::fit(const Series& s) {
  ChannelStats st = channel_stats(s, 0);
  Scaler sc{st.mean, st.std};
  for (double& v : sc.scale)
    if (v == 0) v = 1;  // a constant channel stays centred, like sklearn's StandardScaler
  return sc;
}

void Scaler::apply(Series& s) const {
  AD_CHECK(int64_t(mean.size()) == s.width(), "Scaler::apply", "scaler has ", mean.size(), " channels, ", s.path,
           " has ", s.width());
  for (int64_t r = 0; r < s.rows(); ++r)
    for (int64_t c = 0; c < s.width(); ++c) {
      float& v = s.values[size_t(r * s.width() + c)];
      v = float((v - mean[size_t(c)]) / scale[size_t(c)]);
    }
}

WindowSplit split_windows(int64_t rows, int64_t T, double val_percent, const std::string& mode) {
  WindowSplit w;
  if (mode == "rows") {
    const int64_t split = rows - int64_t(val_percent * double(rows));
    for (int64_t i = 0; i + T <= split; ++i) w.train.push_back(i);
    for (int64_t i = split; i + T <= rows; ++i) w.val.push_back(i);
  } else {
    AD_CHECK(mode == "windows", "split_windows", "unknown validation split \"", mode, "\"");
    const int64_t n = std::max<int64_t>(rows - T + 1, 0);
    const int64_t split_at = int64_t(double(n) * (1.0 - val_percent));  // Keras: int(n * (1 - split))
    for (int64_t i = 0; i < n; ++i) (i < split_at ? w.train : w.val).push_back(i);
  }
  return w;
}

Tensor gather_windows(const Series& s, const std::vector<int64_t>& starts, int64_t T) {
  int64_t m = s.width();
  Tensor out = Tensor::empty({int64_t(starts.size()), T, m});
  float* o = out.data<float>();
  for (size_t b = 0; b < starts.size(); ++b) {
    AD_CHECK(starts[b] >= 0 && starts[b] + T <= s.rows(), "gather_windows", "window at ", starts[b], " of length ", T,
             " exceeds ", s.rows(), " rows");
    std::copy_n(s.values.begin() + starts[b] * m, T * m, o + int64_t(b) * T * m);
  }
  return out;
}

}  // namespace ad::dcvae
