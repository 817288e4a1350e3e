// Batch normalization over the last (channel) dim of x [N, C] (a [B, T, C] activation viewed as
// [B*T, C]), Keras BatchNormalization(axis=-1) semantics with momentum 0.99 and epsilon 1e-3:
//   train:      mean_c, var_c = batch mean and *biased* variance over the N rows,
//               y = gamma_c * (x - mean_c) / sqrt(var_c + eps) + beta_c,
//               running_mean = momentum * running_mean + (1 - momentum) * mean_c   (same for var)
//   inference:  y = gamma_c * (x - running_mean_c) / sqrt(running_var_c + eps) + beta_c
// Running variance uses the biased batch variance: for a rank-3 input Keras takes the non-fused
// path (tf.nn.moments, biased) and assigns that moving average; only the fused kernel (rank-4
// inputs) applies Bessel's correction to the moving variance, which DC-VAE never uses.
// Backward (train mode): dx (overwritten), dgamma and dbeta (accumulated, like Parameter::grad).
// CPU reference (f32, f64) in batchnorm1d.cpp, CUDA kernels in batchnorm1d.cuh/.cu.
#pragma once
#include <cstdint>

#include "kernels/activation.h"
#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

struct BatchNormOptions {
  float momentum = 0.99f;
  float eps = 1e-3f;
};

// save_mean/save_var [C] receive the batch statistics (backward needs them). running_mean/var [C]
// are updated in place; pass undefined Tensors to leave no running statistics.
void batchnorm1d_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                               Tensor& save_mean, Tensor& save_var, Tensor& running_mean, Tensor& running_var,
                               const BatchNormOptions& opt = {});
void batchnorm1d_inference_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                   const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                                   const BatchNormOptions& opt = {});
// Backward of the train-mode forward; dgamma/dbeta accumulate.
void batchnorm1d_train_backward(const Tensor& x, const Tensor& gamma, const Tensor& save_mean,
                                const Tensor& save_var, const Tensor& dy, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                                const BatchNormOptions& opt = {});

// The CPU training step's fusion of this op's backward with that of the activation before it: x is the
// activation's output (x = act(pre)), and dpre = (batchnorm1d_train_backward's dx) * act'(pre), act' read off
// x (tanh: 1 - x^2; ELU with alpha >= 0: 1 where x > 0, else x + alpha; identity: 1), in one pass over the
// rows instead of two (DC-VAE: conv -> activation -> BatchNorm blocks). CPU tensors only; the activations
// batchnorm_fuses_activation_backward accepts.
bool batchnorm_fuses_activation_backward(Activation a, float param);
// Its forward counterpart (any activation): x = act(pre) (written), then the train-mode forward of x, the
// activation applied inside the mean's pass (one pass and one parallel region fewer, the same results).
void batchnorm1d_activation_train_forward(Activation act, float param, const Tensor& pre, Tensor& x,
                                          const Tensor& gamma, const Tensor& beta, Tensor& y, Tensor& save_mean,
                                          Tensor& save_var, Tensor& running_mean, Tensor& running_var,
                                          const BatchNormOptions& opt = {});
void batchnorm1d_activation_train_backward(Activation act, float param, const Tensor& x, const Tensor& gamma,
                                           const Tensor& save_mean, const Tensor& save_var, const Tensor& dy,
                                           Tensor& dpre, Tensor& dgamma, Tensor& dbeta,
                                           const BatchNormOptions& opt = {});

namespace cpu {
// running_mean/running_var may be null.
template <class T>
void batchnorm1d_train_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_var,
                               T* running_mean, T* running_var, int64_t n, int64_t c, T momentum, T eps);
template <class T>
void batchnorm1d_inference_forward(const T* x, const T* gamma, const T* beta, const T* running_mean,
                                   const T* running_var, T* y, int64_t n, int64_t c, T eps);
template <class T>
void batchnorm1d_train_backward(const T* x, const T* gamma, const T* save_mean, const T* save_var, const T* dy,
                                T* dx, T* dgamma, T* dbeta, int64_t n, int64_t c, T eps);
template <class T>
void batchnorm1d_activation_train_forward(Activation act, T param, const T* pre, T* x, const T* gamma,
                                          const T* beta, T* y, T* save_mean, T* save_var, T* running_mean,
                                          T* running_var, int64_t n, int64_t c, T momentum, T eps);
template <class T>
void batchnorm1d_activation_train_backward(Activation act, T param, const T* x, const T* gamma, const T* save_mean,
                                           const T* save_var, const T* dy, T* dpre, T* dgamma, T* dbeta, int64_t n,
                                           int64_t c, T eps);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void batchnorm1d_train_forward(const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                               float* save_var, float* running_mean, float* running_var, int64_t n, int64_t c,
                               float momentum, float eps);
void batchnorm1d_inference_forward(const float* x, const float* gamma, const float* beta, const float* running_mean,
                                   const float* running_var, float* y, int64_t n, int64_t c, float eps);
void batchnorm1d_train_backward(const float* x, const float* gamma, const float* save_mean, const float* save_var,
                                const float* dy, float* dx, float* dgamma, float* dbeta, int64_t n, int64_t c,
                                float eps);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
