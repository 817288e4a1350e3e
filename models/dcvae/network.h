// The DC-VAE network (García González et al.; official TensorFlow code GastonGarciaGonzalez/DC-VAE),
// layer for layer, with its loss and its backward written out in reverse order.
//
// U = cnn_units, D = dil_rate, L = len(U); every convolution is causal, kernel `kernel`, stride 1.
//   encoder: conv U[0] dil D[0] tanh BN, then for i = 0..L-3: conv U[i+1] dil D[i+1] tanh BN
//            z_mean, z_log_var: linear convs with J channels at dilation D[L-2]
//   z = z_mean + exp(z_log_var / 2) * eps           (eps ~ N(0,1) from Philox; z = z_mean at inference)
//   decoder: conv U[L-1] dil D[L] ... written with Python's negative indices as in the original:
//            conv U[-1] dil D[-1] elu BN, then for i = -2..-(L-1): conv U[i] dil D[i] elu BN
//            x_mean, x_log_var: linear convs with M channels at dilation D[0]
//   BN after the activation (Keras BatchNormalization: momentum 0.99, eps 1e-3).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/activation_layer.h"
#include "layers/batchnorm1d.h"
#include "layers/conv1d.h"
#include "layers/optimizer.h"
#include "layers/resident_constants.h"
#include "models/dcvae/settings.h"
#include "runtime/philox.h"

namespace ad::dcvae {

struct Outputs {
  Tensor z_mean, z_log_var, z;  // [B, T, J]
  Tensor x_mean, x_log_var;     // [B, T, M]
};

struct LossParts {
  double total = 0, reconstruction = 0, kl = 0;
};

class Network : public Module {
 public:
  Network(const Settings& s, Device device, DType dtype = DType::F32);

  // train: batch statistics in BN (and running-stat updates) and sampled z.
  // sample: whether z is sampled (always in training; at inference per settings).
  Outputs forward(const Tensor& x, bool train, bool sample, PhiloxStream& rng);
  // Loss of the original (mean over batch, time and channels; or summed with loss_reduction "sum"), read to
  // the host (one host synchronisation on a device).
  LossParts loss(const Tensor& x, const Outputs& o) const;
  // The same two terms left on x's device, [2] = (reconstruction, KL), before the per-batch scale
  // loss_term_scale(x): a training step accumulates them there (kernels/accumulate.h) and reads them once
  // per logging interval.
  Tensor loss_terms(const Tensor& x, const Outputs& o) const;
  double loss_term_scale(const Tensor& x) const;
  // Gradients of loss() with respect to every parameter, accumulated into Parameter::grad.
  void backward(const Tensor& x, const Outputs& o);

  // For a captured step (runtime/step_graph.h): in training, z's noise counter offset is read from device
  // memory (i64 [1] on the network's device) instead of being reserved from the stream by forward(); the caller
  // reserves noise_draws(x) and writes the offset there before each step. An undefined tensor turns it off.
  void set_device_noise_offset(Tensor offset) { device_noise_offset_ = std::move(offset); }
  int64_t noise_draws(const Tensor& x) const { return x.size(0) * x.size(1) * s_.J; }

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  // Non-trainable state a checkpoint must keep (BatchNorm running statistics).
  void collect_buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor*>>& out);
  // A human-readable layer table (the original's model.summary()).
  std::string summary() const;

 private:
  struct Block {  // conv -> activation -> BatchNorm
    std::unique_ptr<CausalConv1d> conv;
    std::unique_ptr<ActivationLayer> act;
    std::unique_ptr<BatchNorm1d> bn;
  };
  Block make_block(const std::string& name, int64_t cin, int64_t cout, int64_t dilation, Activation a);
  static bool fused_cpu_block(const Block& b, const Tensor& t);
  // forward(x, train false, sample false) on the CPU, a few sequences at a time (see network.cpp).
  Outputs infer_in_chunks(const Tensor& x, int64_t sequences);

  Settings s_;
  Device device_;
  DType dtype_;
  uint64_t init_seed_;
  std::vector<Block> encoder_, decoder_;
  std::unique_ptr<CausalConv1d> z_mean_, z_log_var_, x_mean_, x_log_var_;
  std::vector<std::string> table_;
  // kept from forward for backward
  uint64_t eps_seed_ = 0, eps_offset_ = 0;
  bool sampled_ = false;
  bool device_offset_used_ = false;
  Tensor device_noise_offset_;
  ResidentConstants constants_;  // backward's upstream gradient, kept on the device
};

// One training step on a batch already on the network's device: zero-grad (one memset), forward, the two
// loss terms and their total added to loss_sums on the device (f64 [3]: reconstruction, KL, total, each
// times loss_term_scale), backward, and the optimizer's update (one launch). Nothing in it waits for the
// device; the caller reads loss_sums once per logging interval.
void train_step(Network& net, Optimizer& opt, const Tensor& xb, PhiloxStream& rng, Tensor& loss_sums);

}  // namespace ad::dcvae
