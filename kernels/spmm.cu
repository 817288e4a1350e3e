// SpMM on the GPU through cuSPARSE's generic API (on the emulated device: a host stand-in, below). The CSR here
// keeps i64 row offsets and i32 column indices; cuSPARSE's CSR SpMM is documented for matching offset/index
// types, so the row offsets are narrowed to an i32 copy when nnz and rows fit (the usual case), and otherwise
// the column indices are widened to an i64 copy. That copy, the descriptors and the buffer are made once per
// graph and cached (kernels/csr_cache.h: keyed by the matrix's buffers, dropped when they are freed).
#include <climits>
#include <memory>
#include <vector>

#include "kernels/csr_cache.h"
#include "kernels/device_backend.h"
#include "runtime/csr.h"
#include "runtime/device_counters.h"
#include "runtime/step_graph.h"
#include "runtime/memory.h"
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
  Tensor out = Tensor::empty({n}, dtype_of<To>(), kBackendDevice);
  unsigned blocks = blocks_for(n, 256);
  if (blocks > 4096) blocks = 4096;
  DeviceLauncher l;
  l.launch<CastIndexKernel<From, To>>(LaunchConfig{{blocks}, {256}, 0}, in, out.data<To>(), n);
  return out;
}

// Per graph (kernels/csr_cache.h): the index copy cuSPARSE needs and the offset/index arrays the call reads;
// on CUDA also the sparse descriptor over them, and per dense width n the dense descriptors (re-pointed each
// call with cusparseDnMatSetValues), the buffer size (queried once) and the buffer.
struct SpmmPlan {
  Tensor row_ptr32, col64;  // whichever cast the matrix needed
  const void* offsets = nullptr;
  const void* indices = nullptr;
  bool wide = false;  // i64 offsets and indices
#if !AD_EMULATED_BACKEND
  cusparseSpMatDescr_t a = nullptr;
  struct Width {
    int64_t n = 0;
    cusparseDnMatDescr_t b = nullptr, c = nullptr;
    Tensor buffer;
  };
  std::vector<Width> widths;
  ~SpmmPlan() {
    for (Width& w : widths) {
      if (w.c) cusparseDestroyDnMat(w.c);
      if (w.b) cusparseDestroyDnMat(w.b);
    }
    if (a) cusparseDestroySpMat(a);
  }
#endif
  SpmmPlan() = default;
  SpmmPlan(const SpmmPlan&) = delete;
  SpmmPlan& operator=(const SpmmPlan&) = delete;
};

std::unique_ptr<SpmmPlan> make_spmm_plan(const CsrMatrix& a) {
  const int64_t m = a.rows, nnz = a.nnz();
  auto p = std::make_unique<SpmmPlan>();
  if (nnz <= INT_MAX && m <= INT_MAX) {
    p->row_ptr32 = cast_indices<int64_t, int32_t>(a.row_ptr.data<int64_t>(), m + 1);
    p->offsets = p->row_ptr32.data<int32_t>();
    p->indices = a.col.data<int32_t>();
  } else {
    p->col64 = cast_indices<int32_t, int64_t>(a.col.data<int32_t>(), nnz);
    p->offsets = a.row_ptr.data<int64_t>();
    p->indices = p->col64.data<int64_t>();
    p->wide = true;
  }
#if !AD_EMULATED_BACKEND
  const cusparseIndexType_t index_type = p->wide ? CUSPARSE_INDEX_64I : CUSPARSE_INDEX_32I;
  AD_CUSPARSE_CHECK(cusparseCreateCsr(&p->a, m, a.cols, nnz, const_cast<void*>(p->offsets),
                                      const_cast<void*>(p->indices), a.val.data<float>(), index_type, index_type,
                                      CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
#endif
  return p;
}

// Never destroyed: its entries hold device memory, which must not be freed after the allocator's own
// static teardown at exit.
CsrDerivedCache<SpmmPlan>& spmm_plans() {
  static auto* cache = new CsrDerivedCache<SpmmPlan>();
  return *cache;
}

#if AD_EMULATED_BACKEND
// cuSPARSE's host stand-in on the emulated device (kernels/dispatch.h): C = A B + beta C over the plan's offset
// and index arrays, the ones the cuSPARSE call reads (so the index cast is exercised); one launch like the call.
template <class Index>
void host_spmm(int64_t m, int64_t n, const Index* offsets, const Index* indices, const float* val, const float* b,
               float* c, float beta) {
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (Index e = offsets[r]; e < offsets[r + 1]; ++e) acc += val[e] * b[int64_t(indices[e]) * n + j];
      c[r * n + j] = beta * c[r * n + j] + acc;
    }
}

void library_spmm(SpmmPlan& plan, const CsrMatrix& a, const float* b, float* c, int64_t n, float beta) {
  const bool wide = plan.wide;
  const void *offsets = plan.offsets, *indices = plan.indices;
  const float* val = a.val.data<float>();
  const int64_t rows = a.rows;
  detail::emulated_submit([=] {  // stream work: recorded in a capture (runtime/step_graph.h)
    if (wide)
      host_spmm(rows, n, static_cast<const int64_t*>(offsets), static_cast<const int64_t*>(indices), val, b, c, beta);
    else
      host_spmm(rows, n, static_cast<const int32_t*>(offsets), static_cast<const int32_t*>(indices), val, b, c, beta);
  });
  detail::count_launch();
}
#else
void library_spmm(SpmmPlan& plan, const CsrMatrix& a, const float* b, float* c, int64_t n, float beta) {
  const int64_t m = a.rows, k = a.cols;
  cusparseHandle_t h = cusparse_handle();
  const float alpha = 1.0f;
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
    w->buffer = Tensor::empty({int64_t(bytes) + 1}, DType::U8, kBackendDevice);
  }
  AD_CUSPARSE_CHECK(cusparseDnMatSetValues(w->b, const_cast<float*>(b)));
  AD_CUSPARSE_CHECK(cusparseDnMatSetValues(w->c, c));
  AD_CUSPARSE_CHECK(cusparseSpMM(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha,
                                 plan.a, w->b, &beta, w->c, CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, w->buffer.raw()));
  detail::count_launch();
  // The buffer is reused by the next SpMM with this graph and width; all work is on the one stream, so that
  // reuse is ordered after this call.
}
#endif
}  // namespace

namespace AD_BACKEND {

void spmm(const CsrMatrix& a, const float* b, float* c, int64_t n, bool accumulate) {
  const int64_t m = a.rows, nnz = a.nnz();
  if (m == 0 || n == 0) return;
  // A = 0: C = 0, or unchanged when accumulating. Otherwise, without accumulation C starts from zero, so
  // whatever the caller's buffer held (NaN included) cannot leak in through beta * C, whatever cuSPARSE does
  // with beta == 0.
  if (!accumulate) device_memset_zero(c, size_t(m * n) * sizeof(float), kBackendDevice);
  if (nnz == 0) return;
  SpmmPlan& plan = spmm_plans().get(a, [&] { return make_spmm_plan(a); });
  library_spmm(plan, a, b, c, n, accumulate ? 1.0f : 0.0f);
}

}  // namespace AD_BACKEND
}  // namespace ad
