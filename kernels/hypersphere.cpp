#include "kernels/hypersphere.h"

#include <algorithm>
#include <cmath>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {

template <class T> void hypersphere_forward(const T* d2, const T* radius, T* residue, T* weight, int64_t B) {
  const T r2 = radius[0] * radius[0];
  T total = 0;
  for (int64_t i = 0; i < B; ++i) {
    residue[i] = std::max(d2[i] - r2, T(0));
    weight[i] = std::max(std::exp(r2 - d2[i]) - T(1), T(0)) + T(kHypersphereWeightFloor);
    total += weight[i];
  }
  for (int64_t i = 0; i < B; ++i) weight[i] /= total;
}

// weight_i = u_i / S: dL/du_i = (g_i - sum_j g_j weight_j) / S, then u(x = R^2 - d2) and residue(d2 - R^2)
// by the chain rule; dL/dR collects 2R times the x and -(d2 - R^2) parts.
template <class T>
void hypersphere_backward(const T* d2, const T* radius, const T* dresidue, const T* dweight, T* dd2, T* dradius,
                          int64_t B) {
  const T R = radius[0], r2 = R * R;
  T total = 0;
  for (int64_t i = 0; i < B; ++i) total += std::max(std::exp(r2 - d2[i]) - T(1), T(0)) + T(kHypersphereWeightFloor);
  T gw = 0;
  for (int64_t i = 0; i < B; ++i)
    gw += dweight[i] * (std::max(std::exp(r2 - d2[i]) - T(1), T(0)) + T(kHypersphereWeightFloor)) / total;
  T dr = 0;
  for (int64_t i = 0; i < B; ++i) {
    const T du = (dweight[i] - gw) / total;
    const T du_dx = r2 - d2[i] > T(0) ? std::exp(r2 - d2[i]) : T(0);
    const T dres_dd2 = d2[i] - r2 > T(0) ? T(1) : T(0);
    dd2[i] = dresidue[i] * dres_dd2 - du * du_dx;
    dr += T(2) * R * (du * du_dx - dresidue[i] * dres_dd2);
  }
  dradius[0] = dr;
}

template void hypersphere_forward<float>(const float*, const float*, float*, float*, int64_t);
template void hypersphere_forward<double>(const double*, const double*, double*, double*, int64_t);
template void hypersphere_backward<float>(const float*, const float*, const float*, const float*, float*, float*,
                                          int64_t);
template void hypersphere_backward<double>(const double*, const double*, const double*, const double*, double*,
                                           double*, int64_t);
}  // namespace cpu

namespace {
void check_vector(const char* op, const char* what, const Tensor& t, int64_t n, const Tensor& like) {
  AD_CHECK(t.dim() == 1 && t.size(0) == n, op, what, " must be [", n, "], got ", t.describe());
  AD_CHECK(t.dtype() == like.dtype(), op, what, " dtype differs from d2");
  check_same_device(op, t, like);
}
// The batch size, after checking d2 [B] (B > 0, floating) and radius [1].
int64_t check_batch(const char* op, const Tensor& d2, const Tensor& radius) {
  AD_CHECK(d2.dim() == 1, op, "d2 must be [B], got ", d2.describe());
  AD_CHECK(d2.size(0) > 0, op, "empty batch");
  check_floating(op, d2);
  check_vector(op, "radius", radius, 1, d2);
  return d2.size(0);
}
}  // namespace

void hypersphere_forward(const Tensor& d2, const Tensor& radius, Tensor& residue, Tensor& weight) {
  const char* op = "hypersphere_forward";
  const int64_t B = check_batch(op, d2, radius);
  check_vector(op, "residue", residue, B, d2);
  check_vector(op, "weight", weight, B, d2);
  if (d2.is_cuda()) {
    check_dtype(op, d2, DType::F32);
    AD_WITH_CUDA_ONLY(op, cuda::hypersphere_forward(d2.data<float>(), radius.data<float>(), residue.data<float>(),
                                                    weight.data<float>(), B));
  } else {
    dispatch_floating(op, d2.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::hypersphere_forward<T>(d2.data<T>(), radius.data<T>(), residue.data<T>(), weight.data<T>(), B);
    });
  }
}

void hypersphere_backward(const Tensor& d2, const Tensor& radius, const Tensor& dresidue, const Tensor& dweight,
                          Tensor& dd2, Tensor& dradius) {
  const char* op = "hypersphere_backward";
  const int64_t B = check_batch(op, d2, radius);
  check_vector(op, "dresidue", dresidue, B, d2);
  check_vector(op, "dweight", dweight, B, d2);
  check_vector(op, "dd2", dd2, B, d2);
  check_vector(op, "dradius", dradius, 1, d2);
  if (d2.is_cuda()) {
    check_dtype(op, d2, DType::F32);
    AD_WITH_CUDA_ONLY(op, cuda::hypersphere_backward(d2.data<float>(), radius.data<float>(), dresidue.data<float>(),
                                                     dweight.data<float>(), dd2.data<float>(), dradius.data<float>(),
                                                     B));
  } else {
    dispatch_floating(op, d2.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::hypersphere_backward<T>(d2.data<T>(), radius.data<T>(), dresidue.data<T>(), dweight.data<T>(),
                                   dd2.data<T>(), dradius.data<T>(), B);
    });
  }
}

}  // namespace ad
