// Layer normalisation over the last axis (Ba et al. 2016; torch.nn.LayerNorm(C) with its affine parameters):
//   mean_r = (1/C) sum_c x_rc;  var_r = (1/C) sum_c (x_rc - mean_r)^2  (biased, as PyTorch);  rstd_r = 1/sqrt(var_r+eps)
//   y_rc   = (x_rc - mean_r) rstd_r gamma_c + beta_c
// The forward keeps mean and rstd ([R]) for the backward:
//   xhat = (x - mean) rstd;  g = dy gamma;  dx = rstd (g - mean_c(g) - xhat mean_c(g xhat))
//   dgamma_c = sum_r dy_rc xhat_rc;  dbeta_c = sum_r dy_rc   (column sums: a second pass, no atomics)
// x is [R, C] (leading axes flattened by the caller). CPU reference (f32, f64) in layer_norm.cpp; CUDA kernels
// in layer_norm.cuh/.cu.
#pragma once
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, Tensor& y, Tensor& mean,
                        Tensor& rstd);
// dx overwritten; dgamma, dbeta overwritten or, with accumulate, added to.
void layer_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                         const Tensor& dy, Tensor& dx, Tensor& dgamma, Tensor& dbeta, bool accumulate = false);

AD_DEVICE_BACKENDS(
void layer_norm_forward(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean,
                        float* rstd, int64_t rows, int64_t cols);
void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t cols, bool accumulate);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
