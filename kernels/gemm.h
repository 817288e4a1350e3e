// Dense matrix product C = alpha * op(A) * op(B) + beta * C on 2-D row-major tensors, op = transpose or not.
// CPU: OpenBLAS (f32 and f64). CUDA: cuBLAS (f32), using the row-major trick C^T = op(B)^T op(A)^T in
// column-major storage. No hand-written kernel, so there is no emulated test, only a GPU parity test.
#pragma once
#include <cstdint>
#include <string>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

// A: [M, K] (or [K, M] when trans_a), B: [K, N] (or [N, K] when trans_b), C: [M, N].
// With beta == 0, C is only written (its old contents may be NaN). C must not alias A or B.
void gemm(bool trans_a, bool trans_b, double alpha, const Tensor& A, const Tensor& B, double beta, Tensor& C);

// TF32 tensor-core math for the GPU's f32 matrix products (cuBLAS's CUBLAS_COMPUTE_32F_FAST_TF32: inputs
// rounded to 10 mantissa bits, products summed in f32; about 1e-3 relative error instead of 1e-6, for several
// times the f32 throughput on A100/H100). Off by default; parity tests compare against f32 references and run
// with it off. A process-wide switch (the models set it from their `tf32` setting); CPU products ignore it.
void set_gemm_tf32(bool on);
bool gemm_tf32();

// One line for the user when OpenBLAS runs SSE-only kernels on a CPU with AVX2 or AVX-512, else empty. A
// virtual machine that hides the CPU model makes OpenBLAS's run-time detection fall back to its "Prescott"
// kernels; on our 2-core build machine that made GEMMs 2-3x slower (GLEAD's CPU epoch 1.41x PyTorch instead
// of 2.09x). OPENBLAS_CORETYPE must be set before the program starts (OpenBLAS reads it when it loads), so we
// say so rather than set it.
std::string blas_kernel_note();

namespace cpu {
// Row-major: lda/ldb/ldc are the row strides of A, B and C as stored.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
