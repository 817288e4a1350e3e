#include "kernels/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>

#include "kernels/dispatch.h"
#include "runtime/cpu_threads.h"

namespace ad {

namespace {
std::atomic<bool> g_gemm_tf32{false};
}  // namespace
void set_gemm_tf32(bool on) { g_gemm_tf32.store(on, std::memory_order_relaxed); }
bool gemm_tf32() { return g_gemm_tf32.load(std::memory_order_relaxed); }

std::string blas_kernel_note() {
  const std::string wide = wider_blas_coretype();
  if (wide.empty()) return "";
  return "note: OpenBLAS chose its " + blas_coretype() + " (SSE) kernels on a CPU with " +
         (wide == "SkylakeX" ? "AVX-512" : "AVX2") + " (the CPU model is probably hidden); CPU matrix products " +
         "are usually 2-3x faster with OPENBLAS_CORETYPE=" + wide + " set before the command";
}

namespace cpu {
namespace {
// OpenBLAS (Debian's pthreads build) keeps its own thread pool and OpenMP keeps another. A model alternates
// GEMMs with OpenMP elementwise loops, and the two pools then spin and yield against each other: on two
// cores half of the CPU time went to that (perf: libgomp spin + sched_yield). So BLAS runs in the calling
// thread only and a large product is split over OpenMP threads by blocks of rows (or columns) of C.
void blas_single_threaded() {
  static const bool once = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
}

template <class T>
void blas_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
               const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}
}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == T(0)) {  // BLAS may leave C untouched here; define it: C = beta * C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  blas_single_threaded();
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (threads <= 1 || flops < 4e6) {
    blas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Split the longer side of C into one block per thread (rows of op(A), or columns of op(B)).
  const bool by_rows = M >= N;
  const int64_t len = by_rows ? M : N, parts = std::min<int64_t>(threads, len);
#pragma omp parallel for num_threads(int(parts)) schedule(static, 1)
  for (int64_t p = 0; p < parts; ++p) {
    const int64_t lo = len * p / parts, hi = len * (p + 1) / parts;
    if (lo == hi) continue;
    if (by_rows) {
      const T* a = trans_a ? A + lo : A + lo * lda;
      blas_gemm(trans_a, trans_b, hi - lo, N, K, alpha, a, lda, B, ldb, beta, C + lo * ldc, ldc);
    } else {
      const T* b = trans_b ? B + lo * ldb : B + lo;
      blas_gemm(trans_a, trans_b, M, hi - lo, K, alpha, A, lda, b, ldb, beta, C + lo, ldc);
    }
  }
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
  if (A.is_device()) {
    check_dtype(op, A, DType::F32);
    AD_ON_DEVICE(op, A, gemm(trans_a, trans_b, M, N, K, float(alpha), A.data<float>(), lda,
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
