// MUAD's network (Pei et al., "Uncertainty-Aware Multimodal Anomaly Detection for Microservice Systems with
// Active Learning"; official code slg-frank/muad), one forward and its hand-written backward:
//
//   per modality v in (trace, metric, log) — the official concatenation order:
//     encoder   GRU(1->64) last hidden (trace), GRU(7->64) last hidden (metric), Linear(15->64) (log)
//     graph     GATv2(64->64, 4 heads, LeakyReLU 0.2) + max over heads, global attention pooling -> [B, 64]
//     uncertain Linear(64->128) -> LayerNorm -> Tanh; mu = att(sigmoid(Linear(128->64))),
//               v = att(Linear(128->64)) (the code: att(sigmoid(...))) with att(x) = x * softmax(x W + b);
//               z = mu + sigma(v) eps, KL_v = mean_b KL(N(mu, e^v) || N(0, I))  (one fused kernel)
//     TCP heads logit_v = Linear(64->2)(z), c_v = sigmoid(Linear(64->1)(z))
//   fusion      h = [z_t c_t | z_m c_m | z_l c_l] (192; "sum": z_t c_t + z_m c_m + z_l c_l, 64, the paper's)
//   classifier  Linear(192->64) -> ReLU -> Linear(64->2);  fused confidence sigmoid(Linear(192->1)(h))
//   loss        CE + lambda2 sum_v (CE_v + MSE(c_v, p_v[y])) + lambda1 mean_v KL_v  [+ MSE(fused c, p[y])]
//
// Which parts follow the code, which the paper, and which fix the code: models/muad/README.md. Every step runs
// on the parameters' device (Module::to): the batch is copied there once per forward, the heads' sigmoid, the
// fusion (scale_rows_into_columns) and the losses (confidence_loss, sum_all) are device ops; the caller reads
// the probabilities, confidences and the loss terms back (one copy each).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/gaussian.h"
#include "kernels/graph_attention.h"
#include "layers/activation_layer.h"
#include "layers/attention_pooling.h"
#include "layers/gatv2.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/recurrent.h"

namespace ad::muad {

struct NetworkConfig {
  int64_t services = 12, steps = 10, metric_channels = 7, log_templates = 15;
  int hidden = 64, heads = 4;
  double negative_slope = 0.2;
  bool sum_fusion = false;               // false: concatenation (our default); true: the paper's sum
  VarianceForm variance = VarianceForm::LogVar;  // OfficialMuad: sqrt(v) sampling, v as log-variance in the KL
  bool sigmoid_mu = true;                // the code's Sigmoid after fc_mu
  // The code's Sigmoid after fc_var. Needed by the official reading (sqrt(v)); with a log-variance it would
  // pin sigma to [1, e^0.5], which drowns mu (see README): off by default.
  bool sigmoid_variance = false;
  bool train_fused_confidence = true;    // false: the code's fused confidence head that no loss trains
  double lambda_conf = 0.6, lambda_kl = 1.0;
  uint64_t seed = 1;
};

// B chunks laid out for the network: node n = b * S + s.
struct Batch {
  int64_t size = 0;
  Tensor metrics;      // [T, B*S, M] time-major (the GRU's layout)
  Tensor traces;       // [T, B*S, 1]
  Tensor logs;         // [B*S, L]
  std::vector<int> y;  // [B] labels (0/1); ignored without loss
};

struct Output {
  std::vector<float> prob_anomalous;  // softmax(logits)[:, 1], [B]
  std::vector<float> fused_confidence;  // [B]
  std::vector<int> predicted;         // argmax, [B]
  double loss = 0, ce = 0, tcp = 0, kl = 0, fused_mse = 0;  // with_loss only
};

// Block-diagonal batch of B copies of the service graph (rows = callee, the edge's target: DGL's GATv2Conv
// aggregates messages from src into dst) and its node offsets graph_ptr [B+1].
struct BatchGraph {
  AttentionGraph graph;
  Tensor graph_ptr;
  static BatchGraph build(int64_t services, const std::vector<std::pair<int, int>>& edges, int64_t batch);
  BatchGraph to(Device device) const;
};

// One modality's layers and what its forward kept.
struct Modality {
  Modality(const std::string& name, int kind, const NetworkConfig& c, uint64_t seed);
  std::string name;
  int kind;  // 0 trace (GRU), 1 metric (GRU), 2 log (Linear)
  std::unique_ptr<Recurrent> gru;
  std::unique_ptr<Linear> log_embed;
  Gatv2Layer gat;
  AttentionPoolLayer pool;
  Linear enc;
  LayerNormLayer norm;
  ActivationLayer tanh;
  Linear fc_mu, fc_var;
  ActivationLayer sig_mu, sig_var;
  Linear att_mu, att_var;  // SimpleAttention's x W + b (W stored as Linear's [out, in] = W^T)
  Linear cls, conf;
  // Kept from the forward: attention inputs and softmax weights, mu, v, z, kl rows, heads.
  Tensor mu_in, var_in, p_mu, p_var, mu, var, z, kl, logit, prob, c;
  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out);
};

class Network : public Module {
 public:
  explicit Network(const NetworkConfig& c);

  // sample: z = mu + sigma eps with eps from Philox(seed, offset + ...); otherwise z = mu.
  // with_loss: computes the loss terms (and keeps what backward needs).
  // read_back false (the training step): nothing is copied back to the host and the Output stays empty; the loss
  // terms are not computed (backward does not need them), so the step has no host synchronisation of its own.
  Output forward(const Batch& b, const BatchGraph& g, bool sample, uint64_t seed, uint64_t offset, bool with_loss,
                 bool read_back = true);
  // Gradients of the last with_loss forward's total loss, accumulated into every parameter.
  void backward();

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  const NetworkConfig& config() const { return cfg_; }
  int64_t fused_dim() const { return cfg_.sum_fusion ? cfg_.hidden : 3 * cfg_.hidden; }

  // Per-modality layers and state of the last forward (tests, golden): 0 trace, 1 metric, 2 log.
  Modality& modality(int v) { return *mod_.at(size_t(v)); }
  const Tensor& logits() const { return logits_; }

 private:
  NetworkConfig cfg_;
  std::vector<std::unique_ptr<Modality>> mod_;  // 0 trace, 1 metric, 2 log
  Linear mm1_, mm2_, fused_conf_;
  ActivationLayer relu_;
  // Kept from the forward.
  int64_t B_ = 0;
  std::vector<int> y_;
  Tensor labels_;  // y_ as I64 on the network's device
  Tensor h_, logits_, prob_, fused_c_;
  uint64_t seed_ = 0, offset_ = 0;
  bool sample_ = false;
};

}  // namespace ad::muad
