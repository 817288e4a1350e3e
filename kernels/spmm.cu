// SpMM on the GPU through cuSPARSE's generic API. The CSR here keeps i64 row offsets and i32 column
// indices; cuSPARSE's CSR SpMM is documented for matching offset/index types, so the row offsets are
// narrowed to an i32 copy when nnz and rows fit (the usual case), and otherwise the column indices are
// widened to an i64 copy. That copy, the descriptors and the buffer are made once per graph and cached
// (kernels/csr_cache.h: keyed by the matrix's buffers, dropped when they are freed).
#include <climits>
#include <memory>
#include <vector>

#include "kernels/csr_cache.h"
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

// Per graph (kernels/csr_cache.h): the index copy cuSPARSE needs, the sparse descriptor over it, and per
// dense width n the dense descriptors (re-pointed each call with cusparseDnMatSetValues), the buffer size
// (queried once) and the buffer.
struct SpmmPlan {
  Tensor row_ptr32, col64;  // whichever cast the matrix needed
  cusparseSpMatDescr_t a = nullptr;
  struct Width {
    int64_t n = 0;
    cusparseDnMatDescr_t b = nullptr, c = nullptr;
    Tensor buffer;
  };
  std::vector<Width> widths;
  SpmmPlan() = default;
  SpmmPlan(const SpmmPlan&) = delete;
  SpmmPlan& operator=(const SpmmPlan&) = delete;
  ~SpmmPlan() {
    for (Width& w : widths) {
      if (w.c) cusparseDestroyDnMat(w.c);
      if (w.b) cusparseDestroyDnMat(w.b);
    }
    if (a) cusparseDestroySpMat(a);
  }
};

std::unique_ptr<SpmmPlan> make_spmm_plan(const CsrMatrix& a) {
  const int64_t m = a.rows, k = a.cols, nnz = a.nnz();
  auto p = std::make_unique<SpmmPlan>();
  void* offsets;
  void* indices;
  cusparseIndexType_t index_type;
  if (nnz <= INT_MAX && m <= INT_MAX) {
    p->row_ptr32 = cast_indices<int64_t, int32_t>(a.row_ptr.data<int64_t>(), m + 1);
    offsets = p->row_ptr32.data<int32_t>();
    indices = a.col.data<int32_t>();
    index_type = CUSPARSE_INDEX_32I;
  } else {
    p->col64 = cast_indices<int32_t, int64_t>(a.col.data<int32_t>(), nnz);
    offsets = a.row_ptr.data<int64_t>();
    indices = p->col64.data<int64_t>();
    index_type = CUSPARSE_INDEX_64I;
  }
  AD_CUSPARSE_CHECK(cusparseCreateCsr(&p->a, m, k, nnz, offsets, indices, a.val.data<float>(), index_type,
                                      index_type, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  return p;
}

// Never destroyed: its entries hold device memory, which must not be freed after the allocator's own
// static teardown at exit.
CsrDerivedCache<SpmmPlan>& spmm_plans() {
  static auto* cache = new CsrDerivedCache<SpmmPlan>();
  return *cache;
}
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

  SpmmPlan& plan = spmm_plans().get(a, [&] { return make_spmm_plan(a); });
  cusparseHandle_t h = cusparse_handle();
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  SpmmPlan::Width* w = nullptr;
  for (SpmmPlan::Width& x : plan.widths)
    if (x.n == n) w = &x;
  if (!w) {
    plan.widths.emplace_back();
    w = &plan.widths.back();
    w->n = n;
    AD_CUSPARSE_CHECK(cusparseCreateDnMat(&w->b, k, n, n, const_cast<float*>(b), CUDA_R_32F, CUSPARSE_ORDER_ROW));
    AD_CUSPARSE_CHECK(cusparseCreateDnMat(&w->c, m, n, n, c, CUDA_R_32F, CUSPARSE_ORDER_ROW));
    size_t bytes = 0;  // the same for beta 0 and 1: both are host scalars of the same type
    AD_CUSPARSE_CHECK(cusparseSpMM_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                              &alpha, plan.a, w->b, &beta, w->c, CUDA_R_32F,
                                              CUSPARSE_SPMM_ALG_DEFAULT, &bytes));
    w->buffer = Tensor::empty({int64_t(bytes) + 1}, DType::U8, Device::CUDA);
  }
  AD_CUSPARSE_CHECK(cusparseDnMatSetValues(w->b, const_cast<float*>(b)));
  AD_CUSPARSE_CHECK(cusparseDnMatSetValues(w->c, c));
  AD_CUSPARSE_CHECK(cusparseSpMM(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha,
                                 plan.a, w->b, &beta, w->c, CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, w->buffer.raw()));
  detail::count_launch();
  // The buffer is reused by the next SpMM with this graph and width; all work is on the one stream, so that
  // reuse is ordered after this call.
}

}  // namespace cuda
}  // namespace ad
