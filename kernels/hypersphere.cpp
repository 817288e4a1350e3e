#include "kernels/hypersphere.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/dispatch.h"

namespace ad {

HypersphereWeight parse_hypersphere_weight(const std::string& name) {
  if (name == "exp") return HypersphereWeight::ExpMinusOne;
  if (name == "softmax") return HypersphereWeight::Softmax;
  AD_FAIL("parse_hypersphere_weight", "unknown weight form '", name, "' (known: exp, softmax)");
}

namespace cpu {
namespace {
// The unnormalised weights u_i of the batch, written as the formulas read (softmax through a max shift).
template <class T> std::vector<T> unnormalised_weights(const T* d2, T r2, int64_t B, HypersphereWeight form) {
  std::vector<T> u(static_cast<size_t>(B));
  if (form == HypersphereWeight::ExpMinusOne) {
    for (int64_t i = 0; i < B; ++i)
      u[size_t(i)] = std::max(std::exp(r2 - d2[i]) - T(1), T(0)) + T(kHypersphereWeightFloor);
  } else {
    T m = 0;
    for (int64_t i = 0; i < B; ++i) m = std::max(m, r2 - d2[i]);
    for (int64_t i = 0; i < B; ++i) u[size_t(i)] = std::exp(std::max(r2 - d2[i], T(0)) - m);
  }
  return u;
}
}  // namespace

template <class T>
void hypersphere_forward(const T* d2, const T* radius, T* residue, T* weight, int64_t B, HypersphereWeight form) {
  const T r2 = radius[0] * radius[0];
  const std::vector<T> u = unnormalised_weights(d2, r2, B, form);
  T total = 0;
  for (int64_t i = 0; i < B; ++i) total += u[size_t(i)];
  for (int64_t i = 0; i < B; ++i) {
    residue[i] = std::max(d2[i] - r2, T(0));
    weight[i] = u[size_t(i)] / total;
  }
}

// weight_i = u_i / S: dL/du_i = (g_i - sum_j g_j weight_j) / S, then u(x = R^2 - d2) and residue(d2 - R^2)
// by the chain rule; dL/dR collects 2R times the x and -(d2 - R^2) parts. du/dx: exp(x) (ExpMinusOne) or u
// (Softmax), 0 where x <= 0 for both.
template <class T>
void hypersphere_backward(const T* d2, const T* radius, const T* dresidue, const T* dweight, T* dd2, T* dradius,
                          int64_t B, HypersphereWeight form) {
  const T R = radius[0], r2 = R * R;
  const std::vector<T> u = unnormalised_weights(d2, r2, B, form);
  T total = 0;
  for (int64_t i = 0; i < B; ++i) total += u[size_t(i)];
  T gw = 0;
  for (int64_t i = 0; i < B; ++i) gw += dweight[i] * u[size_t(i)] / total;
  T dr = 0;
  for (int64_t i = 0; i < B; ++i) {
    const T x = r2 - d2[i];
    const T du = (dweight[i] - gw) / total;
    const T du_dx = x > T(0) ? (form == HypersphereWeight::ExpMinusOne ? std::exp(x) : u[size_t(i)]) : T(0);
    const T dres_dd2 = d2[i] - r2 > T(0) ? T(1) : T(0);
    dd2[i] = dresidue[i] * dres_dd2 - du * du_dx;
    dr += T(2) * R * (du * du_dx - dresidue[i] * dres_dd2);
  }
  dradius[0] = dr;
}

template void hypersphere_forward<float>(const float*, const float*, float*, float*, int64_t, HypersphereWeight);
template void hypersphere_forward<double>(const double*, const double*, double*, double*, int64_t,
                                          HypersphereWeight);
template void hypersphere_backward<float>(const float*, const float*, const float*, const float*, float*, float*,
                                          int64_t, HypersphereWeight);
template void hypersphere_backward<double>(const double*, const double*, const double*, const double*, double*,
                                           double*, int64_t, HypersphereWeight);
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

void hypersphere_forward(const Tensor& d2, const Tensor& radius, Tensor& residue, Tensor& weight,
                         HypersphereWeight form) {
  const char* op = "hypersphere_forward";
  const int64_t B = check_batch(op, d2, radius);
  check_vector(op, "residue", residue, B, d2);
  check_vector(op, "weight", weight, B, d2);
  if (d2.is_device()) {
    check_dtype(op, d2, DType::F32);
    AD_ON_DEVICE(op, d2, hypersphere_forward(d2.data<float>(), radius.data<float>(), residue.data<float>(),
                                             weight.data<float>(), B, form));
  } else {
    dispatch_floating(op, d2.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::hypersphere_forward<T>(d2.data<T>(), radius.data<T>(), residue.data<T>(), weight.data<T>(), B, form);
    });
  }
}

void hypersphere_backward(const Tensor& d2, const Tensor& radius, const Tensor& dresidue, const Tensor& dweight,
                          Tensor& dd2, Tensor& dradius, HypersphereWeight form) {
  const char* op = "hypersphere_backward";
  const int64_t B = check_batch(op, d2, radius);
  check_vector(op, "dresidue", dresidue, B, d2);
  check_vector(op, "dweight", dweight, B, d2);
  check_vector(op, "dd2", dd2, B, d2);
  check_vector(op, "dradius", dradius, 1, d2);
  if (d2.is_device()) {
    check_dtype(op, d2, DType::F32);
    AD_ON_DEVICE(op, d2, hypersphere_backward(d2.data<float>(), radius.data<float>(), dresidue.data<float>(),
                                              dweight.data<float>(), dd2.data<float>(), dradius.data<float>(),
                                              B, form));
  } else {
    dispatch_floating(op, d2.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::hypersphere_backward<T>(d2.data<T>(), radius.data<T>(), dresidue.data<T>(), dweight.data<T>(),
                                   dd2.data<T>(), dradius.data<T>(), B, form);
    });
  }
}

}  // namespace ad
