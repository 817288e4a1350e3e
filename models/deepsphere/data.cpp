#include "models/deepsphere/data.h"

#include <cmath>
#include <set>

#include "runtime/csv.h"
#include "runtime/error.h"
#include "runtime/npy.h"

namespace ad::deepsphere {

namespace {
int64_t integer_cell(const std::string& file, size_t row, const std::string& column, double v) {
  // |v| <= 2^53 before the conversion: a double past int64's range converts to nothing defined.
  AD_CHECK(std::isfinite(v) && v == std::floor(v) && std::fabs(v) <= 9007199254740992.0, file.c_str(), "line ",
           row + 2, ": ", column, " ", v, " is not an integer (or is past 2^53)");
  return int64_t(v);
}
int64_t integer_key(const std::string& file, size_t row, const std::string& text) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  AD_CHECK(used == text.size() && !text.empty(), file.c_str(), "line ", row + 2, ": case \"", text,
           "\" is not an integer");
  return int64_t(v);
}

std::vector<int> read_labels(const std::string& path, int64_t C) {
  CsvTable t = read_csv(path);
  AD_CHECK(!t.header.empty() && t.header[0] == "case", path.c_str(), "header: the first column must be \"case\"");
  const std::vector<double>& label = t.columns.at(t.column_index("label"));
  AD_CHECK(int64_t(t.rows()) == C, path.c_str(), "rows: ", t.rows(), " labels for ", C, " cases");
  std::vector<int> out(size_t(C), -1);
  for (size_t r = 0; r < t.rows(); ++r) {
    const int64_t c = integer_key(path, r, t.first_column[r]);
    AD_CHECK(c >= 0 && c < C, path.c_str(), "line ", r + 2, ": case ", c, " outside [0, ", C, ")");
    AD_CHECK(out[size_t(c)] < 0, path.c_str(), "line ", r + 2, ": case ", c, " labelled twice");
    AD_CHECK(label[r] == 0 || label[r] == 1, path.c_str(), "line ", r + 2, ": label ", label[r],
             " is not 0 or 1 (1 = anomaly)");
    out[size_t(c)] = int(label[r]);
  }
  return out;
}

std::vector<Deviation> read_deviations(const std::string& path, int64_t C, int64_t T, int64_t N) {
  CsvTable t = read_csv(path);
  AD_CHECK(!t.header.empty() && t.header[0] == "case", path.c_str(), "header: the first column must be \"case\"");
  const auto& ts = t.columns.at(t.column_index("t"));
  const auto& is = t.columns.at(t.column_index("i"));
  const auto& js = t.columns.at(t.column_index("j"));
  const auto& vs = t.columns.at(t.column_index("deviation"));
  std::vector<Deviation> out;
  out.reserve(t.rows());
  std::set<std::tuple<int64_t, int64_t, int64_t, int64_t>> seen;
  for (size_t r = 0; r < t.rows(); ++r) {
    Deviation d;
    d.c = integer_key(path, r, t.first_column[r]);
    d.t = integer_cell(path, r, "t", ts[r]);
    d.i = integer_cell(path, r, "i", is[r]);
    d.j = integer_cell(path, r, "j", js[r]);
    d.value = vs[r];
    AD_CHECK(d.c >= 0 && d.c < C && d.t >= 0 && d.t < T && d.i >= 0 && d.i < N && d.j >= 0 && d.j < N, path.c_str(),
             "line ", r + 2, ": entry (case ", d.c, ", t ", d.t, ", i ", d.i, ", j ", d.j,
             ") is outside the data's (", C, ", ", T, ", ", N, ", ", N, ")");
    AD_CHECK(seen.insert({d.c, d.t, d.i, d.j}).second, path.c_str(), "line ", r + 2, ": entry (", d.c, ", ", d.t,
             ", ", d.i, ", ", d.j, ") listed twice");
    out.push_back(d);
  }
  return out;
}
}  // namespace

void validate_dataset(const Dataset& d) {
  const char* f = d.source.c_str();
  AD_CHECK(d.cases.dim() == 4 && d.cases.size(2) == d.cases.size(3), f, "shape: expected (cases, T, N, N), got ",
           d.cases.shape().str());
  AD_CHECK(d.C > 0 && d.T > 0 && d.N > 0, f, "shape: empty data ", d.cases.shape().str());
  const float* x = d.cases.data<float>();
  for (int64_t k = 0; k < d.cases.numel(); ++k)
    if (!std::isfinite(x[k])) {
      const int64_t j = k % d.N, i = (k / d.N) % d.N, t = (k / (d.N * d.N)) % d.T, c = k / (d.N * d.N * d.T);
      AD_FAIL(f, "case ", c, ", t ", t, ", i ", i, ", j ", j, ": value ", x[k], " is not finite");
    }
}

Dataset load_dataset(const std::string& data_path, const std::string& labels_path,
                     const std::string& deviations_path) {
  Dataset d;
  d.source = data_path;
  Tensor raw = load_npy(data_path);
  AD_CHECK(raw.dim() == 4 && raw.size(2) == raw.size(3), data_path.c_str(),
           "shape: expected (cases, T, N, N), got ", raw.shape().str());
  d.cases = raw.dtype() == DType::F32 ? raw : raw.to_dtype(DType::F32);
  d.C = raw.size(0), d.T = raw.size(1), d.N = raw.size(2);
  validate_dataset(d);
  if (!labels_path.empty()) d.labels = read_labels(labels_path, d.C);
  if (!deviations_path.empty()) d.deviations = read_deviations(deviations_path, d.C, d.T, d.N);
  return d;
}

Tensor to_time_major(const Tensor& cases) {
  const int64_t C = cases.size(0), T = cases.size(1), D = cases.numel() / (C * T);
  Tensor out = Tensor::empty({T, C, D});
  const float* in = cases.data<float>();
  float* o = out.data<float>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t k = 0; k < D; ++k) o[(t * C + c) * D + k] = in[(c * T + t) * D + k];
  return out;
}

Tensor from_time_major(const Tensor& x, int64_t N) {
  const int64_t T = x.size(0), C = x.size(1), D = x.size(2);
  Tensor host = x.is_cuda() ? x.to(Device::CPU) : x;
  if (host.dtype() != DType::F32) host = host.to_dtype(DType::F32);
  Tensor out = Tensor::empty({C, T, N, N});
  const float* in = host.data<float>();
  float* o = out.data<float>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t k = 0; k < D; ++k) o[(c * T + t) * D + k] = in[(t * C + c) * D + k];
  return out;
}

}  // namespace ad::deepsphere
