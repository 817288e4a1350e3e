// Dense matrix product C = alpha * op(A) * op(B) + beta * C on 2-D row-major tensors, op = transpose or not.
// CPU: OpenBLAS (f32 and f64). CUDA: cuBLAS (f32), using the row-major trick C^T = op(B)^T op(A)^T in
// column-major storage. No hand-written kernel, so there is no emulated test, only a GPU parity test.
#pragma once
#include <cstdint>

#include "runtime/tensor.h"

namespace ad {

// A: [M, K] (or [K, M] when trans_a), B: [K, N] (or [N, K] when trans_b), C: [M, N].
// With beta == 0, C is only written (its old contents may be NaN). C must not alias A or B.
void gemm(bool trans_a, bool trans_b, double alpha, const Tensor& A, const Tensor& B, double beta, Tensor& C);

namespace cpu {
// Row-major: lda/ldb/ldc are the row strides of A, B and C as stored.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);
}  // namespace cpu

namespace cuda {
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
}  // namespace cuda

}  // namespace ad
