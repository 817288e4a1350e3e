// Distances of a batch of embeddings to one or several centres, per head (group of dimensions):
//
//   z   [B, H, D]   embeddings (B items, H heads of D dimensions each; DeepSphere: H = 1)
//   c   [K, H, D]   centres (DeepSphere: one hypersphere centre, K = 1; GLEAD: K prototypes)
//   out [B, K, H]   out[b,k,h] = dist(z[b,h,:], c[k,h,:])
//
// Kinds:
//   SquaredEuclidean  sum_d (z - c)^2
//   HalfCosine        (1 - cos(z, c)) / 2, cos = z.c / (max(|z|, eps) * max(|c|, eps)), eps = kCosineEps.
//                     Each norm is clamped separately (torch >= 1.12's cosine_similarity does the same), so a
//                     zero vector gives cos = 0 (distance 1/2) and a finite gradient instead of 0/0. Where a
//                     norm is clamped, its derivative is taken as 0 (the clamp is constant there).
//
// Backward: given dout = dL/dout [B, K, H], writes (overwrites) dz = dL/dz [B, H, D] and dc = dL/dc [K, H, D].
// dc is reduced over the batch (and dz over the centres) in a fixed order by one thread per output
// element, no float atomics, so two runs give the same bits on the same device.
//
// The hypersphere terms DeepSphere builds on the squared distances live next door in kernels/hypersphere.h.
// CPU reference (f32 and f64) in centre_distance.cpp; CUDA kernels in centre_distance.cuh/.cu.
#pragma once
#include <cstdint>
#include <string>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

enum class CentreDistance { SquaredEuclidean, HalfCosine };

inline constexpr double kCosineEps = 1e-8;

CentreDistance parse_centre_distance(const std::string& name);  // "squared_euclidean" | "half_cosine"
const char* centre_distance_name(CentreDistance kind);

void centre_distance_forward(CentreDistance kind, const Tensor& z, const Tensor& c, Tensor& out);
void centre_distance_backward(CentreDistance kind, const Tensor& z, const Tensor& c, const Tensor& dout, Tensor& dz,
                              Tensor& dc);

namespace cpu {
template <class T>
void centre_distance_forward(CentreDistance kind, const T* z, const T* c, T* out, int64_t B, int64_t K, int64_t H,
                             int64_t D);
template <class T>
void centre_distance_backward(CentreDistance kind, const T* z, const T* c, const T* dout, T* dz, T* dc, int64_t B,
                              int64_t K, int64_t H, int64_t D);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void centre_distance_forward(CentreDistance kind, const float* z, const float* c, float* out, int64_t B, int64_t K,
                             int64_t H, int64_t D);
void centre_distance_backward(CentreDistance kind, const float* z, const float* c, const float* dout, float* dz,
                              float* dc, int64_t B, int64_t K, int64_t H, int64_t D);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
