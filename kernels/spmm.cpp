#include "kernels/spmm.h"

#include <algorithm>
#include <vector>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
namespace {
// C[i, :] (+)= sum_e val[e] * B[col[e], :], accumulated in double per row.
template <class T>
void spmm(const int64_t* rp, const int32_t* col, const T* val, int64_t M, int64_t N, const T* B, T* C,
          bool accumulate) {
#pragma omp parallel if (M * N > 16384)
  {
    std::vector<double> acc(static_cast<size_t>(N));
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < M; ++i) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t e = rp[i]; e < rp[i + 1]; ++e) {
        const double v = double(val[e]);
        const T* b = B + int64_t(col[e]) * N;
        for (int64_t c = 0; c < N; ++c) acc[c] += v * double(b[c]);
      }
      T* ci = C + i * N;
      if (accumulate)
        for (int64_t c = 0; c < N; ++c) ci[c] = T(double(ci[c]) + acc[c]);
      else
        for (int64_t c = 0; c < N; ++c) ci[c] = T(acc[c]);
    }
  }
}
}  // namespace
}  // namespace cpu

AD_DEVICE_BACKENDS(
void spmm(const CsrMatrix& a, const float* b, float* c, int64_t n, bool accumulate);  // spmm.cu
)  // AD_DEVICE_BACKENDS

void spmm(const CsrMatrix& a, const Tensor& b, Tensor& c, bool accumulate) {
  const char* op = "spmm";
  AD_CHECK(a.row_ptr.defined() && a.row_ptr.dtype() == DType::I64 && a.row_ptr.numel() == a.rows + 1 &&
               a.col.defined() && a.col.dtype() == DType::I32,
           op, "A is not a CSR matrix: ", a.describe());
  AD_CHECK(a.has_values(), op, "A needs values, got ", a.describe());
  AD_CHECK(a.val.numel() == a.nnz(), op, "A has ", a.val.numel(), " values for ", a.nnz(), " nonzeros");
  AD_CHECK(b.defined() && c.defined() && b.dim() == 2 && c.dim() == 2, op, "B and C must be 2-D, got ",
           b.defined() ? b.describe() : std::string("undefined"), ", ",
           c.defined() ? c.describe() : std::string("undefined"));
  check_floating(op, b);
  AD_CHECK(a.val.dtype() == b.dtype() && b.dtype() == c.dtype(), op, "dtype mismatch: ", a.describe(), ", ",
           b.describe(), ", ", c.describe());
  AD_CHECK(a.device() == b.device() && a.col.device() == b.device() && a.val.device() == b.device(), op,
           "A and B on different devices: ", a.describe(), ", ", b.describe());
  check_same_device(op, b, c);
  AD_CHECK(b.size(0) == a.cols && c.size(0) == a.rows && c.size(1) == b.size(1), op, "shapes do not compose: ",
           a.describe(), " x ", b.describe(), " -> ", c.describe());
  const int64_t M = a.rows, N = b.size(1);
  if (b.is_device()) {
    check_dtype(op, b, DType::F32);
    AD_ON_DEVICE(op, b, spmm(a, b.data<float>(), c.data<float>(), N, accumulate));
  } else {
    dispatch_floating(op, b.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::spmm<T>(a.row_ptr.data<int64_t>(), a.col.data<int32_t>(), a.val.data<T>(), M, N, b.data<T>(),
                   c.data<T>(), accumulate);
    });
  }
}

}  // namespace ad
