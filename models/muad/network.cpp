#include "models/muad/network.h"

#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/softmax.h"
#include "runtime/error.h"

namespace ad::muad {

namespace {

constexpr int kClasses = 2;

// Row softmax of [B, 2] logits (CPU, f32).
void softmax2(const Tensor& logits, Tensor& prob) {
  prob = Tensor::empty(logits.shape());
  softmax_forward(logits, prob);
}

float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

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
                        bool with_loss) {
  const char* op = "muad::Network::forward";
  const int64_t B = b.size, S = cfg_.services, H = cfg_.hidden;
  AD_CHECK(g.graph.nodes() == B * S, op, "batch graph has ", g.graph.nodes(), " nodes, batch needs ", B * S);
  AD_CHECK(!with_loss || int64_t(b.y.size()) == B, op, "labels: ", b.y.size(), " for a batch of ", B);
  B_ = B;
  y_ = b.y;
  seed_ = seed;
  offset_ = offset;
  sample_ = sample;
  const int64_t F = fused_dim();
  h_ = Tensor::zeros({B, F});
  float* h = h_.data<float>();
  for (int v = 0; v < 3; ++v) {
    Modality& m = *mod_[size_t(v)];
    Tensor e;
    if (m.kind == 0 || m.kind == 1) {
      m.gru->forward(m.kind == 0 ? b.traces : b.metrics);
      e = m.gru->final_state().h.clone();
    } else {
      e = m.log_embed->forward(b.logs);
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
      Tensor y = Tensor::empty(x.shape());
      mul(x, p, y);
      return y;
    };
    m.mu_in = mu0;
    m.var_in = v0;
    m.mu = gate(m.att_mu, mu0, m.p_mu);
    m.var = gate(m.att_var, v0, m.p_var);
    m.z = Tensor::empty({B, H});
    m.kl = Tensor::empty({B});
    // Each modality draws its own eps: counter offsets B*H apart.
    reparam_kl_forward(m.mu, m.var, m.z, m.kl, seed, offset + uint64_t(v * B * H), cfg_.variance, !sample);
    m.logit = m.cls.forward(m.z);
    softmax2(m.logit, m.prob);
    Tensor cpre = m.conf.forward(m.z);
    m.c = Tensor::empty({B});
    for (int64_t i = 0; i < B; ++i) m.c.data<float>()[i] = sigmoid(cpre.data<float>()[i]);
    const float* z = m.z.data<float>();
    for (int64_t i = 0; i < B; ++i)
      for (int64_t d = 0; d < H; ++d)
        h[i * F + (cfg_.sum_fusion ? d : v * H + d)] += z[i * H + d] * m.c.data<float>()[i];
  }
  logits_ = mm2_.forward(relu_.forward(mm1_.forward(h_)));
  softmax2(logits_, prob_);
  Tensor fc = fused_conf_.forward(h_);
  fused_c_ = Tensor::empty({B});
  Output out;
  for (int64_t i = 0; i < B; ++i) {
    fused_c_.data<float>()[i] = sigmoid(fc.data<float>()[i]);
    out.prob_anomalous.push_back(prob_.data<float>()[i * 2 + 1]);
    out.fused_confidence.push_back(fused_c_.data<float>()[i]);
    out.predicted.push_back(logits_.data<float>()[i * 2 + 1] > logits_.data<float>()[i * 2] ? 1 : 0);
  }
  if (!with_loss) return out;
  for (int64_t i = 0; i < B; ++i) {
    const int yi = b.y[size_t(i)];
    AD_CHECK(yi == 0 || yi == 1, op, "label ", yi, " at batch row ", i, " (must be 0 or 1)");
    out.ce -= std::log(std::max(double(prob_.data<float>()[i * 2 + yi]), 1e-30)) / double(B);
    const double pt = prob_.data<float>()[i * 2 + yi];
    out.fused_mse += (fused_c_.data<float>()[i] - pt) * (fused_c_.data<float>()[i] - pt) / double(B);
    for (auto& m : mod_) {
      const double p = m->prob.data<float>()[i * 2 + yi], c = m->c.data<float>()[i];
      out.tcp += ((c - p) * (c - p) - std::log(std::max(p, 1e-30))) / double(B);
      out.kl += double(m->kl.data<float>()[i]) / double(3 * B);
    }
  }
  out.loss = out.ce + cfg_.lambda_conf * out.tcp + cfg_.lambda_kl * out.kl +
             (cfg_.train_fused_confidence ? out.fused_mse : 0.0);
  return out;
}

void Network::backward() {
  const int64_t B = B_, H = cfg_.hidden, F = fused_dim();
  AD_CHECK(int64_t(y_.size()) == B && prob_.defined(), "muad::Network::backward", "backward before a with_loss forward");
  const double invB = 1.0 / double(B);
  // Fused classifier: d CE / d logits = (p - onehot) / B.
  Tensor dlogits = Tensor::empty({B, 2});
  for (int64_t i = 0; i < B; ++i)
    for (int k = 0; k < 2; ++k)
      dlogits.data<float>()[i * 2 + k] = float((prob_.data<float>()[i * 2 + k] - (y_[size_t(i)] == k)) * invB);
  Tensor dh = mm1_.backward(relu_.backward(mm2_.backward(dlogits)));
  if (cfg_.train_fused_confidence) {
    // MSE(fused c, p[y]) with h and the target detached: the head learns to read the fused representation.
    Tensor dpre = Tensor::empty({B, 1});
    for (int64_t i = 0; i < B; ++i) {
      const float c = fused_c_.data<float>()[i], pt = prob_.data<float>()[i * 2 + y_[size_t(i)]];
      dpre.data<float>()[i] = float(2.0 * (c - pt) * invB * c * (1 - c));
    }
    fused_conf_.backward(dpre);  // its input gradient is dropped (h detached)
  }
  const float* dhp = dh.data<float>();
  const double l2 = cfg_.lambda_conf;
  for (int v = 2; v >= 0; --v) {
    Modality& m = *mod_[size_t(v)];
    const float* z = m.z.data<float>();
    const float* c = m.c.data<float>();
    const float* p = m.prob.data<float>();
    Tensor dz = Tensor::empty({B, H}), dcpre = Tensor::empty({B, 1}), dlogit = Tensor::empty({B, 2});
    for (int64_t i = 0; i < B; ++i) {
      const int yi = y_[size_t(i)];
      double dc = 0;
      for (int64_t d = 0; d < H; ++d) {
        const float g = dhp[i * F + (cfg_.sum_fusion ? d : v * H + d)];
        dz.data<float>()[i * H + d] = g * c[i];
        dc += double(g) * z[i * H + d];
      }
      // lambda2 (MSE(c, p_y) + CE): the MSE reaches both c and p_y (the code does not detach p_y).
      const double pt = p[i * 2 + yi], dmse = 2.0 * (double(c[i]) - pt) * invB * l2;
      dc += dmse;
      dcpre.data<float>()[i] = float(dc * c[i] * (1 - c[i]));
      for (int k = 0; k < 2; ++k) {
        const double ce = (p[i * 2 + k] - (yi == k)) * invB * l2;
        const double via_pt = -dmse * p[i * 2 + k] * ((k == yi) - pt);  // d p_y / d logit_k = p_y (δ_ky - p_k)
        dlogit.data<float>()[i * 2 + k] = float(ce + via_pt);
      }
    }
    Tensor dz2 = m.conf.backward(dcpre);
    Tensor dz3 = m.cls.backward(dlogit);
    add(dz, dz2, dz);
    add(dz, dz3, dz);
    Tensor dkl = Tensor::full({B}, cfg_.lambda_kl / double(3 * B));
    Tensor dmu = Tensor::empty({B, H}), dvar = Tensor::empty({B, H});
    reparam_kl_backward(m.mu, m.var, dz, dkl, dmu, dvar, seed_, offset_ + uint64_t(v * B * H), cfg_.variance,
                        !sample_);
    auto gate_back = [&](Linear& att, const Tensor& x, const Tensor& pw, const Tensor& dy) {
      Tensor dx = Tensor::empty(x.shape()), dp = Tensor::empty(x.shape());
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
