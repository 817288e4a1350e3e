#include "kernels/device_backend.h"
#include "kernels/gemm.h"
#include "runtime/cuda_context.h"
#include "runtime/device_counters.h"
#include "runtime/memory.h"

namespace ad::AD_BACKEND {

#if AD_EMULATED_BACKEND
// cuBLAS's host stand-in on the emulated device (kernels/dispatch.h): the CPU reference (OpenBLAS), one launch
// like the library call.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 && beta == 0.0f) return device_memset_zero(C, size_t(M * ldc) * sizeof(float), kBackendDevice);
  detail::emulated_submit([=] {  // stream work: recorded in a capture (runtime/step_graph.h)
    if (K == 0) {
      for (int64_t i = 0; i < M * ldc; ++i) C[i] *= beta;
    } else {
      cpu::gemm<float>(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
  });
  detail::count_launch();
}
#else
// Row-major C[M,N] is column-major C^T[N,M] = op(B)^T op(A)^T; a row-major buffer read as column-major is
// already the transpose, so cuBLAS gets B first with B's own transpose flag, then A.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta * C (ldc == N for the tensor front-end, so C is contiguous)
    if (beta == 0.0f) return device_memset_zero(C, size_t(M * ldc) * sizeof(float), kBackendDevice);
    AD_CUBLAS_CHECK(cublasSscal(cublas_handle(), int(M * ldc), &beta, C, 1));
    detail::count_launch();
    return;
  }
  cublasOperation_t ta = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (gemm_tf32())
    AD_CUBLAS_CHECK(cublasGemmEx(cublas_handle(), tb, ta, int(N), int(M), int(K), &alpha, B, CUDA_R_32F, int(ldb), A,
                                 CUDA_R_32F, int(lda), &beta, C, CUDA_R_32F, int(ldc), CUBLAS_COMPUTE_32F_FAST_TF32,
                                 CUBLAS_GEMM_DEFAULT));
  else
    AD_CUBLAS_CHECK(cublasSgemm(cublas_handle(), tb, ta, int(N), int(M), int(K), &alpha, B, int(ldb), A, int(lda),
                                &beta, C, int(ldc)));
  detail::count_launch();
}
#endif

}  // namespace ad::AD_BACKEND
