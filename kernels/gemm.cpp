#include "kernels/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == T(0)) {  // BLAS may leave C untouched here; define it: C = beta * C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                          int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t);
}  // namespace cpu

void gemm(bool trans_a, bool trans_b, double alpha, const Tensor& A, const Tensor& B, double beta, Tensor& C) {
  const char* op = "gemm";
  AD_CHECK(A.dim() == 2 && B.dim() == 2 && C.dim() == 2, op, "expected 2-D tensors, got ", A.describe(), ", ",
           B.describe(), ", ", C.describe());
  check_floating(op, A);
  AD_CHECK(A.dtype() == B.dtype() && A.dtype() == C.dtype(), op, "dtype mismatch: ", A.describe(), ", ",
           B.describe(), ", ", C.describe());
  check_same_device(op, A, B);
  check_same_device(op, A, C);
  int64_t M = trans_a ? A.size(1) : A.size(0), K = trans_a ? A.size(0) : A.size(1);
  int64_t Kb = trans_b ? B.size(1) : B.size(0), N = trans_b ? B.size(0) : B.size(1);
  AD_CHECK(K == Kb && C.size(0) == M && C.size(1) == N, op, "shapes do not compose: ", A.describe(),
           trans_a ? "^T" : "", " x ", B.describe(), trans_b ? "^T" : "", " -> ", C.describe());
  int64_t lda = std::max<int64_t>(A.size(1), 1), ldb = std::max<int64_t>(B.size(1), 1),
          ldc = std::max<int64_t>(N, 1);
  if (A.is_cuda()) {
    check_dtype(op, A, DType::F32);
    AD_WITH_CUDA_ONLY(op, cuda::gemm(trans_a, trans_b, M, N, K, float(alpha), A.data<float>(), lda,
                                     B.data<float>(), ldb, float(beta), C.data<float>(), ldc));
  } else {
    dispatch_floating(op, A.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::gemm<T>(trans_a, trans_b, M, N, K, T(alpha), A.data<T>(), lda, B.data<T>(), ldb, T(beta), C.data<T>(),
                   ldc);
    });
  }
}

}  // namespace ad
