// Pointwise losses, each per element (Reduction::None, output shaped like the inputs) or reduced to one
// element (Mean / Sum), with a backward giving the gradient to every input (pass nullptr for the ones not
// needed). Inputs of one loss all have the same shape (any shape: e.g. DC-VAE's [B*T, M] windows).
//   MSE              (pred - target)^2
//   BCE with logits  max(z, 0) - z*y + log(1 + exp(-|z|))            (stable for any z)
//   Gaussian NLL     0.5 * ((x - mu) / exp(s))^2 + s [+ 0.5*log(2*pi)] (s = log std)
//   KL to N(0, 1)    -0.5 * (1 + logvar - mu^2 - exp(logvar))
// Backward: dout is shaped like the output (per element for None, one element for Mean/Sum; Mean divides
// by the element count). CPU reference (f32, f64) in loss.cpp; fused CUDA kernels in loss.cuh/.cu (the
// reduced forward computes and block-reduces in one pass).
#pragma once
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

enum class Reduction { None, Mean, Sum };
enum class LossKind { MSE, BCEWithLogits, GaussianNLL, KLStdNormal };

void mse_loss(const Tensor& pred, const Tensor& target, Tensor& out, Reduction r = Reduction::Mean);
void mse_loss_backward(const Tensor& pred, const Tensor& target, const Tensor& dout, Tensor* dpred,
                       Tensor* dtarget, Reduction r = Reduction::Mean);

void bce_with_logits_loss(const Tensor& logits, const Tensor& target, Tensor& out, Reduction r = Reduction::Mean);
void bce_with_logits_loss_backward(const Tensor& logits, const Tensor& target, const Tensor& dout, Tensor* dlogits,
                                   Tensor* dtarget, Reduction r = Reduction::Mean);

void gaussian_nll_loss(const Tensor& x, const Tensor& mu, const Tensor& log_std, Tensor& out,
                       Reduction r = Reduction::None, bool include_constant = false);
void gaussian_nll_loss_backward(const Tensor& x, const Tensor& mu, const Tensor& log_std, const Tensor& dout,
                                Tensor* dx, Tensor* dmu, Tensor* dlog_std, Reduction r = Reduction::None);

void kl_std_normal_loss(const Tensor& mu, const Tensor& logvar, Tensor& out, Reduction r = Reduction::None);
void kl_std_normal_loss_backward(const Tensor& mu, const Tensor& logvar, const Tensor& dout, Tensor* dmu,
                                 Tensor* dlogvar, Reduction r = Reduction::None);

// Generic form behind the functions above. Inputs a, b, c: (pred, target, -), (logits, target, -),
// (x, mu, log_std), (mu, logvar, -). `param` is the constant added per element (Gaussian NLL's
// 0.5*log(2*pi) or 0).
namespace cpu {
// Reduction::None writes out[0..n); Mean/Sum write out[0] (accumulated in double).
template <class T>
void loss_forward(LossKind k, const T* a, const T* b, const T* c, T* out, int64_t n, T param, Reduction r);
// g_i = scalar_dout ? dout[0] * gscale : dout[i] * gscale; da/db/dc may be null.
template <class T>
void loss_backward(LossKind k, const T* a, const T* b, const T* c, const T* dout, bool scalar_dout, T gscale, T* da,
                   T* db, T* dc, int64_t n);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void loss_forward(LossKind k, const float* a, const float* b, const float* c, float* out, int64_t n, float param,
                  Reduction r);
void loss_backward(LossKind k, const float* a, const float* b, const float* c, const float* dout, bool scalar_dout,
                   float gscale, float* da, float* db, float* dc, int64_t n);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
