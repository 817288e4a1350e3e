// Classification with a learned confidence (TCP, Corbière et al.; MUAD's per-modality and fused heads), per row
// i of a batch of B with K classes, label y_i and the true-class probability p_i = softmax(logits_i)[y_i]:
//   forward   terms[0] = (1/B) sum_i -log(max(p_i, 1e-30))        (cross-entropy)
//             terms[1] = (1/B) sum_i (c_i - p_i)^2                 (confidence MSE, c_i = sigmoid(conf_pre_i))
//   backward  the weighted total  ce_weight * terms[0] + mse_weight * terms[1]  differentiated straight to the
//             logits and to the confidence pre-activation (through the softmax and the sigmoid), plus an outside
//             gradient dconf_extra reaching c (MUAD: the fusion's), so the model needs no host loop:
//               dlogits_ik  = ce_weight (p_ik - [k == y_i]) / B  + (target_detached ? 0 :
//                             -mse_weight 2 (c_i - p_i) / B * p_i ([k == y_i] - p_ik))
//               dconf_pre_i = (dconf_extra_i + mse_weight 2 (c_i - p_i) / B) c_i (1 - c_i)
//             target_detached: the MSE's target p_i is a constant (MUAD's fused head); otherwise it is trained too
//             (MUAD's per-modality heads, as the official code, which does not detach it).
// The forward takes the probabilities and confidences already computed (softmax_forward, the sigmoid) because
// the model keeps them anyway; backward needs only them. The terms are reduced in one block in a fixed order
// (deterministic, no atomics). CPU reference (f32, f64) in confidence_loss.cpp; CUDA kernels in
// confidence_loss.cuh/.cu.
#pragma once
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

// prob [B, K], conf [B] (or [B, 1]), labels I64 [B] with values in [0, K) -> terms [2] (prob's dtype, device).
void confidence_loss_forward(const Tensor& prob, const Tensor& conf, const Tensor& labels, Tensor& terms);
// dconf_extra: [B] or undefined; writes dlogits [B, K] and dconf_pre (conf's shape).
void confidence_loss_backward(const Tensor& prob, const Tensor& conf, const Tensor& labels, const Tensor& dconf_extra,
                              double ce_weight, double mse_weight, bool target_detached, Tensor& dlogits,
                              Tensor& dconf_pre);

namespace cpu {
template <class T>
void confidence_loss_forward(const T* prob, const T* conf, const int64_t* labels, T* terms, int64_t rows, int64_t k);
template <class T>
void confidence_loss_backward(const T* prob, const T* conf, const int64_t* labels, const T* dconf_extra, T ce_weight,
                              T mse_weight, bool target_detached, T* dlogits, T* dconf_pre, int64_t rows, int64_t k);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void confidence_loss_forward(const float* prob, const float* conf, const int64_t* labels, float* terms, int64_t rows,
                             int64_t k);
void confidence_loss_backward(const float* prob, const float* conf, const int64_t* labels, const float* dconf_extra,
                              float ce_weight, float mse_weight, bool target_detached, float* dlogits,
                              float* dconf_pre, int64_t rows, int64_t k);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
