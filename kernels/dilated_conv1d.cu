#include "kernels/device_backend.h"
#include "kernels/dilated_conv1d.cuh"
#include "kernels/dilated_conv1d_gemm.cuh"
#include "kernels/gemm.h"
#include "runtime/tensor.h"

namespace ad::AD_BACKEND {

namespace {
// The backend's GEMM (cuBLAS, or the emulated device's stand-in) as the GEMM launchers' callable.
const auto backend_gemm = [](bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                             int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
};

bool use_gemm(const Conv1dShape& s, ConvPath path) {
  return path == ConvPath::Gemm || (path == ConvPath::Auto && conv_use_gemm(s));
}
ConvTilePath tile_path(ConvPath path) {
  return path == ConvPath::Tile ? ConvTilePath::Narrow
                                : (path == ConvPath::WideTile ? ConvTilePath::Wide : ConvTilePath::Auto);
}
Tensor workspace(int64_t floats) { return Tensor::empty({floats + 1}, DType::F32, kBackendDevice); }
}  // namespace

void dilated_conv1d_forward(const Conv1dShape& s, const float* x, const float* w, const float* bias, float* y,
                            ConvPath path) {
  DeviceLauncher l;
  if (use_gemm(s, path)) {
    Tensor cols = workspace(conv_gemm_plan(s, s.cin).cols_floats);
    launch_conv_gemm_forward(l, backend_gemm, s, x, w, bias, y, cols.data<float>());
  } else {
    launch_dilated_conv1d_forward(l, s, x, w, bias, y, tile_path(path));
  }
}

void dilated_conv1d_backward_data(const Conv1dShape& s, const float* dy, const float* w, float* dx, ConvPath path) {
  DeviceLauncher l;
  if (use_gemm(s, path)) {
    Tensor cols = workspace(conv_gemm_plan(s, s.cout).cols_floats), wt = workspace(conv_gemm_wt_floats(s));
    launch_conv_gemm_backward_data(l, backend_gemm, s, dy, w, dx, cols.data<float>(), wt.data<float>());
  } else {
    launch_dilated_conv1d_backward_data(l, s, dy, w, dx, tile_path(path));
  }
}

void dilated_conv1d_backward_params(const Conv1dShape& s, const float* x, const float* dy, float* dw, float* db,
                                    ConvPath path) {
  DeviceLauncher l;
  if (use_gemm(s, path)) {
    Tensor cols = workspace(conv_gemm_plan(s, s.cin).cols_floats);
    Tensor partial = workspace(db ? column_sum_workspace(s.batch * s.steps, s.cout) : 0);
    launch_conv_gemm_backward_params(l, backend_gemm, s, x, dy, dw, db, cols.data<float>(), partial.data<float>());
  } else {
    Tensor partial = workspace(conv_weight_grad_workspace(s));
    launch_dilated_conv1d_backward_params(l, s, x, dy, dw, db, partial.data<float>());
  }
}

}  // namespace ad::AD_BACKEND
