// DeepSphere's hypersphere terms on the squared distances d2_i = |z_i - c|^2 (kernels/centre_distance.h,
// SquaredEuclidean, K = H = 1) and the radius R (a one-element tensor):
//
//   residue_i = relu(d2_i - R^2)                                  how far outside the sphere
//   weight_i  = u_i / sum_j u_j                                    normalised over the batch, with x = R^2 - d2_i
//     ExpMinusOne: u_i = relu(exp(x_i) - 1) + 1e-28                > 0 only inside the sphere (the default)
//     Softmax:     u_i = exp(relu(x_i) - max_j relu(x_j))           softmax(relu(x)): an older revision of the
//                                                                   official DeepSphere.py; outside points keep e^0
//
// (the official code's hypersphere_learning scope). With ExpMinusOne, points outside the sphere get weight
// ~1e-28 / sum, so they drop out of the weighted reconstruction loss: this is how DeepSphere keeps outliers from
// being learnt. ExpMinusOne's exp is evaluated in the tensor's precision; like the original, R^2 - d2 > ~88
// overflows f32 (Softmax is shifted by its maximum and cannot overflow).
//
// Backward: given dresidue = dL/dresidue [B] and dweight = dL/dweight [B], writes (overwrites)
// dd2 = dL/dd2 [B] and dradius = dL/dR [1]. relu' at 0 is taken as 0 (as TensorFlow does).
// The batch sums (sum u, sum g u, dR) are one tree reduction each in one block: the result does not depend
// on scheduling. One block is enough: B is a batch of cases (hundreds to thousands).
// CPU reference (f32, f64) in hypersphere.cpp; CUDA kernels in hypersphere.cuh/.cu.
#pragma once
#include <cstdint>
#include <string>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

inline constexpr double kHypersphereWeightFloor = 1e-28;

enum class HypersphereWeight { ExpMinusOne, Softmax };
HypersphereWeight parse_hypersphere_weight(const std::string& name);  // "exp" | "softmax"

// d2 [B], radius [1] -> residue [B], weight [B].
void hypersphere_forward(const Tensor& d2, const Tensor& radius, Tensor& residue, Tensor& weight,
                         HypersphereWeight form = HypersphereWeight::ExpMinusOne);
// -> dd2 [B], dradius [1] (both overwritten).
void hypersphere_backward(const Tensor& d2, const Tensor& radius, const Tensor& dresidue, const Tensor& dweight,
                          Tensor& dd2, Tensor& dradius, HypersphereWeight form = HypersphereWeight::ExpMinusOne);

namespace cpu {
template <class T>
void hypersphere_forward(const T* d2, const T* radius, T* residue, T* weight, int64_t B, HypersphereWeight form);
template <class T>
void hypersphere_backward(const T* d2, const T* radius, const T* dresidue, const T* dweight, T* dd2, T* dradius,
                          int64_t B, HypersphereWeight form);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void hypersphere_forward(const float* d2, const float* radius, float* residue, float* weight, int64_t B,
                         HypersphereWeight form);
void hypersphere_backward(const float* d2, const float* radius, const float* dresidue, const float* dweight,
                          float* dd2, float* dradius, int64_t B, HypersphereWeight form);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
