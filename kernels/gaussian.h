// Gaussian reparameterization of a VAE's latent: z = mu + exp(0.5*logvar) * eps, eps ~ N(0, 1).
// eps_i = philox_normal(seed, offset, i) for the flat element index i, so the CPU reference, the
// emulated kernel and the GPU draw the same eps for the same (seed, offset) and backward recomputes
// eps instead of storing it. Callers take (seed, offset) from a PhiloxStream: offset = reserve(numel).
// mean_only (inference): z = mu, and backward gives dmu = dz, dlogvar = 0.
// Any shape; mu, logvar and z have the same shape. CPU reference (f32, f64) in gaussian.cpp,
// CUDA kernels in gaussian.cuh/.cu.
//
// Fused form with the KL term (MUAD's probabilistic encoder), over the rows of a [R, C] latent, one launch:
//   z = mu + sigma * eps   (eps drawn exactly as above, flat index r*C + c)
//   kl_r = -0.5 sum_c (1 + lv - mu^2 - exp(lv))        (KL(N(mu, exp(lv)) || N(0, 1)) summed over the row)
// where the variance head v gives lv and sigma by VarianceForm:
//   LogVar (our default):  lv = v, sigma = exp(v / 2)      (one consistent reading of v)
//   OfficialMuad:          lv = v, sigma = sqrt(v)         (the released code: samples with sqrt(v) but puts v
//                                                            in the KL as a log-variance; needs v > 0)
// Backward with dkl_r = dL/dkl_r: dmu = dz + dkl_r mu;  dv = dz eps dsigma/dv + dkl_r (exp(v) - 1) / 2.
#pragma once
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

void reparam_forward(const Tensor& mu, const Tensor& logvar, Tensor& z, uint64_t seed, uint64_t offset,
                     bool mean_only = false);
// dmu = dz, dlogvar = dz * 0.5 * exp(0.5*logvar) * eps (both overwritten; dmu may alias dz).
void reparam_backward(const Tensor& logvar, const Tensor& dz, Tensor& dmu, Tensor& dlogvar, uint64_t seed,
                      uint64_t offset, bool mean_only = false);

// Captured steps (runtime/step_graph.h): the counter offset is read from device memory when the kernels run
// (device_offset: i64 [1] on the tensors' device), the noise otherwise that of the forms above with
// offset = *device_offset. A device path only.
void reparam_forward(const Tensor& mu, const Tensor& logvar, Tensor& z, uint64_t seed, const Tensor& device_offset);
void reparam_backward(const Tensor& logvar, const Tensor& dz, Tensor& dmu, Tensor& dlogvar, uint64_t seed,
                      const Tensor& device_offset);

enum class VarianceForm { LogVar, OfficialMuad };

// mu, v, z [R, C]; kl [R].
void reparam_kl_forward(const Tensor& mu, const Tensor& v, Tensor& z, Tensor& kl, uint64_t seed, uint64_t offset,
                        VarianceForm form, bool mean_only = false);
// dz [R, C], dkl [R] -> dmu, dv [R, C] (overwritten; dmu may alias dz).
void reparam_kl_backward(const Tensor& mu, const Tensor& v, const Tensor& dz, const Tensor& dkl, Tensor& dmu,
                         Tensor& dv, uint64_t seed, uint64_t offset, VarianceForm form, bool mean_only = false);

namespace cpu {
template <class T>
void reparam_forward(const T* mu, const T* logvar, T* z, int64_t n, uint64_t seed, uint64_t offset,
                     bool mean_only);
template <class T>
void reparam_backward(const T* logvar, const T* dz, T* dmu, T* dlogvar, int64_t n, uint64_t seed, uint64_t offset,
                      bool mean_only);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void reparam_kl_forward(const float* mu, const float* v, float* z, float* kl, int64_t rows, int64_t cols,
                        uint64_t seed, uint64_t offset, VarianceForm form, bool mean_only);
void reparam_kl_backward(const float* mu, const float* v, const float* dz, const float* dkl, float* dmu, float* dv,
                         int64_t rows, int64_t cols, uint64_t seed, uint64_t offset, VarianceForm form,
                         bool mean_only);
void reparam_forward(const float* mu, const float* logvar, float* z, int64_t n, uint64_t seed, uint64_t offset,
                     bool mean_only);
void reparam_backward(const float* logvar, const float* dz, float* dmu, float* dlogvar, int64_t n, uint64_t seed,
                      uint64_t offset, bool mean_only);
void reparam_forward_device_offset(const float* mu, const float* logvar, float* z, int64_t n, uint64_t seed,
                                   const int64_t* offset);
void reparam_backward_device_offset(const float* logvar, const float* dz, float* dmu, float* dlogvar, int64_t n,
                                    uint64_t seed, const int64_t* offset);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
