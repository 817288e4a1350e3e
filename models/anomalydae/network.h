// AnomalyDAE's dual autoencoder with hand-written backward (Fan, Zhang, Li, ICASSP 2020; official TF code
// haoyfan/AnomalyDAE):
//   structure encoder  H = ReLU(X W1 + b1)            (SparseLinear d -> hidden)
//                      Z_V = attention(Â; H) + b       (GraphAttentionLayer hidden -> embed)
//   attribute encoder  transposed (default, transductive): Z_A = ReLU(X^T W3 + b3) W4 + b4   ([d, embed])
//                      X^ = Z_V Z_A^T
//                      mlp (inductive, for traces): Z_N = ReLU(X W3 + b3) W4 + b4 per node ([N, embed])
//                      X^ = Z_V D_v^T + Z_N D_a^T + b_d
//   structure decoder  sigmoid(Z_V Z_V^T), never formed: the loss kernels tile it (kernels/recon_loss.h)
// Errors per node (kernels/recon_loss.h) and their combination follow `loss_form`:
//   official  score = alpha * ||(X^-X) o B_X|| + (1-alpha) * ||(S^-(A+I)) o B_A||, B = 1 + (w-1) target
//   paper     score = alpha * ||(S^-(A+I)) o B_A||^2 + (1-alpha) * ||(X^-X) o B_X||^2
//   pygod     score = (1-alpha) * sqrt(sum w_X (X^-X)^2) + alpha * sqrt(sum w_A (S^-(A+I))^2),
//             w = eta/(1+eta) on nonzero targets, 1/(1+eta) elsewhere (theta likewise)
// loss = mean score over the nodes.
#pragma once
#include <memory>
#include <string>

#include "kernels/recon_loss.h"
#include "layers/activation_layer.h"
#include "layers/graph_attention.h"
#include "layers/linear.h"
#include "layers/optimizer.h"
#include "layers/resident_constants.h"
#include "layers/sparse_linear.h"
#include "models/anomalydae/graph_data.h"
#include "models/anomalydae/settings.h"

namespace ad::anomalydae {

struct NetworkConfig {
  int64_t attrs = 0;
  int64_t nodes = 0;  // the transposed attribute encoder's input size (one fixed graph)
  int64_t hidden = 256, embed = 128;
  bool transposed_attribute_encoder = true;
  GraphAttentionOptions attention;
  uint64_t seed = 7;
  static NetworkConfig from(const Settings& s, int64_t attrs, int64_t nodes);
};

struct LossConfig {
  ReconWeighting attribute, structure;
  double attribute_weight = 0.7, structure_weight = 0.3;  // multipliers of the two per-node errors
  static LossConfig from(const Settings& s);
};

struct NodeErrors {
  Tensor attribute, structure, score;  // [N] each, on the network's device
  Tensor loss;                         // [1], the mean score, on the network's device (.item() reads it: a host sync)
};

class Network : public Module {
 public:
  Network(const NetworkConfig& cfg, Device device, DType dtype = DType::F32);

  // Forward through both autoencoders and the errors; keeps what backward needs.
  NodeErrors forward(const GraphInputs& in, const LossConfig& loss);
  // d loss / d parameters accumulated into the Parameters' grads (call zero_grad first).
  void backward();
  // The same for an arbitrary gradient of the per-node scores (backward() passes 1/N each).
  void backward(const Tensor& dscore);

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  const NetworkConfig& config() const { return cfg_; }
  const Tensor& embeddings() const { return z_v_; }
  // X^ of the last forward; backward() turns it into its gradient in place, so it is undefined after backward.
  const Tensor& reconstruction() const { return x_hat_; }

 private:
  NetworkConfig cfg_;
  SparseLinear in_proj_;
  ActivationLayer relu_in_{Activation::ReLU};
  GraphAttentionLayer attention_;
  SparseLinear attr_in_;
  ActivationLayer relu_attr_{Activation::ReLU};
  Linear attr_out_;
  std::unique_ptr<Linear> dec_v_, dec_a_;  // mlp attribute decoder only

  const GraphInputs* in_ = nullptr;
  LossConfig loss_;
  Tensor z_v_, z_a_, x_hat_;
  NodeErrors err_;
  ResidentConstants constants_;  // backward()'s 1/N, kept on the device
};

// One full-batch training step: zero-grad (one memset), forward, backward, the optimizer's update (one launch),
// and the step's row of the training log written on the device (log_row [3]: loss, mean attribute error, mean
// structure error). Nothing in it waits for the device; the caller reads the log once per logging interval.
NodeErrors train_step(Network& net, Optimizer& opt, const GraphInputs& in, const LossConfig& loss, Tensor& log_row);

}  // namespace ad::anomalydae
