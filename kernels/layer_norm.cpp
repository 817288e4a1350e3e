#include "kernels/layer_norm.h"

#include <cmath>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
namespace {

template <class T>
void ln_forward(const T* x, const T* gamma, const T* beta, double eps, T* y, T* mean, T* rstd, int64_t R, int64_t C) {
#pragma omp parallel for if (R * C >= kCpuParallelMin)
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = x + r * C;
    double m = 0, q = 0;
    for (int64_t c = 0; c < C; ++c) m += double(xr[c]);
    m /= double(C);
    for (int64_t c = 0; c < C; ++c) q += (double(xr[c]) - m) * (double(xr[c]) - m);
    const double rs = 1.0 / std::sqrt(q / double(C) + eps);
    for (int64_t c = 0; c < C; ++c) y[r * C + c] = T((double(xr[c]) - m) * rs * double(gamma[c]) + double(beta[c]));
    mean[r] = T(m);
    rstd[r] = T(rs);
  }
}

template <class T>
void ln_backward(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy, T* dx, T* dgamma, T* dbeta,
                 int64_t R, int64_t C, bool accumulate) {
#pragma omp parallel for if (R * C >= kCpuParallelMin)
  for (int64_t r = 0; r < R; ++r) {
    const double m = double(mean[r]), rs = double(rstd[r]);
    double s1 = 0, s2 = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double g = double(dy[r * C + c]) * double(gamma[c]);
      s1 += g;
      s2 += g * (double(x[r * C + c]) - m) * rs;
    }
    s1 /= double(C);
    s2 /= double(C);
    for (int64_t c = 0; c < C; ++c) {
      const double xhat = (double(x[r * C + c]) - m) * rs;
      dx[r * C + c] = T(rs * (double(dy[r * C + c]) * double(gamma[c]) - s1 - xhat * s2));
    }
  }
  for (int64_t c = 0; c < C; ++c) {  // rows in order: the same sums whatever the thread count
    double g = 0, b = 0;
    for (int64_t r = 0; r < R; ++r) {
      g += double(dy[r * C + c]) * (double(x[r * C + c]) - double(mean[r])) * double(rstd[r]);
      b += double(dy[r * C + c]);
    }
    dgamma[c] = accumulate ? T(double(dgamma[c]) + g) : T(g);
    dbeta[c] = accumulate ? T(double(dbeta[c]) + b) : T(b);
  }
}

}  // namespace
}  // namespace cpu

namespace {

void check_ln(const char* op, const char* name, const Tensor& t, const Tensor& x, const Shape& shape) {
  AD_CHECK(t.defined() && t.shape() == shape && t.dtype() == x.dtype(), op, name, " must be ", shape.str(), " ",
           dtype_name(x.dtype()), ", got ", t.defined() ? t.describe() : "undefined");
  check_same_device(op, t, x);
}

void check_x(const char* op, const Tensor& x) {
  AD_CHECK(x.defined() && x.dim() == 2 && x.size(1) >= 1, op, "x must be [R, C] with C >= 1, got ",
           x.defined() ? x.describe() : "undefined");
  check_floating(op, x);
  if (x.is_device()) check_dtype(op, x, DType::F32);
}

}  // namespace

void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, Tensor& y, Tensor& mean,
                        Tensor& rstd) {
  const char* op = "layer_norm_forward";
  check_x(op, x);
  const int64_t R = x.size(0), C = x.size(1);
  AD_CHECK(eps > 0, op, "eps must be > 0, got ", eps);
  check_ln(op, "gamma", gamma, x, Shape{C});
  check_ln(op, "beta", beta, x, Shape{C});
  check_ln(op, "y", y, x, x.shape());
  check_ln(op, "mean", mean, x, Shape{R});
  check_ln(op, "rstd", rstd, x, Shape{R});
  if (x.is_device()) {
    AD_ON_DEVICE(op, x, layer_norm_forward(x.data<float>(), gamma.data<float>(), beta.data<float>(),
                                           float(eps), y.data<float>(), mean.data<float>(),
                                           rstd.data<float>(), R, C));
    return;
  }
  dispatch_floating(op, x.dtype(), [&](auto t) {
    using T = decltype(t);
    cpu::ln_forward<T>(x.data<T>(), gamma.data<T>(), beta.data<T>(), eps, y.data<T>(), mean.data<T>(),
                       rstd.data<T>(), R, C);
  });
}

void layer_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                         const Tensor& dy, Tensor& dx, Tensor& dgamma, Tensor& dbeta, bool accumulate) {
  const char* op = "layer_norm_backward";
  check_x(op, x);
  const int64_t R = x.size(0), C = x.size(1);
  check_ln(op, "gamma", gamma, x, Shape{C});
  check_ln(op, "mean", mean, x, Shape{R});
  check_ln(op, "rstd", rstd, x, Shape{R});
  check_ln(op, "dy", dy, x, x.shape());
  check_ln(op, "dx", dx, x, x.shape());
  check_ln(op, "dgamma", dgamma, x, Shape{C});
  check_ln(op, "dbeta", dbeta, x, Shape{C});
  if (x.is_device()) {
    AD_ON_DEVICE(op, x, layer_norm_backward(x.data<float>(), gamma.data<float>(), mean.data<float>(),
                                            rstd.data<float>(), dy.data<float>(), dx.data<float>(),
                                            dgamma.data<float>(), dbeta.data<float>(), R, C, accumulate));
    return;
  }
  dispatch_floating(op, x.dtype(), [&](auto t) {
    using T = decltype(t);
    cpu::ln_backward<T>(x.data<T>(), gamma.data<T>(), mean.data<T>(), rstd.data<T>(), dy.data<T>(), dx.data<T>(),
                        dgamma.data<T>(), dbeta.data<T>(), R, C, accumulate);
  });
}

}  // namespace ad
