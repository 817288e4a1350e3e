#include "kernels/recon_loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/fast_math.h"
#include "kernels/gemm.h"
#include "kernels/recon_loss.cuh"

namespace ad {

namespace cpu {
namespace {

double weight(const ReconWeighting& w, double t) {
  if (w.kind == ReconWeighting::Indicator) return t > 0 ? w.pos : w.neg;
  double b = 1.0 + (w.pos - 1.0) * t;
  return b * b;
}

// dL/dS_i (0 for RowNorm at S_i = 0).
double row_coef(const ReconWeighting& w, double err, double derr) {
  if (!w.take_sqrt) return derr;
  return err > 0 ? derr / (2.0 * err) : 0.0;
}

double sigmoid(double s) { return 1.0 / (1.0 + std::exp(-s)); }

template <class T> double dot(const T* a, const T* b, int64_t h) {
  double s = 0;
  for (int64_t k = 0; k < h; ++k) s += double(a[k]) * double(b[k]);
  return s;
}

void row_range(const int64_t* ranges, int64_t n, int64_t i, int64_t& lo, int64_t& hi) {
  lo = ranges ? ranges[2 * i] : 0;
  hi = ranges ? ranges[2 * i + 1] : n;
}

// Visits j in row i's range with t_ij from a merge scan over the sorted CSR row.
template <class F>
void scan_row(const int64_t* rp, const int32_t* col, const int64_t* ranges, int64_t n, int64_t i, F&& f) {
  int64_t lo, hi;
  row_range(ranges, n, i, lo, hi);
  const int32_t* b = col + rp[i];
  const int32_t* e = col + rp[i + 1];
  const int32_t* p = std::lower_bound(b, e, lo, [](int32_t c, int64_t v) { return int64_t(c) < v; });
  for (int64_t j = lo; j < hi; ++j) {
    while (p < e && int64_t(*p) < j) ++p;
    f(j, p < e && int64_t(*p) == j ? 1.0 : 0.0);
  }
}

}  // namespace

template <class T>
void dense_recon_forward(const T* pred, const T* target, T* err, int64_t n, int64_t d, const ReconWeighting& w) {
#pragma omp parallel for if (n * d >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t c = 0; c < d; ++c) {
      double t = target[i * d + c], e = double(pred[i * d + c]) - t;
      s += weight(w, t) * e * e;
    }
    err[i] = T(w.take_sqrt ? std::sqrt(s) : s);
  }
}

template <class T>
void dense_recon_backward(const T* pred, const T* target, const T* err, const T* derr, T* dpred, int64_t n,
                          int64_t d, const ReconWeighting& w) {
#pragma omp parallel for if (n * d >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    double c2 = 2.0 * row_coef(w, err[i], derr[i]);
    for (int64_t c = 0; c < d; ++c) {
      double t = target[i * d + c];
      dpred[i * d + c] = T(c2 * weight(w, t) * (double(pred[i * d + c]) - t));
    }
  }
}

// CSR target: the dense loops over row i of the target scattered into a per-thread dense row (and cleared after):
// the same terms in the same order (the same bits), and the inner loop stays the dense one.
template <class T>
void csr_recon_forward(const T* pred, const int64_t* rp, const int32_t* col, const T* val, T* err, int64_t n,
                       int64_t d, const ReconWeighting& w) {
#pragma omp parallel if (n * d >= kCpuParallelMin)
  {
    std::vector<T> target(static_cast<size_t>(d), T(0));
#pragma omp for
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t k = rp[i]; k < rp[i + 1]; ++k) target[size_t(col[k])] = val[k];
      double s = 0;
      for (int64_t c = 0; c < d; ++c) {
        double t = target[size_t(c)], e = double(pred[i * d + c]) - t;
        s += weight(w, t) * e * e;
      }
      for (int64_t k = rp[i]; k < rp[i + 1]; ++k) target[size_t(col[k])] = T(0);
      err[i] = T(w.take_sqrt ? std::sqrt(s) : s);
    }
  }
}

template <class T>
void csr_recon_backward(const T* pred, const int64_t* rp, const int32_t* col, const T* val, const T* err,
                        const T* derr, T* dpred, int64_t n, int64_t d, const ReconWeighting& w) {
#pragma omp parallel if (n * d >= kCpuParallelMin)
  {
    std::vector<T> target(static_cast<size_t>(d), T(0));
#pragma omp for
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t k = rp[i]; k < rp[i + 1]; ++k) target[size_t(col[k])] = val[k];
      double c2 = 2.0 * row_coef(w, err[i], derr[i]);
      for (int64_t c = 0; c < d; ++c) {
        double t = target[size_t(c)];
        dpred[i * d + c] = T(c2 * weight(w, t) * (double(pred[i * d + c]) - t));
      }
      for (int64_t k = rp[i]; k < rp[i + 1]; ++k) target[size_t(col[k])] = T(0);
    }
  }
}

// Rows [i0, i1) of the structure error (the reference loops; also the blocked path's sparse tiles).
template <class T>
void structure_recon_forward_rows(const T* z, int64_t n, int64_t h, const int64_t* rp, const int32_t* col,
                                  const int64_t* ranges, const ReconWeighting& w, T* err, int64_t i0, int64_t i1) {
#pragma omp parallel for schedule(dynamic, 16) if (i1 - i0 > 64)
  for (int64_t i = i0; i < i1; ++i) {
    double s = 0;
    scan_row(rp, col, ranges, n, i, [&](int64_t j, double t) {
      double e = sigmoid(dot(z + i * h, z + j * h, h)) - t;
      s += weight(w, t) * e * e;
    });
    err[i] = T(w.take_sqrt ? std::sqrt(s) : s);
  }
}

template <class T>
void structure_recon_forward(const T* z, int64_t n, int64_t h, const int64_t* rp, const int32_t* col,
                             const int64_t* ranges, const ReconWeighting& w, T* err) {
  structure_recon_forward_rows(z, n, h, rp, col, ranges, w, err, 0, n);
}

// Rows [i0, i1) of dz, given every row's dL/dS (`coef`).
template <class T>
void structure_recon_backward_rows(const T* z, int64_t n, int64_t h, const int64_t* rp, const int32_t* col,
                                   const int64_t* ranges, const ReconWeighting& w, const double* coef, T* dz,
                                   int64_t i0, int64_t i1) {
#pragma omp parallel for schedule(dynamic, 16) if (i1 - i0 > 64)
  for (int64_t i = i0; i < i1; ++i) {
    std::vector<double> acc(static_cast<size_t>(h), 0.0);
    scan_row(rp, col, ranges, n, i, [&](int64_t j, double t) {
      double p = sigmoid(dot(z + i * h, z + j * h, h));
      double g = (coef[size_t(i)] + coef[size_t(j)]) * 2.0 * weight(w, t) * (p - t) * p * (1.0 - p);
      if (g != 0)
        for (int64_t k = 0; k < h; ++k) acc[size_t(k)] += g * double(z[j * h + k]);
    });
    for (int64_t k = 0; k < h; ++k) dz[i * h + k] = T(acc[size_t(k)]);
  }
}

template <class T>
void structure_recon_backward(const T* z, int64_t n, int64_t h, const int64_t* rp, const int32_t* col,
                              const int64_t* ranges, const ReconWeighting& w, const T* err, const T* derr, T* dz) {
  std::vector<double> coef(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) coef[size_t(i)] = row_coef(w, err[i], derr[i]);
  structure_recon_backward_rows(z, n, h, rp, col, ranges, w, coef.data(), dz, 0, n);
}


// Blocked f32 path for CPU training: the logits come from SGEMM tiles Z_I Z_J^T (cpu::gemm), the per-pair
// terms run per row with OpenMP over a 0/1 target row scattered from the CSR (vectorised), and the backward's
// dz_I += G_IJ Z_J is a second SGEMM. Same values as the scalar reference above, which the tests hold it to
// (f32 rounding apart); the reference stays the f64 path (gradient checks) and the definition. A row tile spans the union of its rows' column ranges;
// pairs outside a row's own range are skipped (forward) or given G = 0 (backward).
namespace {
constexpr int64_t kRowTile = 1024, kColTile = 4096;

void tile_columns(const int64_t* ranges, int64_t n, int64_t i0, int64_t i1, int64_t& lo, int64_t& hi) {
  lo = n;
  hi = 0;
  for (int64_t i = i0; i < i1; ++i) {
    int64_t a, b;
    row_range(ranges, n, i, a, b);
    if (a < b) lo = std::min(lo, a), hi = std::max(hi, b);
  }
}

// A tile whose rows need under a quarter of its pairs (block-diagonal batches of small traces) runs the
// per-row loops instead: a dense tile would compute ~1000x the pairs a trace batch needs.
bool sparse_tile(const int64_t* ranges, int64_t n, int64_t i0, int64_t i1, int64_t lo, int64_t hi) {
  if (!ranges || hi <= lo) return false;
  int64_t pairs = 0;
  for (int64_t i = i0; i < i1; ++i) {
    int64_t a, b;
    row_range(ranges, n, i, a, b);
    pairs += std::max<int64_t>(0, b - a);
  }
  return pairs * 4 < (i1 - i0) * (hi - lo);
}

// tile[r, c] = z_{i0+r} . z_{j0+c} for an (i1-i0) x (j1-j0) tile.
void logits_tile(const float* z, int64_t h, int64_t i0, int64_t i1, int64_t j0, int64_t j1, float* tile) {
  const int64_t rows = i1 - i0, cols = j1 - j0;
  if (h == 0) {
    std::fill(tile, tile + rows * cols, 0.0f);
    return;
  }
  gemm<float>(false, true, rows, cols, h, 1.0f, z + i0 * h, h, z + j0 * h, h, 0.0f, tile, cols);
}

// Row i's column range clipped to [j0, j1), and its CSR entries (t_ij = 1) inside it.
void row_in_tile(const int64_t* rp, const int32_t* col, const int64_t* ranges, int64_t n, int64_t i, int64_t j0,
                 int64_t j1, int64_t& lo, int64_t& hi, const int32_t*& pb, const int32_t*& pe) {
  row_range(ranges, n, i, lo, hi);
  lo = std::max(lo, j0);
  hi = std::min(hi, j1);
  if (lo >= hi) lo = hi = j0;  // nothing of this row in the tile
  const auto less = [](int32_t c, int64_t v) { return int64_t(c) < v; };
  pb = std::lower_bound(col + rp[i], col + rp[i + 1], lo, less);
  pe = lo < hi ? std::lower_bound(pb, col + rp[i + 1], hi, less) : pb;
}

// Per pair, from the logit x = z_i . z_j and the target t (0 or 1), without cancellation: with
// m = 1 / (1 + exp(t ? x : -x)), |p - t| = m and p (1 - p) = m (1 - m), so the squared error of a pair that
// is almost right stays accurate relative to itself (exp(x) - 1 style cancellation gave negative row sums,
// hence NaN square roots, on small traces). Both vectorise (fast_expf, selects).
[[gnu::always_inline]] inline float pair_loss(float x, float t, float w0, float w1) {
  const float m = 1.0f / (1.0f + fast_expf(t > 0.0f ? x : -x));
  return (t > 0.0f ? w1 : w0) * m * m;
}
// d(w (p - t)^2)/dx = 2 w (p - t) p (1 - p).
[[gnu::always_inline]] inline float pair_grad(float x, float t, float w0, float w1) {
  const float m = 1.0f / (1.0f + fast_expf(t > 0.0f ? x : -x));
  return 2.0f * (t > 0.0f ? -w1 : w0) * m * m * (1.0f - m);
}

// sum_j pair_loss(row[j], t[j]) over one row of a tile, in double. The running sum is split over 16 lanes
// (fixed order, so the result repeats exactly): one sequential double sum cannot vectorise without reassociation,
// and this loop was the largest part of an AnomalyDAE CPU epoch (perf, N 3000: 24%, scalar code).
AD_CPU_CLONES double pair_loss_sum(const float* row, const float* t, int64_t len, float w0, float w1) {
  constexpr int kLanes = 16;
  double lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= len; j += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += double(pair_loss(row[j + l], t[j + l], w0, w1));
  double s = 0;
  for (; j < len; ++j) s += double(pair_loss(row[j], t[j], w0, w1));
  for (int l = 0; l < kLanes; ++l) s += lane[l];
  return s;
}

// The logits tile, kept per thread between calls: a fresh 16 MB vector per pass cost page faults and zeroing
// (perf, AnomalyDAE epoch at N 3000: ~10% in the kernel's page-fault path and memset).
float* tile_buffer(int64_t n) {
  thread_local std::vector<float> tile;
  const size_t need = size_t(kRowTile * std::min(kColTile, std::max<int64_t>(n, 1)));
  if (tile.size() < need) tile.resize(need);
  return tile.data();
}

// row[j] = (ci + cj[j]) * pair_grad(row[j], t[j]) in place.
AD_CPU_CLONES void pair_grad_row(float* row, const float* t, const float* cj, float ci, int64_t len, float w0,
                                 float w1) {
  for (int64_t j = 0; j < len; ++j) row[j] = (ci + cj[j]) * pair_grad(row[j], t[j], w0, w1);
}
}  // namespace

void structure_recon_forward_blocked(const float* z, int64_t n, int64_t h, const int64_t* rp, const int32_t* col,
                                     const int64_t* ranges, const ReconWeighting& w, float* err) {
  const float w0f = float(weight(w, 0.0)), w1f = float(weight(w, 1.0));
  float* tile = tile_buffer(n);
  std::vector<double> sum(static_cast<size_t>(kRowTile));  // the row tile's S_i over its column tiles
  for (int64_t i0 = 0; i0 < n; i0 += kRowTile) {
    const int64_t i1 = std::min(n, i0 + kRowTile);
    int64_t lo, hi;
    tile_columns(ranges, n, i0, i1, lo, hi);
    if (sparse_tile(ranges, n, i0, i1, lo, hi)) {
      structure_recon_forward_rows(z, n, h, rp, col, ranges, w, err, i0, i1);
      continue;
    }
    std::fill(sum.begin(), sum.end(), 0.0);
    for (int64_t j0 = lo; j0 < hi; j0 += kColTile) {
      const int64_t j1 = std::min(hi, j0 + kColTile), cols = j1 - j0;
      logits_tile(z, h, i0, i1, j0, j1, tile);
#pragma omp parallel
      {
        std::vector<float> tbuf(static_cast<size_t>(cols), 0.0f);  // t_ij of this row, 0/1
        float* tb = tbuf.data();
#pragma omp for schedule(static)
        for (int64_t i = i0; i < i1; ++i) {
          const float* row = tile + (i - i0) * cols;
          int64_t a, b;
          const int32_t *pb, *pe;
          row_in_tile(rp, col, ranges, n, i, j0, j1, a, b, pb, pe);
          for (const int32_t* q = pb; q < pe; ++q) tb[*q - j0] = 1.0f;
          const double s = pair_loss_sum(row + (a - j0), tb + (a - j0), b - a, w0f, w1f);
          for (const int32_t* q = pb; q < pe; ++q) tb[*q - j0] = 0.0f;
          sum[size_t(i - i0)] += s;
        }
      }
    }
    for (int64_t i = i0; i < i1; ++i) {
      const double s = sum[size_t(i - i0)];
      err[i] = float(w.take_sqrt ? std::sqrt(s) : s);
    }
  }
}

void structure_recon_backward_blocked(const float* z, int64_t n, int64_t h, const int64_t* rp, const int32_t* col,
                                      const int64_t* ranges, const ReconWeighting& w, const float* err,
                                      const float* derr, float* dz) {
  std::fill(dz, dz + n * h, 0.0f);
  if (h == 0) return;
  const float w0f = float(weight(w, 0.0)), w1f = float(weight(w, 1.0));
  std::vector<double> coef64(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) coef64[size_t(i)] = row_coef(w, err[i], derr[i]);
  std::vector<float> coef(coef64.begin(), coef64.end());
  float* tile = tile_buffer(n);
  for (int64_t i0 = 0; i0 < n; i0 += kRowTile) {
    const int64_t i1 = std::min(n, i0 + kRowTile);
    int64_t lo, hi;
    tile_columns(ranges, n, i0, i1, lo, hi);
    if (sparse_tile(ranges, n, i0, i1, lo, hi)) {
      structure_recon_backward_rows(z, n, h, rp, col, ranges, w, coef64.data(), dz, i0, i1);
      continue;
    }
    for (int64_t j0 = lo; j0 < hi; j0 += kColTile) {
      const int64_t j1 = std::min(hi, j0 + kColTile), cols = j1 - j0;
      logits_tile(z, h, i0, i1, j0, j1, tile);
#pragma omp parallel
      {
        std::vector<float> tbuf(static_cast<size_t>(cols), 0.0f);
        float* tb = tbuf.data();
#pragma omp for schedule(static)
        for (int64_t i = i0; i < i1; ++i) {
          float* row = tile + (i - i0) * cols;
          int64_t a, b;
          const int32_t *pb, *pe;
          row_in_tile(rp, col, ranges, n, i, j0, j1, a, b, pb, pe);
          for (const int32_t* q = pb; q < pe; ++q) tb[*q - j0] = 1.0f;
          const float ci = coef[size_t(i)];
          const float* cj = coef.data() + j0;
          for (int64_t j = 0; j < a - j0; ++j) row[j] = 0.0f;
          pair_grad_row(row + (a - j0), tb + (a - j0), cj + (a - j0), ci, b - a, w0f, w1f);
          for (int64_t j = std::max(b - j0, int64_t(0)); j < cols; ++j) row[j] = 0.0f;
          for (const int32_t* q = pb; q < pe; ++q) tb[*q - j0] = 0.0f;
        }
      }
      gemm<float>(false, false, i1 - i0, h, cols, 1.0f, tile, cols, z + j0 * h, h, 1.0f, dz + i0 * h, h);
    }
  }
}

}  // namespace cpu

namespace {

void check_weighting(const char* op, const ReconWeighting& w) {
  AD_CHECK(std::isfinite(w.pos) && std::isfinite(w.neg), op, "weights must be finite, got pos ", w.pos, " neg ",
           w.neg);
}

void check_like(const char* op, const char* what, const Tensor& ref, const Tensor& t, const Shape& shape) {
  AD_CHECK(t.defined(), op, what, " is undefined");
  AD_CHECK(t.shape() == shape, op, what, " must be ", shape.str(), ", got ", t.describe(), " (with ",
           ref.describe(), ")");
  AD_CHECK(t.dtype() == ref.dtype(), op, "dtype mismatch: ", what, " ", t.describe(), " vs ", ref.describe());
  check_same_device(op, ref, t);
}

// pred/target [N, D]; err [N].
void check_dense(const char* op, const Tensor& pred, const Tensor& target, const Tensor& err,
                 const ReconWeighting& w) {
  check_weighting(op, w);
  AD_CHECK(pred.defined() && pred.dim() == 2, op, "pred must be [N, D], got ",
           pred.defined() ? pred.describe() : std::string("undefined"));
  check_floating(op, pred);
  check_like(op, "target", pred, target, pred.shape());
  check_like(op, "err", pred, err, Shape{pred.size(0)});
  if (pred.is_device()) check_dtype(op, pred, DType::F32);
}

// pred [N, D]; target CSR [N, D] with values of pred's dtype on pred's device; err [N].
void check_csr(const char* op, const Tensor& pred, const CsrMatrix& target, const Tensor& err,
               const ReconWeighting& w) {
  check_weighting(op, w);
  AD_CHECK(pred.defined() && pred.dim() == 2, op, "pred must be [N, D], got ",
           pred.defined() ? pred.describe() : std::string("undefined"));
  check_floating(op, pred);
  if (pred.is_device()) check_dtype(op, pred, DType::F32);
  AD_CHECK(target.rows == pred.size(0) && target.cols == pred.size(1), op, "target must be ", pred.size(0), " x ",
           pred.size(1), " for pred ", pred.describe(), ", got ", target.describe());
  AD_CHECK(target.row_ptr.defined() && target.row_ptr.dtype() == DType::I64 && target.row_ptr.dim() == 1 &&
               target.row_ptr.numel() == target.rows + 1,
           op, "target row_ptr must be i64 [N+1]: ", target.describe());
  AD_CHECK(target.col.defined() && target.col.dtype() == DType::I32, op, "target col must be i32: ",
           target.describe());
  AD_CHECK(target.has_values() && target.val.dtype() == pred.dtype() && target.val.numel() == target.nnz(), op,
           "target needs ", dtype_name(pred.dtype()), " values, one per entry: ", target.describe());
  AD_CHECK(target.device() == pred.device() &&
               (target.nnz() == 0 || (target.col.device() == pred.device() && target.val.device() == pred.device())),
           op, "target ", target.describe(), " and pred ", pred.describe(), " are on different devices");
  check_like(op, "err", pred, err, Shape{pred.size(0)});
  if (!pred.is_device()) target.validate(op);
}

// z [N, H]; target N x N pattern on z's device; ranges I64 [N, 2] or undefined; err [N].
void check_structure(const char* op, const Tensor& z, const CsrMatrix& target, const Tensor& ranges,
                     const Tensor& err, const ReconWeighting& w) {
  check_weighting(op, w);
  AD_CHECK(z.defined() && z.dim() == 2, op, "z must be [N, H], got ",
           z.defined() ? z.describe() : std::string("undefined"));
  check_floating(op, z);
  if (z.is_device()) check_dtype(op, z, DType::F32);
  int64_t n = z.size(0);
  AD_CHECK(target.rows == n && target.cols == n, op, "target must be ", n, " x ", n, " for z ", z.describe(),
           ", got ", target.describe());
  AD_CHECK(target.row_ptr.defined() && target.row_ptr.dtype() == DType::I64 && target.row_ptr.dim() == 1 &&
               target.row_ptr.numel() == n + 1,
           op, "target row_ptr must be i64 [N+1]: ", target.describe());
  AD_CHECK(target.nnz() == 0 || target.col.dtype() == DType::I32, op, "target col must be i32: ",
           target.describe());
  AD_CHECK(target.device() == z.device() && (target.nnz() == 0 || target.col.device() == z.device()), op,
           "target ", target.describe(), " and z ", z.describe(), " are on different devices");
  if (ranges.defined()) {
    AD_CHECK(ranges.dtype() == DType::I64 && ranges.shape() == Shape({n, 2}), op, "ranges must be i64 [", n,
             ", 2] for z ", z.describe(), ", got ", ranges.describe());
    check_same_device(op, z, ranges);
  }
  check_like(op, "err", z, err, Shape{n});
  if (!z.is_device()) {
    target.validate(op);
    if (ranges.defined()) {
      const int64_t* r = ranges.data<int64_t>();
      for (int64_t i = 0; i < n; ++i)
        AD_CHECK(0 <= r[2 * i] && r[2 * i] <= r[2 * i + 1] && r[2 * i + 1] <= n, op, "range of row ", i, " [",
                 r[2 * i], ", ", r[2 * i + 1], ") is not within [0, ", n, "]");
    }
  }
}

const int32_t* col_ptr(const CsrMatrix& m) { return m.nnz() > 0 ? m.col.data<int32_t>() : nullptr; }
template <class T> const T* val_ptr(const CsrMatrix& m) { return m.nnz() > 0 ? m.val.data<T>() : nullptr; }
const int64_t* ranges_ptr(const Tensor& r) { return r.defined() ? r.data<int64_t>() : nullptr; }

}  // namespace

void dense_recon_error_forward(const Tensor& pred, const Tensor& target, const ReconWeighting& w, Tensor& err) {
  const char* op = "dense_recon_error_forward";
  check_dense(op, pred, target, err, w);
  int64_t n = pred.size(0), d = pred.size(1);
  if (pred.is_device()) {
    AD_ON_DEVICE(op, pred, dense_recon_error_forward(pred.data<float>(), target.data<float>(), err.data<float>(),
                                                     n, d, recon_params(w)));
  } else {
    dispatch_floating(op, pred.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::dense_recon_forward<T>(pred.data<T>(), target.data<T>(), err.data<T>(), n, d, w);
    });
  }
}

void dense_recon_error_backward(const Tensor& pred, const Tensor& target, const ReconWeighting& w, const Tensor& err,
                                const Tensor& derr, Tensor& dpred) {
  const char* op = "dense_recon_error_backward";
  check_dense(op, pred, target, err, w);
  check_like(op, "derr", pred, derr, err.shape());
  check_like(op, "dpred", pred, dpred, pred.shape());
  int64_t n = pred.size(0), d = pred.size(1);
  if (pred.is_device()) {
    AD_ON_DEVICE(op, pred, dense_recon_error_backward(pred.data<float>(), target.data<float>(),
                                                      err.data<float>(), derr.data<float>(),
                                                      dpred.data<float>(), n, d, recon_params(w)));
  } else {
    dispatch_floating(op, pred.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::dense_recon_backward<T>(pred.data<T>(), target.data<T>(), err.data<T>(), derr.data<T>(), dpred.data<T>(),
                                   n, d, w);
    });
  }
}

void csr_recon_error_forward(const Tensor& pred, const CsrMatrix& target, const ReconWeighting& w, Tensor& err) {
  const char* op = "csr_recon_error_forward";
  check_csr(op, pred, target, err, w);
  const int64_t n = pred.size(0), d = pred.size(1);
  const int64_t* rp = target.row_ptr.data<int64_t>();
  if (pred.is_device()) {
    AD_ON_DEVICE(op, pred, csr_recon_error_forward(pred.data<float>(), rp, col_ptr(target), val_ptr<float>(target),
                                                   err.data<float>(), n, d, recon_params(w)));
  } else {
    dispatch_floating(op, pred.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::csr_recon_forward<T>(pred.data<T>(), rp, col_ptr(target), val_ptr<T>(target), err.data<T>(), n, d, w);
    });
  }
}

void csr_recon_error_backward(const Tensor& pred, const CsrMatrix& target, const ReconWeighting& w, const Tensor& err,
                              const Tensor& derr, Tensor& dpred) {
  const char* op = "csr_recon_error_backward";
  check_csr(op, pred, target, err, w);
  check_like(op, "derr", pred, derr, err.shape());
  check_like(op, "dpred", pred, dpred, pred.shape());
  const int64_t n = pred.size(0), d = pred.size(1);
  const int64_t* rp = target.row_ptr.data<int64_t>();
  if (pred.is_device()) {
    AD_ON_DEVICE(op, pred, csr_recon_error_backward(pred.data<float>(), rp, col_ptr(target), val_ptr<float>(target),
                                                    err.data<float>(), derr.data<float>(), dpred.data<float>(), n, d,
                                                    recon_params(w)));
  } else {
    dispatch_floating(op, pred.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::csr_recon_backward<T>(pred.data<T>(), rp, col_ptr(target), val_ptr<T>(target), err.data<T>(),
                                 derr.data<T>(), dpred.data<T>(), n, d, w);
    });
  }
}

void structure_recon_error_forward(const Tensor& z, const CsrMatrix& target, const Tensor& ranges,
                                   const ReconWeighting& w, Tensor& err) {
  const char* op = "structure_recon_error_forward";
  check_structure(op, z, target, ranges, err, w);
  int64_t n = z.size(0), h = z.size(1);
  const int64_t* rp = target.row_ptr.data<int64_t>();
  if (z.is_device()) {
    AD_ON_DEVICE(op, z, structure_recon_error_forward(z.data<float>(), n, h, rp, col_ptr(target),
                                                      ranges_ptr(ranges), recon_params(w), err.data<float>()));
  } else if (z.dtype() == DType::F32) {
    cpu::structure_recon_forward_blocked(z.data<float>(), n, h, rp, col_ptr(target), ranges_ptr(ranges), w,
                                         err.data<float>());
  } else {
    dispatch_floating(op, z.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::structure_recon_forward<T>(z.data<T>(), n, h, rp, col_ptr(target), ranges_ptr(ranges), w, err.data<T>());
    });
  }
}

void structure_recon_error_backward(const Tensor& z, const CsrMatrix& target, const Tensor& ranges,
                                    const ReconWeighting& w, const Tensor& err, const Tensor& derr, Tensor& dz) {
  const char* op = "structure_recon_error_backward";
  check_structure(op, z, target, ranges, err, w);
  check_like(op, "derr", z, derr, err.shape());
  check_like(op, "dz", z, dz, z.shape());
  int64_t n = z.size(0), h = z.size(1);
  const int64_t* rp = target.row_ptr.data<int64_t>();
  if (z.is_device()) {
    AD_ON_DEVICE(op, z, structure_recon_error_backward(z.data<float>(), n, h, rp, col_ptr(target),
                                                       ranges_ptr(ranges), recon_params(w), err.data<float>(),
                                                       derr.data<float>(), dz.data<float>()));
  } else if (z.dtype() == DType::F32) {
    cpu::structure_recon_backward_blocked(z.data<float>(), n, h, rp, col_ptr(target), ranges_ptr(ranges), w,
                                          err.data<float>(), derr.data<float>(), dz.data<float>());
  } else {
    dispatch_floating(op, z.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::structure_recon_backward<T>(z.data<T>(), n, h, rp, col_ptr(target), ranges_ptr(ranges), w, err.data<T>(),
                                       derr.data<T>(), dz.data<T>());
    });
  }
}

}  // namespace ad
