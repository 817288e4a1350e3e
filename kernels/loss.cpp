#include "kernels/loss.h"

#include <cmath>
#include <vector>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
namespace {
template <class T> T value(LossKind k, T a, T b, T c, T param) {
  switch (k) {
    case LossKind::MSE: return (a - b) * (a - b);
    case LossKind::BCEWithLogits: return std::max(a, T(0)) - a * b + std::log1p(std::exp(-std::abs(a)));
    case LossKind::GaussianNLL: {
      T z = (a - b) / std::exp(c);
      return T(0.5) * z * z + c + param;
    }
    case LossKind::KLStdNormal: return T(-0.5) * (T(1) + b - a * a - std::exp(b));
  }
  return T(0);
}
}  // namespace

template <class T>
void loss_forward(LossKind k, const T* a, const T* b, const T* c, T* out, int64_t n, T param, Reduction r) {
  if (r == Reduction::None) {
#pragma omp parallel for if (n >= kCpuParallelMin)
    for (int64_t i = 0; i < n; ++i) out[i] = value(k, a[i], b[i], c ? c[i] : T(0), param);
    return;
  }
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += value(k, a[i], b[i], c ? c[i] : T(0), param);
  out[0] = T(r == Reduction::Mean ? (n > 0 ? s / double(n) : 0.0) : s);
}

template <class T>
void loss_backward(LossKind k, const T* a, const T* b, const T* c, const T* dout, bool scalar_dout, T gscale, T* da,
                   T* db, T* dc, int64_t n) {
#pragma omp parallel for if (n >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T g = (scalar_dout ? dout[0] : dout[i]) * gscale, ga = 0, gb = 0, gc = 0;
    switch (k) {
      case LossKind::MSE:
        ga = T(2) * (a[i] - b[i]) * g;
        gb = -ga;
        break;
      case LossKind::BCEWithLogits: {
        T sig = T(1) / (T(1) + std::exp(-a[i]));
        ga = (sig - b[i]) * g;
        gb = -a[i] * g;
        break;
      }
      case LossKind::GaussianNLL: {
        T var = std::exp(T(2) * c[i]), d = a[i] - b[i];
        ga = g * d / var;
        gb = -ga;
        gc = g * (T(1) - d * d / var);
        break;
      }
      case LossKind::KLStdNormal:
        ga = g * a[i];
        gb = g * T(0.5) * (std::exp(b[i]) - T(1));
        break;
    }
    if (da) da[i] = ga;
    if (db) db[i] = gb;
    if (dc) dc[i] = gc;
  }
}

template void loss_forward<float>(LossKind, const float*, const float*, const float*, float*, int64_t, float,
                                  Reduction);
template void loss_forward<double>(LossKind, const double*, const double*, const double*, double*, int64_t, double,
                                   Reduction);
template void loss_backward<float>(LossKind, const float*, const float*, const float*, const float*, bool, float,
                                   float*, float*, float*, int64_t);
template void loss_backward<double>(LossKind, const double*, const double*, const double*, const double*, bool,
                                    double, double*, double*, double*, int64_t);
}  // namespace cpu

namespace {
void check_input(const char* op, const Tensor& ref, const Tensor& t) {
  check_same_shape(op, ref, t);
  check_same_device(op, ref, t);
  AD_CHECK(ref.dtype() == t.dtype(), op, "dtype mismatch: ", ref.describe(), " vs ", t.describe());
}

template <class T> const T* ptr(const Tensor* t) { return t ? t->data<T>() : nullptr; }
template <class T> T* mut(Tensor* t) { return t ? t->data<T>() : nullptr; }

void forward(const char* op, LossKind k, const Tensor& a, const Tensor& b, const Tensor* c, Tensor& out, double param,
             Reduction r) {
  check_floating(op, a);
  check_input(op, a, b);
  if (c) check_input(op, a, *c);
  check_same_device(op, a, out);
  AD_CHECK(a.dtype() == out.dtype(), op, "dtype mismatch: ", a.describe(), " vs ", out.describe());
  if (r == Reduction::None) check_same_shape(op, a, out);
  else AD_CHECK(out.numel() == 1, op, "a reduced loss needs a one-element output, got ", out.describe());
  if (a.is_device()) {
    check_dtype(op, a, DType::F32);
    AD_ON_DEVICE(op, a, loss_forward(k, a.data<float>(), b.data<float>(), ptr<float>(c), out.data<float>(),
                                     a.numel(), float(param), r));
  } else {
    dispatch_floating(op, a.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::loss_forward<T>(k, a.data<T>(), b.data<T>(), ptr<T>(c), out.data<T>(), a.numel(), T(param), r);
    });
  }
}

void backward(const char* op, LossKind k, const Tensor& a, const Tensor& b, const Tensor* c, const Tensor& dout,
              Tensor* da, Tensor* db, Tensor* dc, Reduction r) {
  check_floating(op, a);
  check_input(op, a, b);
  if (c) check_input(op, a, *c);
  for (Tensor* g : {da, db, dc})
    if (g) check_input(op, a, *g);
  check_same_device(op, a, dout);
  AD_CHECK(a.dtype() == dout.dtype(), op, "dtype mismatch: ", a.describe(), " vs ", dout.describe());
  bool scalar = r != Reduction::None;
  if (scalar) AD_CHECK(dout.numel() == 1, op, "a reduced loss has a one-element gradient, got ", dout.describe());
  else check_same_shape(op, a, dout);
  int64_t n = a.numel();
  double gscale = r == Reduction::Mean ? (n > 0 ? 1.0 / double(n) : 0.0) : 1.0;
  if (a.is_device()) {
    check_dtype(op, a, DType::F32);
    AD_ON_DEVICE(op, a, loss_backward(k, a.data<float>(), b.data<float>(), ptr<float>(c), dout.data<float>(),
                                      scalar, float(gscale), mut<float>(da), mut<float>(db), mut<float>(dc), n));
  } else {
    dispatch_floating(op, a.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::loss_backward<T>(k, a.data<T>(), b.data<T>(), ptr<T>(c), dout.data<T>(), scalar, T(gscale), mut<T>(da),
                            mut<T>(db), mut<T>(dc), n);
    });
  }
}

const double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 * log(2 * pi)
}  // namespace

void mse_loss(const Tensor& pred, const Tensor& target, Tensor& out, Reduction r) {
  forward("mse_loss", LossKind::MSE, pred, target, nullptr, out, 0.0, r);
}
void mse_loss_backward(const Tensor& pred, const Tensor& target, const Tensor& dout, Tensor* dpred, Tensor* dtarget,
                       Reduction r) {
  backward("mse_loss_backward", LossKind::MSE, pred, target, nullptr, dout, dpred, dtarget, nullptr, r);
}

void bce_with_logits_loss(const Tensor& logits, const Tensor& target, Tensor& out, Reduction r) {
  forward("bce_with_logits_loss", LossKind::BCEWithLogits, logits, target, nullptr, out, 0.0, r);
}
void bce_with_logits_loss_backward(const Tensor& logits, const Tensor& target, const Tensor& dout, Tensor* dlogits,
                                   Tensor* dtarget, Reduction r) {
  backward("bce_with_logits_loss_backward", LossKind::BCEWithLogits, logits, target, nullptr, dout, dlogits, dtarget,
           nullptr, r);
}

void gaussian_nll_loss(const Tensor& x, const Tensor& mu, const Tensor& log_std, Tensor& out, Reduction r,
                       bool include_constant) {
  forward("gaussian_nll_loss", LossKind::GaussianNLL, x, mu, &log_std, out, include_constant ? kHalfLog2Pi : 0.0, r);
}
void gaussian_nll_loss_backward(const Tensor& x, const Tensor& mu, const Tensor& log_std, const Tensor& dout,
                                Tensor* dx, Tensor* dmu, Tensor* dlog_std, Reduction r) {
  backward("gaussian_nll_loss_backward", LossKind::GaussianNLL, x, mu, &log_std, dout, dx, dmu, dlog_std, r);
}

void kl_std_normal_loss(const Tensor& mu, const Tensor& logvar, Tensor& out, Reduction r) {
  forward("kl_std_normal_loss", LossKind::KLStdNormal, mu, logvar, nullptr, out, 0.0, r);
}
void kl_std_normal_loss_backward(const Tensor& mu, const Tensor& logvar, const Tensor& dout, Tensor* dmu,
                                 Tensor* dlogvar, Reduction r) {
  backward("kl_std_normal_loss_backward", LossKind::KLStdNormal, mu, logvar, nullptr, dout, dmu, dlogvar, nullptr, r);
}

}  // namespace ad
