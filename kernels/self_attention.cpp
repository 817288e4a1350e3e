#include "kernels/self_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/fast_math.h"
#include "kernels/gemm.h"

namespace ad {

namespace cpu {

namespace {
// U = tanh(U + b1) row by row with fast_math.h's tanh_of; the f32 version is compiled also for AVX2 and
// AVX-512 and picked at run time: this pass was a quarter of inference when built for baseline x86-64 only.
template <class T> inline void bias_tanh_rows(T* U, const T* b1, int64_t rows, int64_t A) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t a = 0; a < A; ++a) U[r * A + a] = tanh_of(U[r * A + a] + b1[a]);
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void bias_tanh(float* U, const float* b1, int64_t rows,
                                                                             int64_t A) {
  bias_tanh_rows(U, b1, rows, A);
}
void bias_tanh(double* U, const double* b1, int64_t rows, int64_t A) { bias_tanh_rows(U, b1, rows, A); }
}  // namespace

// The CPU reference: BLAS products over the token rows, loops for the per-window parts. The forward works
// through the batch in chunks of windows small enough that a chunk's U (rows x A) stays in the L2 cache
// between the product that writes it, the tanh, and the product that reads it (at B = 1,000 inference
// windows, U is 24 MB); chunks run on OpenMP threads, each product then in its thread.
template <class T>
void self_attention_forward(const SelfAttentionDims& n, const T* H, const T* W1, const T* b1, const T* W2,
                            const T* b2, T* U, T* attn, T* M) {
  const int64_t B = n.batch, Tn = n.time, D = n.hidden, A = n.attention, K = n.heads;
  const int64_t chunk = std::max<int64_t>(1, (256 * 1024 / int64_t(sizeof(T))) / (Tn * A));  // windows per chunk
  const int64_t chunks = (B + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (B * Tn * A * D >= kCpuParallelMin * 64 && chunks > 1)
  for (int64_t ci = 0; ci < chunks; ++ci) {
    const int64_t b0 = ci * chunk, nb = std::min(chunk, B - b0), rows = nb * Tn;
    const T* Hc = H + b0 * Tn * D;
    T* Uc = U + b0 * Tn * A;
    gemm<T>(false, true, rows, A, D, T(1), Hc, D, W1, D, T(0), Uc, A);  // H W1^T
    bias_tanh(Uc, b1, rows, A);
    std::vector<T> S(static_cast<size_t>(rows * K));
    gemm<T>(false, true, rows, K, A, T(1), Uc, A, W2, A, T(0), S.data(), K);  // U W2^T
    for (int64_t b = b0; b < b0 + nb; ++b) {
      for (int64_t k = 0; k < K; ++k) {
        T* row = attn + (b * K + k) * Tn;
        T m = -INFINITY;
        for (int64_t t = 0; t < Tn; ++t) {
          row[t] = S[size_t(((b - b0) * Tn + t) * K + k)] + b2[k];
          m = std::max(m, row[t]);
        }
        double sum = 0;
        for (int64_t t = 0; t < Tn; ++t) sum += std::exp(double(row[t] - m));
        for (int64_t t = 0; t < Tn; ++t) row[t] = T(std::exp(double(row[t] - m)) / sum);
      }
      // M[b] = attn[b] H[b]: K x T times T x D.
      for (int64_t k = 0; k < K; ++k) {
        T* mrow = M + (b * K + k) * D;
        std::fill(mrow, mrow + D, T(0));
        for (int64_t t = 0; t < Tn; ++t) {
          const T w = attn[(b * K + k) * Tn + t];
          const T* h = H + (b * Tn + t) * D;
          for (int64_t d = 0; d < D; ++d) mrow[d] += w * h[d];
        }
      }
    }
  }
}

template <class T>
void self_attention_backward(const SelfAttentionDims& n, const T* H, const T* W1, const T* W2, const T* U,
                             const T* attn, const T* dM, T* dH, T* dW1, T* db1, T* dW2, T* db2) {
  const int64_t B = n.batch, Tn = n.time, D = n.hidden, A = n.attention, K = n.heads, rows = B * Tn;
  std::vector<T> dS(size_t(rows * K)), dZ(size_t(rows * A));
#pragma omp parallel for if (rows * D * K >= kCpuParallelMin)
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t k = 0; k < K; ++k) {
      const T* a = attn + (b * K + k) * Tn;
      const T* g = dM + (b * K + k) * D;
      std::vector<T> dA(static_cast<size_t>(Tn));
      double dot = 0;
      for (int64_t t = 0; t < Tn; ++t) {
        const T* h = H + (b * Tn + t) * D;
        T s = 0;
        for (int64_t d = 0; d < D; ++d) s += g[d] * h[d];
        dA[size_t(t)] = s;
        dot += double(a[t]) * s;
      }
      for (int64_t t = 0; t < Tn; ++t) dS[size_t((b * Tn + t) * K + k)] = T(a[t] * (dA[size_t(t)] - dot));
    }
    // The attention path of dH: attn[b]^T dM[b].
    for (int64_t t = 0; t < Tn; ++t) {
      T* dh = dH + (b * Tn + t) * D;
      std::fill(dh, dh + D, T(0));
      for (int64_t k = 0; k < K; ++k) {
        const T w = attn[(b * K + k) * Tn + t];
        const T* g = dM + (b * K + k) * D;
        for (int64_t d = 0; d < D; ++d) dh[d] += w * g[d];
      }
    }
  }
  gemm<T>(false, false, rows, A, K, T(1), dS.data(), K, W2, A, T(0), dZ.data(), A);  // dU = dS W2
#pragma omp parallel for if (rows * A >= kCpuParallelMin)
  for (int64_t i = 0; i < rows * A; ++i) dZ[size_t(i)] *= T(1) - U[i] * U[i];
  gemm<T>(false, false, rows, D, A, T(1), dZ.data(), A, W1, D, T(1), dH, D);  // dH += dZ W1
  gemm<T>(true, false, A, D, rows, T(1), dZ.data(), A, H, D, T(1), dW1, D);   // dW1 += dZ^T H
  gemm<T>(true, false, K, A, rows, T(1), dS.data(), K, U, A, T(1), dW2, A);   // dW2 += dS^T U
  for (int64_t r = 0; r < rows; ++r) {  // bias gradients: column sums in row order
    for (int64_t a = 0; a < A; ++a) db1[a] += dZ[size_t(r * A + a)];
    for (int64_t k = 0; k < K; ++k) db2[k] += dS[size_t(r * K + k)];
  }
}

template void self_attention_forward<float>(const SelfAttentionDims&, const float*, const float*, const float*,
                                            const float*, const float*, float*, float*, float*);
template void self_attention_forward<double>(const SelfAttentionDims&, const double*, const double*, const double*,
                                             const double*, const double*, double*, double*, double*);
template void self_attention_backward<float>(const SelfAttentionDims&, const float*, const float*, const float*,
                                             const float*, const float*, const float*, float*, float*, float*,
                                             float*, float*);
template void self_attention_backward<double>(const SelfAttentionDims&, const double*, const double*, const double*,
                                              const double*, const double*, const double*, double*, double*,
                                              double*, double*, double*);
}  // namespace cpu

namespace {
constexpr const char* kForward = "self_attention_forward";
constexpr const char* kBackward = "self_attention_backward";

void expect_shape(const char* op, const char* what, const Tensor& t, const Shape& want, const Tensor& like) {
  AD_CHECK(t.defined() && t.shape() == want, op, what, " must be ", want.str(), ", got ",
           t.defined() ? t.describe() : std::string("undefined"));
  AD_CHECK(t.dtype() == like.dtype() && t.device() == like.device(), op, what, " ", t.describe(),
           " must match H ", like.describe());
}

SelfAttentionDims dims_of(const char* op, const Tensor& H, const Tensor& W1, const Tensor& W2) {
  check_floating(op, H);
  AD_CHECK(H.dim() == 3, op, "H must be [batch, time, hidden], got ", H.describe());
  AD_CHECK(W1.dim() == 2 && W2.dim() == 2, op, "W1 [attention, hidden] and W2 [heads, attention] expected, got ",
           W1.describe(), " and ", W2.describe());
  SelfAttentionDims n{H.size(0), H.size(1), H.size(2), W1.size(0), W2.size(0)};
  AD_CHECK(n.time >= 1 && n.hidden >= 1 && n.attention >= 1 && n.heads >= 1, op,
           "time, hidden, attention and heads must be >= 1: H ", H.describe(), ", W1 ", W1.describe(), ", W2 ",
           W2.describe());
  expect_shape(op, "W1", W1, Shape{n.attention, n.hidden}, H);
  expect_shape(op, "W2", W2, Shape{n.heads, n.attention}, H);
  // The emulated backend's copy of the check (the same code as the CUDA one) exists in every build.
  if (H.is_device())
    AD_CHECK(emulated::self_attention_fits(n), op, "a window of ", n.time, " x ", n.hidden, " with ", n.attention,
             " attention units does not fit the fused kernel's shared memory");
  return n;
}
}  // namespace

void self_attention_forward(const Tensor& H, const Tensor& W1, const Tensor& b1, const Tensor& W2, const Tensor& b2,
                            Tensor& U, Tensor& attn, Tensor& M) {
  const SelfAttentionDims n = dims_of(kForward, H, W1, W2);
  expect_shape(kForward, "b1", b1, Shape{n.attention}, H);
  expect_shape(kForward, "b2", b2, Shape{n.heads}, H);
  expect_shape(kForward, "U", U, Shape{n.batch, n.time, n.attention}, H);
  expect_shape(kForward, "attn", attn, Shape{n.batch, n.heads, n.time}, H);
  expect_shape(kForward, "M", M, Shape{n.batch, n.heads, n.hidden}, H);
  if (n.batch == 0) return;
  if (H.is_device()) {
    check_dtype(kForward, H, DType::F32);
    AD_ON_DEVICE(kForward, H, self_attention_forward(n, H.data<float>(), W1.data<float>(), b1.data<float>(),
                                                     W2.data<float>(), b2.data<float>(), U.data<float>(),
                                                     attn.data<float>(), M.data<float>()));
  } else {
    dispatch_floating(kForward, H.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::self_attention_forward<T>(n, H.data<T>(), W1.data<T>(), b1.data<T>(), W2.data<T>(), b2.data<T>(),
                                     U.data<T>(), attn.data<T>(), M.data<T>());
    });
  }
}

void self_attention_backward(const Tensor& H, const Tensor& W1, const Tensor& W2, const Tensor& U,
                             const Tensor& attn, const Tensor& dM, Tensor& dH, Tensor& dW1, Tensor& db1, Tensor& dW2,
                             Tensor& db2) {
  const SelfAttentionDims n = dims_of(kBackward, H, W1, W2);
  expect_shape(kBackward, "U", U, Shape{n.batch, n.time, n.attention}, H);
  expect_shape(kBackward, "attn", attn, Shape{n.batch, n.heads, n.time}, H);
  expect_shape(kBackward, "dM", dM, Shape{n.batch, n.heads, n.hidden}, H);
  expect_shape(kBackward, "dH", dH, H.shape(), H);
  expect_shape(kBackward, "dW1", dW1, W1.shape(), H);
  expect_shape(kBackward, "db1", db1, Shape{n.attention}, H);
  expect_shape(kBackward, "dW2", dW2, W2.shape(), H);
  expect_shape(kBackward, "db2", db2, Shape{n.heads}, H);
  if (n.batch == 0) return;
  if (H.is_device()) {
    check_dtype(kBackward, H, DType::F32);
    Tensor dZ = Tensor::empty({n.batch, n.time, n.attention}, DType::F32, H.device());
    Tensor dS = Tensor::empty({n.batch, n.time, n.heads}, DType::F32, H.device());
    AD_ON_DEVICE(kBackward, H,
                 self_attention_backward(n, H.data<float>(), W1.data<float>(), W2.data<float>(), U.data<float>(),
                                         attn.data<float>(), dM.data<float>(), dH.data<float>(), dW1.data<float>(),
                                         db1.data<float>(), dW2.data<float>(), db2.data<float>(), dZ.data<float>(),
                                         dS.data<float>()));
  } else {
    dispatch_floating(kBackward, H.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::self_attention_backward<T>(n, H.data<T>(), W1.data<T>(), W2.data<T>(), U.data<T>(), attn.data<T>(),
                                      dM.data<T>(), dH.data<T>(), dW1.data<T>(), db1.data<T>(), dW2.data<T>(),
                                      db2.data<T>());
    });
  }
}

}  // namespace ad
