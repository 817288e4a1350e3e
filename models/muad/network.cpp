#include "models/muad/network.h"

#include <cmath>

#include "kernels/activation.h"
#include "kernels/confidence_loss.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "kernels/row_scale.h"
#include "kernels/softmax.h"
#include "runtime/error.h"

namespace ad::muad {

namespace {

constexpr int kClasses = 2;

// Row softmax of [B, 2] logits, on the logits' device.
void softmax2(const Tensor& logits, Tensor& prob) {
  prob = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  softmax_forward(logits, prob);
}

// c = sigmoid(pre) as a [B] vector (pre: a head's [B, 1] output), on pre's device.
Tensor sigmoid_column(const Tensor& pre) {
  Tensor flat = pre.view({pre.size(0)});
  Tensor c = Tensor::empty(flat.shape(), flat.dtype(), flat.device());
  activation_forward(Activation::Sigmoid, flat, c);
  return c;
}

// One copy to `device` (none when the tensor is there already).
Tensor on(const Tensor& t, Device device) { return t.device() == device ? t : t.to(device); }

}  // namespace

Modality::Modality(const std::string& n, int k, const NetworkConfig& c, uint64_t seed)
    : name(n),
      kind(k),
      gat("gat", c.hidden, c.hidden, c.heads, c.negative_slope, seed + 10),
      pool("pool", c.hidden, seed + 20),
      enc("enc", c.hidden, 2 * c.hidden, true, seed + 30),
      norm("norm", 2 * c.hidden),
      tanh(Activation::Tanh),
      fc_mu("fc_mu", 2 * c.hidden, c.hidden, true, seed + 40),
      fc_var("fc_var", 2 * c.hidden, c.hidden, true, seed + 50),
      sig_mu(Activation::Sigmoid),
      sig_var(Activation::Sigmoid),
      att_mu("att_mu", c.hidden, c.hidden, true, seed + 60),
      att_var("att_var", c.hidden, c.hidden, true, seed + 70),
      cls("cls", c.hidden, kClasses, true, seed + 80),
      conf("conf", c.hidden, 1, true, seed + 90) {
  if (kind == 0) gru = std::make_unique<Recurrent>("gru", RecurrentCell::GRU, 1, c.hidden, seed);
  if (kind == 1) gru = std::make_unique<Recurrent>("gru", RecurrentCell::GRU, int(c.metric_channels), c.hidden, seed);
  if (kind == 2) log_embed = std::make_unique<Linear>("embed", int(c.log_templates), c.hidden, true, seed);
}

void Modality::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  const std::string base = join_name(prefix, name);
  if (gru) gru->collect_parameters(base, out);
  if (log_embed) log_embed->collect_parameters(base, out);
  gat.collect_parameters(base, out);
  pool.collect_parameters(base, out);
  enc.collect_parameters(base, out);
  norm.collect_parameters(base, out);
  fc_mu.collect_parameters(base, out);
  fc_var.collect_parameters(base, out);
  att_mu.collect_parameters(base, out);
  att_var.collect_parameters(base, out);
  cls.collect_parameters(base, out);
  conf.collect_parameters(base, out);
}

BatchGraph BatchGraph::build(int64_t S, const std::vector<std::pair<int, int>>& edges, int64_t B) {
  std::vector<int64_t> rows, cols;
  for (int64_t b = 0; b < B; ++b)
    for (auto [src, dst] : edges) {
      rows.push_back(b * S + dst);
      cols.push_back(b * S + src);
    }
  BatchGraph g;
  g.graph = AttentionGraph::build(csr_from_triplets(B * S, B * S, rows, cols, {}));
  g.graph_ptr = Tensor::empty({B + 1}, DType::I64);
  for (int64_t b = 0; b <= B; ++b) g.graph_ptr.data<int64_t>()[b] = b * S;
  return g;
}

BatchGraph BatchGraph::to(Device device) const {
  BatchGraph g;
  g.graph = graph.to(device);
  g.graph_ptr = on(graph_ptr, device);
  return g;
}

Network::Network(const NetworkConfig& c)
    : cfg_(c),
      mm1_("mm1", int(c.sum_fusion ? c.hidden : 3 * c.hidden), c.hidden, true, c.seed + 1000),
      mm2_("mm2", c.hidden, kClasses, true, c.seed + 1010),
      fused_conf_("fused_conf", int(c.sum_fusion ? c.hidden : 3 * c.hidden), 1, true, c.seed + 1020),
      relu_(Activation::ReLU) {
  mod_.push_back(std::make_unique<Modality>("trace", 0, c, c.seed + 100));
  mod_.push_back(std::make_unique<Modality>("metric", 1, c, c.seed + 200));
  mod_.push_back(std::make_unique<Modality>("log", 2, c, c.seed + 300));
}

void Network::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  for (auto& m : mod_) m->collect_parameters(prefix, out);
  mm1_.collect_parameters(prefix, out);
  mm2_.collect_parameters(prefix, out);
  fused_conf_.collect_parameters(prefix, out);
}

Output Network::forward(const Batch& b, const BatchGraph& g, bool sample, uint64_t seed, uint64_t offset,
                        bool with_loss, bool read_back) {
  const char* op = "muad::Network::forward";
  const int64_t B = b.size, S = cfg_.services, H = cfg_.hidden;
  AD_CHECK(g.graph.nodes() == B * S, op, "batch graph has ", g.graph.nodes(), " nodes, batch needs ", B * S);
  AD_CHECK(!with_loss || int64_t(b.y.size()) == B, op, "labels: ", b.y.size(), " for a batch of ", B);
  const Device dev = mm1_.parameters()[0]->value.device();
  AD_CHECK(g.graph_ptr.device() == dev, op, "batch graph on another device than the network (BatchGraph::to)");
  B_ = B;
  y_ = b.y;
  seed_ = seed;
  offset_ = offset;
  sample_ = sample;
  if (with_loss) {
    // Labels checked here, on the host, before their one copy to the device (the loss kernel trusts them).
    Tensor labels = Tensor::empty({B}, DType::I64);
    for (int64_t i = 0; i < B; ++i) {
      const int yi = b.y[size_t(i)];
      AD_CHECK(yi == 0 || yi == 1, op, "label ", yi, " at batch row ", i, " (must be 0 or 1)");
      labels.data<int64_t>()[i] = yi;
    }
    labels_ = on(labels, dev);
  }
  const int64_t F = fused_dim();
  h_ = Tensor::zeros({B, F}, DType::F32, dev);
  // The batch's one copy to the device.
  const Tensor traces = on(b.traces, dev), metrics = on(b.metrics, dev), logs = on(b.logs, dev);
  for (int v = 0; v < 3; ++v) {
    Modality& m = *mod_[size_t(v)];
    Tensor e;
    if (m.kind == 0 || m.kind == 1) {
      m.gru->forward(m.kind == 0 ? traces : metrics);
      e = m.gru->final_state().h.clone();
    } else {
      e = m.log_embed->forward(logs);
    }
    Tensor pooled = m.pool.forward(m.gat.forward(g.graph, e), g.graph_ptr);
    Tensor a = m.tanh.forward(m.norm.forward(m.enc.forward(pooled)));
    Tensor mu0 = m.fc_mu.forward(a), v0 = m.fc_var.forward(a);
    if (cfg_.sigmoid_mu) mu0 = m.sig_mu.forward(mu0);
    if (cfg_.sigmoid_variance) v0 = m.sig_var.forward(v0);
    // SimpleAttention: x * softmax(x W + b), on mu and on v.
    auto gate = [&](Linear& att, const Tensor& x, Tensor& p) {
      p = att.forward(x);
      softmax_forward(p, p);
      Tensor y = Tensor::empty(x.shape(), x.dtype(), dev);
      mul(x, p, y);
      return y;
    };
    m.mu_in = mu0;
    m.var_in = v0;
    m.mu = gate(m.att_mu, mu0, m.p_mu);
    m.var = gate(m.att_var, v0, m.p_var);
    m.z = Tensor::empty({B, H}, DType::F32, dev);
    m.kl = Tensor::empty({B}, DType::F32, dev);
    // Each modality draws its own eps: counter offsets B*H apart.
    reparam_kl_forward(m.mu, m.var, m.z, m.kl, seed, offset + uint64_t(v * B * H), cfg_.variance, !sample);
    m.logit = m.cls.forward(m.z);
    softmax2(m.logit, m.prob);
    m.c = sigmoid_column(m.conf.forward(m.z));
    scale_rows_into_columns(m.z, m.c, h_, cfg_.sum_fusion ? 0 : v * H);
  }
  logits_ = mm2_.forward(relu_.forward(mm1_.forward(h_)));
  softmax2(logits_, prob_);
  fused_c_ = sigmoid_column(fused_conf_.forward(h_));
  if (!read_back) return Output{};
  // What the caller reads: one copy each of the probabilities, logits and fused confidences.
  const Tensor prob = on(prob_, Device::CPU), logits = on(logits_, Device::CPU), fused_c = on(fused_c_, Device::CPU);
  Output out;
  for (int64_t i = 0; i < B; ++i) {
    out.prob_anomalous.push_back(prob.data<float>()[i * 2 + 1]);
    out.fused_confidence.push_back(fused_c.data<float>()[i]);
    out.predicted.push_back(logits.data<float>()[i * 2 + 1] > logits.data<float>()[i * 2] ? 1 : 0);
  }
  if (!with_loss) return out;
  // Loss terms on the device, read back in one copy: rows 2v, 2v+1 modality v's CE and MSE, 6 and 7 the fused
  // head's, 8 + v the sum of modality v's KL rows.
  Tensor terms = Tensor::empty({11, 1}, DType::F32, dev);
  for (int v = 0; v < 3; ++v) {
    Tensor tv = terms.narrow0(2 * v, 2), kv = terms.narrow0(8 + v, 1);
    confidence_loss_forward(mod_[size_t(v)]->prob, mod_[size_t(v)]->c, labels_, tv);
    sum_all(mod_[size_t(v)]->kl, kv);
  }
  Tensor tf = terms.narrow0(6, 2);
  confidence_loss_forward(prob_, fused_c_, labels_, tf);
  const Tensor t = on(terms, Device::CPU);
  const float* tp = t.data<float>();
  out.ce = tp[6];
  out.fused_mse = tp[7];
  for (int v = 0; v < 3; ++v) {
    out.tcp += double(tp[2 * v]) + double(tp[2 * v + 1]);
    out.kl += double(tp[8 + v]) / double(3 * B);
  }
  out.loss = out.ce + cfg_.lambda_conf * out.tcp + cfg_.lambda_kl * out.kl +
             (cfg_.train_fused_confidence ? out.fused_mse : 0.0);
  return out;
}

void Network::backward() {
  const int64_t B = B_, H = cfg_.hidden;
  AD_CHECK(int64_t(y_.size()) == B && prob_.defined() && labels_.defined(), "muad::Network::backward",
           "backward before a with_loss forward");
  const Device dev = prob_.device();
  // Fused classifier: d CE / d logits = (p - onehot) / B; the fused confidence's MSE(c, p[y]) with h and the
  // target detached (the head learns to read the fused representation; its input gradient is dropped).
  Tensor dlogits = Tensor::empty({B, 2}, DType::F32, dev), dfused_pre = Tensor::empty({B}, DType::F32, dev);
  confidence_loss_backward(prob_, fused_c_, labels_, Tensor(), 1.0, cfg_.train_fused_confidence ? 1.0 : 0.0, true,
                           dlogits, dfused_pre);
  Tensor dh = mm1_.backward(relu_.backward(mm2_.backward(dlogits)));
  if (cfg_.train_fused_confidence) fused_conf_.backward(dfused_pre.view({B, 1}));
  const double l2 = cfg_.lambda_conf;
  for (int v = 2; v >= 0; --v) {
    Modality& m = *mod_[size_t(v)];
    // The fusion's gradients to z and to c; then lambda2 (CE + MSE(c, p_y)) with p_y trained (the code does not
    // detach it), the fusion's dc added before the sigmoid.
    Tensor dz = Tensor::empty({B, H}, DType::F32, dev), dc = Tensor::empty({B}, DType::F32, dev);
    scale_rows_into_columns_backward(m.z, m.c, dh, cfg_.sum_fusion ? 0 : v * H, dz, dc);
    Tensor dlogit = Tensor::empty({B, 2}, DType::F32, dev), dcpre = Tensor::empty({B}, DType::F32, dev);
    confidence_loss_backward(m.prob, m.c, labels_, dc, l2, l2, false, dlogit, dcpre);
    Tensor dz2 = m.conf.backward(dcpre.view({B, 1}));
    Tensor dz3 = m.cls.backward(dlogit);
    add(dz, dz2, dz);
    add(dz, dz3, dz);
    Tensor dkl = Tensor::full({B}, cfg_.lambda_kl / double(3 * B), DType::F32, dev);
    Tensor dmu = Tensor::empty({B, H}, DType::F32, dev), dvar = Tensor::empty({B, H}, DType::F32, dev);
    reparam_kl_backward(m.mu, m.var, dz, dkl, dmu, dvar, seed_, offset_ + uint64_t(v * B * H), cfg_.variance,
                        !sample_);
    auto gate_back = [&](Linear& att, const Tensor& x, const Tensor& pw, const Tensor& dy) {
      Tensor dx = Tensor::empty(x.shape(), x.dtype(), dev), dp = Tensor::empty(x.shape(), x.dtype(), dev);
      mul(dy, pw, dx);
      mul(dy, x, dp);
      softmax_backward(pw, dp, dp);
      Tensor dx2 = att.backward(dp);
      add(dx, dx2, dx);
      return dx;
    };
    Tensor dmu0 = gate_back(m.att_mu, m.mu_in, m.p_mu, dmu);
    Tensor dv0 = gate_back(m.att_var, m.var_in, m.p_var, dvar);
    if (cfg_.sigmoid_mu) dmu0 = m.sig_mu.backward(dmu0);
    if (cfg_.sigmoid_variance) dv0 = m.sig_var.backward(dv0);
    Tensor da = m.fc_mu.backward(dmu0);
    Tensor da2 = m.fc_var.backward(dv0);
    add(da, da2, da);
    Tensor dpooled = m.enc.backward(m.norm.backward(m.tanh.backward(da)));
    Tensor de = m.gat.backward(m.pool.backward(dpooled));
    if (m.gru) {
      RecurrentState dfinal;
      dfinal.h = de;
      m.gru->backward(Tensor(), dfinal);
    } else {
      m.log_embed->backward(de);
    }
  }
}

}  // namespace ad::muad
