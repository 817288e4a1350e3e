#include "kernels/device_backend.h"
#include "kernels/recon_loss.cuh"
#include "runtime/tensor.h"

namespace ad::AD_BACKEND {

void dense_recon_error_forward(const float* pred, const float* target, float* err, int64_t n, int64_t d,
                               ReconParams w) {
  DeviceLauncher l;
  launch_dense_recon_forward(l, pred, target, err, n, d, w);
}

void dense_recon_error_backward(const float* pred, const float* target, const float* err, const float* derr,
                                float* dpred, int64_t n, int64_t d, ReconParams w) {
  DeviceLauncher l;
  launch_dense_recon_backward(l, pred, target, err, derr, dpred, n, d, w);
}

void csr_recon_error_forward(const float* pred, const int64_t* row_ptr, const int32_t* col, const float* val,
                             float* err, int64_t n, int64_t d, ReconParams w) {
  DeviceLauncher l;
  launch_csr_recon_forward(l, pred, row_ptr, col, val, err, n, d, w);
}

void csr_recon_error_backward(const float* pred, const int64_t* row_ptr, const int32_t* col, const float* val,
                              const float* err, const float* derr, float* dpred, int64_t n, int64_t d,
                              ReconParams w) {
  DeviceLauncher l;
  launch_csr_recon_backward(l, pred, row_ptr, col, val, err, derr, dpred, n, d, w);
}

void structure_recon_error_forward(const float* z, int64_t n, int64_t h, const int64_t* row_ptr, const int32_t* col,
                                   const int64_t* ranges, ReconParams w, float* err) {
  DeviceLauncher l;
  launch_structure_recon_forward(l, z, n, h, row_ptr, col, ranges, w, err);
}

void structure_recon_error_backward(const float* z, int64_t n, int64_t h, const int64_t* row_ptr, const int32_t* col,
                                    const int64_t* ranges, ReconParams w, const float* err, const float* derr,
                                    float* dz) {
  DeviceLauncher l;
  Tensor coef = Tensor::empty({n}, DType::F32, kBackendDevice);
  launch_structure_recon_backward(l, z, n, h, row_ptr, col, ranges, w, err, derr, coef.data<float>(), dz);
}

}  // namespace ad::AD_BACKEND
