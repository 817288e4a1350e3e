#include "kernels/confidence_loss.cuh"
#include "kernels/device_backend.h"

namespace ad::AD_BACKEND {

void confidence_loss_forward(const float* prob, const float* conf, const int64_t* labels, float* terms, int64_t rows,
                             int64_t k) {
  DeviceLauncher l;
  launch_confidence_loss_forward(l, prob, conf, labels, terms, rows, k);
}

void confidence_loss_backward(const float* prob, const float* conf, const int64_t* labels, const float* dconf_extra,
                              float ce_weight, float mse_weight, bool target_detached, float* dlogits,
                              float* dconf_pre, int64_t rows, int64_t k) {
  DeviceLauncher l;
  launch_confidence_loss_backward(l, prob, conf, labels, dconf_extra, ce_weight, mse_weight, target_detached,
                                  dlogits, dconf_pre, rows, k);
}

}  // namespace ad::AD_BACKEND
