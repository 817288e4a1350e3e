#include "kernels/confidence_loss.h"

#include <algorithm>
#include <cmath>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
template <class T>
void confidence_loss_forward(const T* prob, const T* conf, const int64_t* labels, T* terms, int64_t rows, int64_t k) {
  double ce = 0, mse = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const double p = prob[i * k + labels[i]], d = double(conf[i]) - p;
    ce -= std::log(std::max(p, 1e-30));
    mse += d * d;
  }
  terms[0] = T(ce / double(rows));
  terms[1] = T(mse / double(rows));
}

template <class T>
void confidence_loss_backward(const T* prob, const T* conf, const int64_t* labels, const T* dconf_extra, T ce_weight,
                              T mse_weight, bool target_detached, T* dlogits, T* dconf_pre, int64_t rows, int64_t k) {
  const double inv_rows = 1.0 / double(rows);
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t y = labels[i];
    const double c = conf[i], pt = prob[i * k + y], dmse = double(mse_weight) * 2.0 * (c - pt) * inv_rows;
    for (int64_t j = 0; j < k; ++j) {
      const double p = prob[i * k + j], hot = j == y ? 1.0 : 0.0;
      // d p_y / d logit_j = p_y (δ_jy - p_j)
      const double via_target = target_detached ? 0.0 : -dmse * pt * (hot - p);
      dlogits[i * k + j] = T(double(ce_weight) * (p - hot) * inv_rows + via_target);
    }
    dconf_pre[i] = T(((dconf_extra ? double(dconf_extra[i]) : 0.0) + dmse) * c * (1.0 - c));
  }
}

template void confidence_loss_forward<float>(const float*, const float*, const int64_t*, float*, int64_t, int64_t);
template void confidence_loss_forward<double>(const double*, const double*, const int64_t*, double*, int64_t,
                                              int64_t);
template void confidence_loss_backward<float>(const float*, const float*, const int64_t*, const float*, float, float,
                                              bool, float*, float*, int64_t, int64_t);
template void confidence_loss_backward<double>(const double*, const double*, const int64_t*, const double*, double,
                                               double, bool, double*, double*, int64_t, int64_t);
}  // namespace cpu

namespace {
// prob [B, K] with B, K >= 1; conf B elements; labels I64 [B] on the same device (values checked on the CPU; a
// device caller checks them before the upload, as a read-back here would be a host synchronisation).
void check_inputs(const char* op, const Tensor& prob, const Tensor& conf, const Tensor& labels) {
  check_floating(op, prob);
  AD_CHECK(prob.dim() == 2 && prob.size(0) >= 1 && prob.size(1) >= 1, op, "prob must be [B >= 1, K >= 1], got ",
           prob.describe());
  AD_CHECK(conf.numel() == prob.size(0) && conf.dtype() == prob.dtype(), op, "conf must hold B = ", prob.size(0),
           " values of prob's dtype, got ", conf.describe());
  check_dtype(op, labels, DType::I64);
  AD_CHECK(labels.numel() == prob.size(0), op, "labels must hold B = ", prob.size(0), " values, got ",
           labels.describe());
  check_same_device(op, prob, conf);
  check_same_device(op, prob, labels);
  if (!labels.is_device())
    for (int64_t i = 0; i < labels.numel(); ++i)
      AD_CHECK(labels.data<int64_t>()[i] >= 0 && labels.data<int64_t>()[i] < prob.size(1), op, "label ",
               labels.data<int64_t>()[i], " at row ", i, " outside [0, ", prob.size(1), ")");
}
}  // namespace

void confidence_loss_forward(const Tensor& prob, const Tensor& conf, const Tensor& labels, Tensor& terms) {
  const char* op = "confidence_loss_forward";
  check_inputs(op, prob, conf, labels);
  AD_CHECK(terms.numel() == 2 && terms.dtype() == prob.dtype(), op, "terms must be 2 values of prob's dtype, got ",
           terms.describe());
  check_same_device(op, prob, terms);
  const int64_t rows = prob.size(0), k = prob.size(1);
  if (prob.is_device()) {
    check_dtype(op, prob, DType::F32);
    AD_ON_DEVICE(op, prob, confidence_loss_forward(prob.data<float>(), conf.data<float>(),
                                                   labels.data<int64_t>(), terms.data<float>(), rows, k));
  } else {
    dispatch_floating(op, prob.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::confidence_loss_forward<T>(prob.data<T>(), conf.data<T>(), labels.data<int64_t>(), terms.data<T>(), rows,
                                      k);
    });
  }
}

void confidence_loss_backward(const Tensor& prob, const Tensor& conf, const Tensor& labels, const Tensor& dconf_extra,
                              double ce_weight, double mse_weight, bool target_detached, Tensor& dlogits,
                              Tensor& dconf_pre) {
  const char* op = "confidence_loss_backward";
  check_inputs(op, prob, conf, labels);
  check_same_shape(op, prob, dlogits);
  check_same_shape(op, conf, dconf_pre);
  check_same_device(op, prob, dlogits);
  check_same_device(op, prob, dconf_pre);
  AD_CHECK(dlogits.dtype() == prob.dtype() && dconf_pre.dtype() == prob.dtype(), op, "gradients must be ",
           "prob's dtype");
  if (dconf_extra.defined()) {
    AD_CHECK(dconf_extra.numel() == prob.size(0) && dconf_extra.dtype() == prob.dtype(), op,
             "dconf_extra must hold B values of prob's dtype, got ", dconf_extra.describe());
    check_same_device(op, prob, dconf_extra);
  }
  const int64_t rows = prob.size(0), k = prob.size(1);
  if (prob.is_device()) {
    check_dtype(op, prob, DType::F32);
    AD_ON_DEVICE(op, prob, confidence_loss_backward(
                         prob.data<float>(), conf.data<float>(), labels.data<int64_t>(),
                         dconf_extra.defined() ? dconf_extra.data<float>() : nullptr, float(ce_weight),
                         float(mse_weight), target_detached, dlogits.data<float>(), dconf_pre.data<float>(),
                         rows, k));
  } else {
    dispatch_floating(op, prob.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::confidence_loss_backward<T>(prob.data<T>(), conf.data<T>(), labels.data<int64_t>(),
                                       dconf_extra.defined() ? dconf_extra.data<T>() : nullptr, T(ce_weight),
                                       T(mse_weight), target_detached, dlogits.data<T>(), dconf_pre.data<T>(), rows,
                                       k);
    });
  }
}

}  // namespace ad
