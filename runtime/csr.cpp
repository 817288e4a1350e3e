#include "runtime/csr.h"

#include <algorithm>
#include <cmath>
#include <climits>
#include <numeric>
#include <sstream>

#include "runtime/npy.h"

namespace ad {

CsrMatrix CsrMatrix::to(Device device) const {
  CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.row_ptr = row_ptr.to(device);
  m.col = col.to(device);
  if (val.defined()) m.val = val.to(device);
  return m;
}

CsrMatrix CsrMatrix::to_dtype(DType dtype) const {
  CsrMatrix m = *this;
  if (val.defined()) m.val = val.to_dtype(dtype);
  return m;
}

std::string CsrMatrix::describe() const {
  std::ostringstream s;
  s << "csr[" << rows << "x" << cols << ", nnz " << nnz() << ", "
    << (val.defined() ? dtype_name(val.dtype()) : "pattern") << "]@" << device_name(device());
  return s.str();
}

void CsrMatrix::validate(const char* op) const {
  AD_CHECK(row_ptr.defined() && row_ptr.dtype() == DType::I64 && row_ptr.dim() == 1 &&
               row_ptr.numel() == rows + 1,
           op, "row_ptr must be i64 [rows+1] for ", describe());
  AD_CHECK(col.defined() && col.dtype() == DType::I32 && col.dim() == 1, op, "col must be i32 [nnz] for ",
           describe());
  AD_CHECK(!val.defined() || (val.dim() == 1 && val.numel() == col.numel()), op,
           "val must be [nnz] for ", describe());
  AD_CHECK(!row_ptr.is_device(), op, "validate runs on the CPU: ", describe());
  const int64_t* rp = row_ptr.data<int64_t>();
  const int32_t* c = col.data<int32_t>();
  AD_CHECK(rp[0] == 0 && rp[rows] == nnz(), op, "row_ptr must run from 0 to nnz in ", describe());
  for (int64_t r = 0; r < rows; ++r) {
    AD_CHECK(rp[r] <= rp[r + 1], op, "row_ptr decreases at row ", r, " in ", describe());
    for (int64_t e = rp[r]; e < rp[r + 1]; ++e) {
      AD_CHECK(c[e] >= 0 && c[e] < cols, op, "column ", c[e], " out of range in row ", r, " of ", describe());
      AD_CHECK(e == rp[r] || c[e - 1] < c[e], op, "columns not sorted/unique in row ", r, " of ", describe());
    }
  }
}

CsrMatrix csr_from_triplets(int64_t rows, int64_t cols, const std::vector<int64_t>& r,
                            const std::vector<int64_t>& c, const std::vector<double>& values, DType dtype) {
  const char* op = "csr_from_triplets";
  AD_CHECK(r.size() == c.size() && (values.empty() || values.size() == r.size()), op,
           "rows/cols/values sizes differ: ", r.size(), ", ", c.size(), ", ", values.size());
  AD_CHECK(cols <= INT32_MAX, op, "too many columns for i32 indices: ", cols);
  for (size_t k = 0; k < r.size(); ++k)
    AD_CHECK(r[k] >= 0 && r[k] < rows && c[k] >= 0 && c[k] < cols, op, "entry (", r[k], ",", c[k],
             ") outside ", rows, "x", cols);
  std::vector<size_t> order(r.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return r[a] != r[b] ? r[a] < r[b] : c[a] < c[b]; });
  std::vector<int64_t> rp(rows + 1, 0);
  std::vector<int32_t> cc;
  std::vector<double> vv;
  cc.reserve(r.size());
  for (size_t k = 0; k < order.size(); ++k) {
    size_t i = order[k];
    bool dup = !cc.empty() && k > 0 && r[order[k - 1]] == r[i] && c[order[k - 1]] == c[i];
    if (dup) {
      if (!values.empty()) vv.back() += values[i];
      continue;
    }
    cc.push_back(int32_t(c[i]));
    if (!values.empty()) vv.push_back(values[i]);
    rp[r[i] + 1]++;
  }
  for (int64_t i = 0; i < rows; ++i) rp[i + 1] += rp[i];
  CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.row_ptr = Tensor::empty({rows + 1}, DType::I64);
  std::copy(rp.begin(), rp.end(), m.row_ptr.data<int64_t>());
  m.col = Tensor::empty({int64_t(cc.size())}, DType::I32);
  std::copy(cc.begin(), cc.end(), m.col.data<int32_t>());
  if (!values.empty()) m.val = Tensor::from_vector(vv, {int64_t(vv.size())}, dtype);
  return m;
}

CsrMatrix load_csr_npy(const std::string& indptr_path, const std::string& indices_path, const std::string& data_path,
                       int64_t rows, int64_t cols) {
  const char* op = "load_csr_npy";
  AD_CHECK(rows >= 0 && cols >= 0 && cols <= INT32_MAX, op, indptr_path, ": shape ", rows, " x ", cols,
           " out of range (columns at most ", INT32_MAX, ")");
  const Tensor indptr = load_npy(indptr_path), indices = load_npy(indices_path), data = load_npy(data_path);
  auto is_int = [](const Tensor& t) { return t.dtype() == DType::I32 || t.dtype() == DType::I64 || t.dtype() == DType::U8; };
  AD_CHECK(indptr.dim() == 1 && is_int(indptr), op, indptr_path, ": expected a 1-d integer array, got ",
           indptr.describe());
  AD_CHECK(indices.dim() == 1 && is_int(indices), op, indices_path, ": expected a 1-d integer array, got ",
           indices.describe());
  AD_CHECK(data.dim() == 1 && (data.dtype() == DType::F32 || data.dtype() == DType::F64), op, data_path,
           ": expected a 1-d float array, got ", data.describe());
  AD_CHECK(indptr.numel() == rows + 1, op, indptr_path, ": ", indptr.numel(), " entries, expected rows + 1 = ",
           rows + 1);
  const int64_t nnz = indices.numel();
  AD_CHECK(data.numel() == nnz, op, data_path, ": ", data.numel(), " values, but ", indices_path, " has ", nnz,
           " indices");
  const std::vector<double> ip = indptr.to_vector(), ix = indices.to_vector(), dv = data.to_vector();
  AD_CHECK(ip[0] == 0, op, indptr_path, ": [0] is ", int64_t(ip[0]), ", expected 0");
  for (int64_t r = 0; r < rows; ++r)
    AD_CHECK(ip[r + 1] >= ip[r], op, indptr_path, ": [", r + 1, "] = ", int64_t(ip[r + 1]), " is less than [", r,
             "] = ", int64_t(ip[r]), " (must never decrease)");
  AD_CHECK(ip[rows] == double(nnz), op, indptr_path, ": [", rows, "] = ", int64_t(ip[rows]),
           ", expected the number of indices ", nnz);
  std::vector<int64_t> rr(static_cast<size_t>(nnz)), cc(static_cast<size_t>(nnz));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t e = int64_t(ip[r]); e < int64_t(ip[r + 1]); ++e) rr[size_t(e)] = r;
  for (int64_t e = 0; e < nnz; ++e) {
    AD_CHECK(ix[e] >= 0 && ix[e] < double(cols), op, indices_path, ": [", e, "] = ", int64_t(ix[e]),
             " is outside [0, ", cols, ")");
    AD_CHECK(std::isfinite(dv[e]), op, data_path, ": [", e, "] is ", dv[e], " (values must be finite)");
    cc[size_t(e)] = int64_t(ix[e]);
  }
  return csr_from_triplets(rows, cols, rr, cc, dv, DType::F32);
}

namespace {

// One pass over the rows (the nonzeros come out sorted): no f64 copy of the dense matrix and no triplet sort,
// which cost twice and more the dense array at BlogCatalog's size.
template <class T> CsrMatrix csr_from_dense_rows(const T* v, int64_t rows, int64_t cols, DType dtype) {
  AD_CHECK(cols <= INT32_MAX, "csr_from_dense", "too many columns for i32 indices: ", cols);
  int64_t nnz = 0;
  for (int64_t k = 0; k < rows * cols; ++k) nnz += v[k] != T(0);
  CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.row_ptr = Tensor::empty({rows + 1}, DType::I64);
  m.col = Tensor::empty({nnz}, DType::I32);
  m.val = Tensor::empty({nnz}, dtype);
  int64_t* rp = m.row_ptr.data<int64_t>();
  int32_t* c = nnz > 0 ? m.col.data<int32_t>() : nullptr;
  T* out = nnz > 0 ? m.val.data<T>() : nullptr;
  int64_t e = 0;
  rp[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j)
      if (v[i * cols + j] != T(0)) {
        c[e] = int32_t(j);
        out[e++] = v[i * cols + j];
      }
    rp[i + 1] = e;
  }
  return m;
}

template <class T> void scatter_rows(const CsrMatrix& m, const T* vals, T* out) {
  const int64_t* rp = m.row_ptr.data<int64_t>();
  const int32_t* c = m.nnz() > 0 ? m.col.data<int32_t>() : nullptr;
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t e = rp[i]; e < rp[i + 1]; ++e) out[i * m.cols + c[e]] = vals ? vals[e] : T(1);
}

}  // namespace

CsrMatrix csr_from_dense(const Tensor& dense) {
  const char* op = "csr_from_dense";
  AD_CHECK(dense.dim() == 2 && !dense.is_device(), op, "needs a 2-d CPU tensor, got ", dense.describe());
  const int64_t rows = dense.size(0), cols = dense.size(1);
  if (dense.dtype() == DType::F64) return csr_from_dense_rows(dense.data<double>(), rows, cols, DType::F64);
  const Tensor f = dense.dtype() == DType::F32 ? dense : dense.to_dtype(DType::F32);
  return csr_from_dense_rows(f.data<float>(), rows, cols, DType::F32);
}

Tensor csr_to_dense(const CsrMatrix& m) {
  AD_CHECK(m.device() == Device::CPU, "csr_to_dense", "CPU only: ", m.describe());
  const bool f64 = m.has_values() && m.val.dtype() == DType::F64;
  const bool f32 = !m.has_values() || m.val.dtype() == DType::F32;
  if (!f64 && !f32) {  // other value types: through f64, in the values' own dtype
    std::vector<double> out(size_t(m.rows * m.cols), 0.0), vals = m.val.to_vector();
    scatter_rows(m, vals.data(), out.data());
    return Tensor::from_vector(out, {m.rows, m.cols}, m.val.dtype());
  }
  Tensor d = Tensor::zeros({m.rows, m.cols}, f64 ? DType::F64 : DType::F32);
  const bool vals = m.has_values() && m.nnz() > 0;
  if (f64)
    scatter_rows(m, vals ? m.val.data<double>() : nullptr, d.data<double>());
  else
    scatter_rows(m, vals ? m.val.data<float>() : nullptr, d.data<float>());
  return d;
}

CsrMatrix csr_transpose(const CsrMatrix& m, std::vector<int64_t>* edge_of) {
  AD_CHECK(m.device() == Device::CPU, "csr_transpose", "CPU only: ", m.describe());
  CsrMatrix t;
  t.rows = m.cols;
  t.cols = m.rows;
  int64_t nnz = m.nnz();
  const int64_t* rp = m.row_ptr.data<int64_t>();
  const int32_t* c = m.col.data<int32_t>();
  std::vector<int64_t> trp(t.rows + 1, 0);
  for (int64_t e = 0; e < nnz; ++e) trp[c[e] + 1]++;
  for (int64_t i = 0; i < t.rows; ++i) trp[i + 1] += trp[i];
  std::vector<int64_t> next(trp.begin(), trp.end() - 1), src(nnz);
  t.col = Tensor::empty({nnz}, DType::I32);
  int32_t* tc = t.col.data<int32_t>();
  // Rows of m in increasing order, so each transposed row receives its columns sorted.
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t e = rp[i]; e < rp[i + 1]; ++e) {
      int64_t k = next[c[e]]++;
      tc[k] = int32_t(i);
      src[k] = e;
    }
  t.row_ptr = Tensor::empty({t.rows + 1}, DType::I64);
  std::copy(trp.begin(), trp.end(), t.row_ptr.data<int64_t>());
  if (m.has_values()) {
    t.val = Tensor::empty({nnz}, m.val.dtype());
    if (m.val.dtype() == DType::F64) {
      const double* v = m.val.data<double>();
      for (int64_t k = 0; k < nnz; ++k) t.val.data<double>()[k] = v[src[k]];
    } else {
      const float* v = m.val.data<float>();
      for (int64_t k = 0; k < nnz; ++k) t.val.data<float>()[k] = v[src[k]];
    }
  }
  if (edge_of) *edge_of = std::move(src);
  return t;
}

}  // namespace ad
