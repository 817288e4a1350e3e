// Gaussian reparameterization of a VAE's latent: z = mu + exp(0.5*logvar) * eps, eps ~ N(0, 1).
// eps_i = philox_normal(seed, offset, i) for the flat element index i, so the CPU reference, the
// emulated kernel and the GPU draw the same eps for the same (seed, offset) and backward recomputes
// eps instead of storing it. Callers take (seed, offset) from a PhiloxStream: offset = reserve(numel).
// mean_only (inference): z = mu, and backward gives dmu = dz, dlogvar = 0.
// Any shape; mu, logvar and z have the same shape. CPU reference (f32, f64) in gaussian.cpp,
// CUDA kernels in gaussian.cuh/.cu.
#pragma once
#include <cstdint>

#include "runtime/tensor.h"

namespace ad {

void reparam_forward(const Tensor& mu, const Tensor& logvar, Tensor& z, uint64_t seed, uint64_t offset,
                     bool mean_only = false);
// dmu = dz, dlogvar = dz * 0.5 * exp(0.5*logvar) * eps (both overwritten; dmu may alias dz).
void reparam_backward(const Tensor& logvar, const Tensor& dz, Tensor& dmu, Tensor& dlogvar, uint64_t seed,
                      uint64_t offset, bool mean_only = false);

namespace cpu {
template <class T>
void reparam_forward(const T* mu, const T* logvar, T* z, int64_t n, uint64_t seed, uint64_t offset,
                     bool mean_only);
template <class T>
void reparam_backward(const T* logvar, const T* dz, T* dmu, T* dlogvar, int64_t n, uint64_t seed, uint64_t offset,
                      bool mean_only);
}  // namespace cpu

namespace cuda {
void reparam_forward(const float* mu, const float* logvar, float* z, int64_t n, uint64_t seed, uint64_t offset,
                     bool mean_only);
void reparam_backward(const float* logvar, const float* dz, float* dmu, float* dlogvar, int64_t n, uint64_t seed,
                      uint64_t offset, bool mean_only);
}  // namespace cuda

}  // namespace ad
