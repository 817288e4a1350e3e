#include "models/anomalydae/network.h"

#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/reduce.h"

namespace ad::anomalydae {

NetworkConfig NetworkConfig::from(const Settings& s, int64_t attrs, int64_t nodes) {
  NetworkConfig c;
  c.attrs = attrs;
  c.nodes = nodes;
  c.hidden = s.hidden_dim;
  c.embed = s.embed_dim;
  c.transposed_attribute_encoder = s.attribute_encoder == "transposed";
  c.attention.negative_slope = 0.2;  // tf.nn.leaky_relu's default
  c.attention.scale_logits_by_adj = s.attention_logits == "scaled";
  c.seed = uint64_t(s.seed);
  return c;
}

LossConfig LossConfig::from(const Settings& s) {
  LossConfig l;
  if (s.loss_form == "pygod") {
    l.attribute = {ReconWeighting::Indicator, s.eta / (1 + s.eta), 1 / (1 + s.eta), true};
    l.structure = {ReconWeighting::Indicator, s.theta / (1 + s.theta), 1 / (1 + s.theta), true};
    l.attribute_weight = 1 - s.alpha;
    l.structure_weight = s.alpha;
  } else {
    bool sq = s.loss_form == "paper";
    l.attribute = {ReconWeighting::Linear, s.eta, 1.0, !sq};
    l.structure = {ReconWeighting::Linear, s.theta, 1.0, !sq};
    l.attribute_weight = sq ? 1 - s.alpha : s.alpha;
    l.structure_weight = sq ? s.alpha : 1 - s.alpha;
  }
  return l;
}

Network::Network(const NetworkConfig& cfg, Device device, DType dtype)
    : cfg_(cfg),
      in_proj_("struct_in", cfg.attrs, cfg.hidden, true, cfg.seed * 1000 + 1, device, dtype),
      attention_("attention", int(cfg.hidden), int(cfg.embed), cfg.attention, cfg.seed * 1000 + 2, device, dtype),
      attr_in_("attr_in", cfg.transposed_attribute_encoder ? cfg.nodes : cfg.attrs, cfg.hidden, true,
               cfg.seed * 1000 + 5, device, dtype),
      attr_out_("attr_out", int(cfg.hidden), int(cfg.embed), true, cfg.seed * 1000 + 6, device, dtype) {
  AD_CHECK(cfg.attrs >= 1 && (!cfg.transposed_attribute_encoder || cfg.nodes >= 1), "anomalydae::Network",
           "needs attrs >= 1 and (transposed encoder) nodes >= 1");
  if (!cfg.transposed_attribute_encoder) {
    dec_v_ = std::make_unique<Linear>("attr_dec_v", int(cfg.embed), int(cfg.attrs), false, cfg.seed * 1000 + 7, device,
                                      dtype);
    dec_a_ = std::make_unique<Linear>("attr_dec_a", int(cfg.embed), int(cfg.attrs), true, cfg.seed * 1000 + 8, device,
                                      dtype);
  }
}

void Network::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  in_proj_.collect_parameters(prefix, out);
  attention_.collect_parameters(prefix, out);
  attr_in_.collect_parameters(prefix, out);
  attr_out_.collect_parameters(prefix, out);
  if (dec_v_) {
    dec_v_->collect_parameters(prefix, out);
    dec_a_->collect_parameters(prefix, out);
  }
}

NodeErrors Network::forward(const GraphInputs& in, const LossConfig& loss) {
  const char* op = "anomalydae::Network::forward";
  AD_CHECK(in.attrs == cfg_.attrs, op, "the graph has ", in.attrs, " attributes, the network was built for ",
           cfg_.attrs);
  AD_CHECK(!cfg_.transposed_attribute_encoder || in.nodes == cfg_.nodes, op, "the graph has ", in.nodes,
           " nodes, the transposed attribute encoder was built for ", cfg_.nodes);
  in_ = &in;
  loss_ = loss;
  x_hat_ = Tensor();  // the last step's X^ goes before the new one is made: one N x d array alive, not two
  Tensor h = relu_in_.forward(in_proj_.forward(in.x, in.x_t));
  z_v_ = attention_.forward(in.att, h);
  if (cfg_.transposed_attribute_encoder) {
    z_a_ = attr_out_.forward(relu_attr_.forward(attr_in_.forward(in.x_t, in.x)));  // [d, embed]
    x_hat_ = Tensor::empty({in.nodes, in.attrs}, z_v_.dtype(), z_v_.device());
    gemm(false, true, 1.0, z_v_, z_a_, 0.0, x_hat_);
  } else {
    z_a_ = attr_out_.forward(relu_attr_.forward(attr_in_.forward(in.x, in.x_t)));  // [N, embed]
    x_hat_ = dec_v_->forward(z_v_);
    Tensor xa = dec_a_->forward(z_a_);
    add(x_hat_, xa, x_hat_);
  }
  const int64_t n = in.nodes;
  NodeErrors e;
  e.attribute = Tensor::empty({n}, z_v_.dtype(), z_v_.device());
  e.structure = Tensor::empty({n}, z_v_.dtype(), z_v_.device());
  e.score = Tensor::empty({n}, z_v_.dtype(), z_v_.device());
  if (in.x_dense.defined())
    dense_recon_error_forward(x_hat_, in.x_dense, loss.attribute, e.attribute);
  else
    csr_recon_error_forward(x_hat_, in.x, loss.attribute, e.attribute);  // sparse attributes: the CSR target
  structure_recon_error_forward(z_v_, in.target, in.ranges, loss.structure, e.structure);
  add(e.attribute, e.structure, e.score, loss.attribute_weight, loss.structure_weight);
  e.loss = Tensor::empty({1}, z_v_.dtype(), z_v_.device());
  mean_all(e.score, e.loss);
  err_ = e;
  return e;
}

void Network::backward() {
  AD_CHECK(in_ != nullptr, "anomalydae::Network::backward", "backward before forward");
  backward(constants_.full({in_->nodes}, 1.0 / double(in_->nodes), z_v_.dtype(), z_v_.device()));
}

void Network::backward(const Tensor& dscore) {
  AD_CHECK(in_ != nullptr, "anomalydae::Network::backward", "backward before forward");
  const GraphInputs& in = *in_;
  const int64_t n = in.nodes;
  DType dt = z_v_.dtype();
  Device dev = z_v_.device();
  AD_CHECK(dscore.numel() == n, "anomalydae::Network::backward", "dscore ", dscore.describe(), " for ", n, " nodes");
  Tensor dattr = Tensor::empty({n}, dt, dev), dstruct = Tensor::empty({n}, dt, dev);
  scale(dscore, loss_.attribute_weight, dattr);
  scale(dscore, loss_.structure_weight, dstruct);
  // dX^ overwrites X^ in place (each element is read before it is written; nothing later needs X^): one N x d
  // array through the step instead of two. reconstruction() is undefined until the next forward.
  AD_CHECK(x_hat_.defined(), "anomalydae::Network::backward", "a second backward after one forward");
  Tensor dx_hat = std::move(x_hat_);
  x_hat_ = Tensor();
  if (in.x_dense.defined())
    dense_recon_error_backward(dx_hat, in.x_dense, loss_.attribute, err_.attribute, dattr, dx_hat);
  else
    csr_recon_error_backward(dx_hat, in.x, loss_.attribute, err_.attribute, dattr, dx_hat);
  Tensor dz_v = Tensor::empty(z_v_.shape(), dt, dev);
  structure_recon_error_backward(z_v_, in.target, in.ranges, loss_.structure, err_.structure, dstruct, dz_v);
  Tensor dz_a;
  if (cfg_.transposed_attribute_encoder) {
    gemm(false, false, 1.0, dx_hat, z_a_, 1.0, dz_v);  // dZ_V += dX^ Z_A
    dz_a = Tensor::empty(z_a_.shape(), dt, dev);
    gemm(true, false, 1.0, dx_hat, z_v_, 0.0, dz_a);   // dZ_A = dX^T Z_V
    attr_in_.backward(relu_attr_.backward(attr_out_.backward(dz_a)));
  } else {
    Tensor dv = dec_v_->backward(dx_hat);
    add(dz_v, dv, dz_v);
    dz_a = dec_a_->backward(dx_hat);
    attr_in_.backward(relu_attr_.backward(attr_out_.backward(dz_a)));
  }
  in_proj_.backward(relu_in_.backward(attention_.backward(dz_v)));
}

NodeErrors train_step(Network& net, Optimizer& opt, const GraphInputs& in, const LossConfig& loss, Tensor& log_row) {
  AD_CHECK(log_row.numel() == 3, "anomalydae::train_step", "log row ", log_row.describe(), ", expected 3 elements");
  opt.zero_grad();
  NodeErrors e = net.forward(in, loss);
  net.backward();
  opt.step();
  Tensor loss_slot = log_row.narrow0(0, 1), attribute_slot = log_row.narrow0(1, 1), structure_slot = log_row.narrow0(2, 1);
  loss_slot.copy_from(e.loss);
  mean_all(e.attribute, attribute_slot);
  mean_all(e.structure, structure_slot);
  return e;
}

}  // namespace ad::anomalydae
