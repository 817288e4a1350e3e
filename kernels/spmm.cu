// SpMM on the GPU through cuSPARSE's generic API. The CSR here keeps i64 row offsets and i32 column
// indices; cuSPARSE's CSR SpMM is documented for matching offset/index types, so the call narrows the row
// offsets to an i32 copy when nnz and rows fit (the usual case), and otherwise widens the column indices
// to an i64 copy, both into caching-allocator scratch for the duration of the call.
#include <climits>

#include "kernels/cuda_launch.cuh"
#include "runtime/csr.h"
#include "runtime/device_counters.h"
#include "runtime/tensor.h"

namespace ad {

namespace {
template <class From, class To> struct CastIndexKernel {
  template <class Ctx> AD_HD static void run(Ctx& ctx, const From* in, To* out, int64_t n) {
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride)
      out[i] = To(in[i]);
  }
};

template <class From, class To> Tensor cast_indices(const From* in, int64_t n) {
  Tensor out = Tensor::empty({n}, dtype_of<To>(), Device::CUDA);
  unsigned blocks = blocks_for(n, 256);
  if (blocks > 4096) blocks = 4096;
  CudaLauncher l;
  l.launch<CastIndexKernel<From, To>>(LaunchConfig{{blocks}, {256}, 0}, in, out.data<To>(), n);
  return out;
}

// Destroys the cuSPARSE descriptors on every path out of spmm (errors throw).
struct Descriptors {
  cusparseSpMatDescr_t a = nullptr;
  cusparseDnMatDescr_t b = nullptr, c = nullptr;
  ~Descriptors() {
    if (c) cusparseDestroyDnMat(c);
    if (b) cusparseDestroyDnMat(b);
    if (a) cusparseDestroySpMat(a);
  }
};
}  // namespace

namespace cuda {

void spmm(const CsrMatrix& a, const float* b, float* c, int64_t n, bool accumulate) {
  const int64_t m = a.rows, k = a.cols, nnz = a.nnz();
  if (m == 0 || n == 0) return;
  if (nnz == 0) {  // A = 0: C = 0, or unchanged when accumulating
    if (!accumulate) {
      AD_CUDA_CHECK(cudaMemsetAsync(c, 0, size_t(m * n) * sizeof(float), cuda_stream()));
      detail::count_launch();
    }
    return;
  }
  // Without accumulation C starts from zero, so whatever the caller's buffer held (NaN included) cannot
  // leak in through beta * C, whatever cuSPARSE does with beta == 0.
  if (!accumulate) {
    AD_CUDA_CHECK(cudaMemsetAsync(c, 0, size_t(m * n) * sizeof(float), cuda_stream()));
    detail::count_launch();
  }

  Tensor row_ptr32, col64;
  void* offsets;
  void* indices;
  cusparseIndexType_t index_type;
  if (nnz <= INT_MAX && m <= INT_MAX) {
    row_ptr32 = cast_indices<int64_t, int32_t>(a.row_ptr.data<int64_t>(), m + 1);
    offsets = row_ptr32.data<int32_t>();
    indices = a.col.data<int32_t>();
    index_type = CUSPARSE_INDEX_32I;
  } else {
    col64 = cast_indices<int32_t, int64_t>(a.col.data<int32_t>(), nnz);
    offsets = a.row_ptr.data<int64_t>();
    indices = col64.data<int64_t>();
    index_type = CUSPARSE_INDEX_64I;
  }

  cusparseHandle_t h = cusparse_handle();
  Descriptors d;
  AD_CUSPARSE_CHECK(cusparseCreateCsr(&d.a, m, k, nnz, offsets, indices, a.val.data<float>(), index_type,
                                      index_type, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  AD_CUSPARSE_CHECK(
      cusparseCreateDnMat(&d.b, k, n, n, const_cast<float*>(b), CUDA_R_32F, CUSPARSE_ORDER_ROW));
  AD_CUSPARSE_CHECK(cusparseCreateDnMat(&d.c, m, n, n, c, CUDA_R_32F, CUSPARSE_ORDER_ROW));
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  size_t bytes = 0;
  AD_CUSPARSE_CHECK(cusparseSpMM_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                            &alpha, d.a, d.b, &beta, d.c, CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT,
                                            &bytes));
  Tensor buffer = Tensor::empty({int64_t(bytes)}, DType::U8, Device::CUDA);
  AD_CUSPARSE_CHECK(cusparseSpMM(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, d.a,
                                 d.b, &beta, d.c, CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, buffer.raw()));
  detail::count_launch();
  // The index copies and the buffer go back to the caching allocator here; all work is on the one
  // stream, so a later reuse of those blocks is ordered after this SpMM.
}

}  // namespace cuda
}  // namespace ad
