#include "models/deepsphere/network.h"

#include <cmath>
#include <random>

#include "kernels/centre_distance.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/hypersphere.h"
#include "kernels/reduce.h"

namespace ad::deepsphere {

namespace {
Tensor host_vector(const std::vector<double>& v, DType dt, Device dev) {
  Tensor t = Tensor::from_vector(v, {int64_t(v.size())}, dt);
  return dev == Device::CPU ? t : t.to(dev);
}
// A buffer kept across epochs (same shape every full-batch step): no fresh pages to fault in each time.
Tensor& workspace(Tensor& slot, const Shape& shape, DType dt, Device dev) {
  if (!slot.defined() || slot.shape() != shape || slot.dtype() != dt) slot = Tensor::empty(shape, dt, dev);
  return slot;
}
std::vector<double> to_host(const Tensor& t) { return t.is_cuda() ? t.to(Device::CPU).to_vector() : t.to_vector(); }

// TensorFlow 1's LSTMCell initialisation (the official code's): one Glorot-uniform kernel over
// [inputs + hidden, 4 hidden] (the input size counts even for the decoder, which is fed zeros of size D),
// zero bias, and forget_bias = 1.0 added to the forget gate, here folded into bias_ih's forget block.
void tensorflow_lstm_init(Recurrent& lstm, int64_t tf_input_size, std::mt19937_64& gen) {
  const int64_t Hd = lstm.hidden_size();
  const double limit = std::sqrt(6.0 / double(tf_input_size + Hd + 4 * Hd));
  std::uniform_real_distribution<double> dist(-limit, limit);
  auto fill = [&](Parameter& p) {
    std::vector<double> v(size_t(p.value.numel()));
    for (double& e : v) e = dist(gen);
    p.value.copy_from(Tensor::from_vector(v, p.value.shape(), p.value.dtype()));
  };
  if (lstm.input_size() > 0) fill(lstm.weight_ih());
  fill(lstm.weight_hh());
  std::vector<double> bias(size_t(4 * Hd), 0.0);
  for (int64_t j = Hd; j < 2 * Hd; ++j) bias[size_t(j)] = 1.0;  // PyTorch order i, f, g, o: f is block 1
  lstm.bias_ih().value.copy_from(Tensor::from_vector(bias, {4 * Hd}, lstm.bias_ih().value.dtype()));
  lstm.bias_hh().value.zero_();
}
}  // namespace

void reverse_time(const Tensor& y, Tensor& out) {
  const int64_t T = y.size(0);
  for (int64_t t = 0; t < T; ++t) {
    Tensor dst = out.narrow0(t, 1);
    dst.copy_from(y.narrow0(T - 1 - t, 1));
  }
}

Network::Network(const NetworkConfig& cfg, Device device)
    : cfg_(cfg),
      device_(device),
      encoder_("encoder", RecurrentCell::LSTM, int(cfg.dim), cfg.hidden, cfg.seed + 1, device, cfg.dtype),
      decoder_("decoder", RecurrentCell::LSTM, 0, cfg.hidden, cfg.seed + 2, device, cfg.dtype),
      output_("output", cfg.hidden, int(cfg.dim), true, cfg.seed + 3, device, cfg.dtype) {
  AD_CHECK(cfg.steps > 0 && cfg.dim > 0 && cfg.hidden > 0, "deepsphere::Network", "bad sizes T=", cfg.steps,
           " D=", cfg.dim, " hidden=", cfg.hidden);
  std::mt19937_64 gen(cfg.seed);
  tensorflow_lstm_init(encoder_, cfg.dim, gen);
  tensorflow_lstm_init(decoder_, cfg.dim, gen);
  // Centre and attention vector: N(0, 1) (tf.random_normal_initializer); radius 0.1.
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> a(size_t(cfg.steps)), c(size_t(cfg.hidden));
  for (double& v : a) v = normal(gen);
  for (double& v : c) v = normal(gen);
  attention_ = Parameter("attention", host_vector(a, cfg.dtype, device));
  centre_ = Parameter("centre", host_vector(c, cfg.dtype, device));
  radius_ = Parameter("radius", host_vector({cfg.radius_init}, cfg.dtype, device));
}

void Network::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  encoder_.collect_parameters(prefix, out);
  decoder_.collect_parameters(prefix, out);
  output_.collect_parameters(prefix, out);
  for (Parameter* p : {&attention_, &centre_, &radius_}) {
    const std::string leaf = p->name.substr(p->name.rfind('.') + 1);
    p->name = join_name(prefix, leaf);
    out.push_back(p);
  }
}

ForwardResult Network::forward(const Tensor& x, const Tensor& x_in) {
  const char* op = "deepsphere::Network::forward";
  const int64_t T = cfg_.steps, D = cfg_.dim, Hd = cfg_.hidden;
  AD_CHECK(x.dim() == 3 && x.size(0) == T && x.size(2) == D, op, "expected x [", T, ", B, ", D, "], got ",
           x.describe());
  AD_CHECK(x_in.shape() == x.shape(), op, "encoder input ", x_in.describe(), " differs from x ", x.describe());
  const int64_t B = x.size(1);
  const DType dt = cfg_.dtype;
  x_ = x;
  enc_out_ = encoder_.forward(x_in);  // [T, B, Hd]
  z_ = Tensor::empty({1, B * Hd}, dt, device_);
  gemm(true, false, 1.0, attention_.value.view({T, 1}), enc_out_.view({T, B * Hd}), 0.0, z_);
  d2_ = Tensor::empty({B, 1, 1}, dt, device_);
  centre_distance_forward(CentreDistance::SquaredEuclidean, z_.view({B, 1, Hd}), centre_.value.view({1, 1, Hd}), d2_);
  Tensor residue = Tensor::empty({B}, dt, device_), weight = Tensor::empty({B}, dt, device_);
  hypersphere_forward(d2_.view({B}), radius_.value, residue, weight, cfg_.weight_form);

  // The decoder's outputs reversed in time before the Linear layer (the same as after it, and Hd < D).
  Tensor dec = decoder_.forward_without_input(T, B, encoder_.final_state());
  Tensor dec_reversed = Tensor::empty({T, B, Hd}, dt, device_);
  reverse_time(dec, dec_reversed);
  ForwardResult r;
  r.x_hat = output_.forward(dec_reversed);  // [T, B, D], time order
  workspace(diff_, {T, B, D}, dt, device_);
  Tensor& sq = workspace(big_, {T, B, D}, dt, device_);
  add(r.x_hat, x, diff_, 1.0, -1.0);
  mul(diff_, diff_, sq);
  Tensor per_entry = Tensor::empty({B * D}, dt, device_), rec = Tensor::empty({B}, dt, device_);
  sum_axis(sq.view({T, B * D}), 0, per_entry);
  sum_axis(per_entry.view({B, D}), 1, rec, 1.0 / double(T * D));

  r.d2 = to_host(d2_);
  r.rec = to_host(rec);
  r.residue = to_host(residue);
  r.weight = to_host(weight);
  r.radius = to_host(radius_.value)[0];
  if (cfg_.hypersphere) {
    double sum_res = 0, mean_d2 = 0, mean_wrec = 0;
    for (int64_t b = 0; b < B; ++b) {
      sum_res += r.residue[size_t(b)];
      mean_d2 += r.d2[size_t(b)] / double(B);
      mean_wrec += r.weight[size_t(b)] * r.rec[size_t(b)] / double(B);
    }
    r.loss_radius = r.radius * r.radius;
    r.loss_residue = cfg_.gamma * sum_res;
    r.loss_distance = mean_d2;
    r.loss_recon = cfg_.lambda * mean_wrec;
  } else {
    for (double v : r.rec) r.loss_recon += v / double(B);
  }
  r.loss = r.loss_radius + r.loss_residue + r.loss_distance + r.loss_recon;
  last_ = r;
  return r;
}

void Network::backward() {
  const char* op = "deepsphere::Network::backward";
  AD_CHECK(x_.defined(), op, "backward before forward");
  const int64_t T = cfg_.steps, D = cfg_.dim, Hd = cfg_.hidden, B = x_.size(1);
  const DType dt = cfg_.dtype;
  zero_grad();
  const bool hyp = cfg_.hypersphere;

  // Reconstruction: d loss / d rec_b, then d rec_b / d x_hat = 2 (x_hat - x) / (T D).
  const size_t nb = size_t(B);
  std::vector<double> drec(nb), dweight(nb), dresidue(nb, cfg_.gamma);
  for (int64_t b = 0; b < B; ++b) {
    drec[size_t(b)] = hyp ? cfg_.lambda * last_.weight[size_t(b)] / double(B) : 1.0 / double(B);
    dweight[size_t(b)] = cfg_.lambda * last_.rec[size_t(b)] / double(B);
  }
  Tensor coef_bd = Tensor::empty({B, D}, dt, device_);
  Tensor& coef = workspace(big_, {T, B, D}, dt, device_);  // the forward's squares are no longer needed
  sum_axis_backward(host_vector(drec, dt, device_), 1, coef_bd, 2.0 / double(T * D));
  Tensor coef_rows = coef.view({T, B * D});
  sum_axis_backward(coef_bd.view({B * D}), 0, coef_rows);
  Tensor dx_hat = coef;
  mul(coef, diff_, dx_hat);  // in place: elementwise
  Tensor ddec_reversed = output_.backward(dx_hat);
  Tensor ddec = Tensor::empty({T, B, Hd}, dt, device_);
  reverse_time(ddec_reversed.view({T, B, Hd}), ddec);
  decoder_.backward(ddec);
  RecurrentState dstate = decoder_.initial_state_grad();

  // Hypersphere: d2 through the residue, the weights and the mean; then z and c; R directly.
  Tensor dz = Tensor::zeros({B, 1, Hd}, dt, device_);
  if (hyp) {
    Tensor dd2 = Tensor::empty({B}, dt, device_), dradius = Tensor::empty({1}, dt, device_);
    hypersphere_backward(d2_.view({B}), radius_.value, host_vector(dresidue, dt, device_),
                         host_vector(dweight, dt, device_), dd2, dradius, cfg_.weight_form);
    std::vector<double> dd2_total = to_host(dd2);
    for (double& v : dd2_total) v += 1.0 / double(B);  // mean_b d2_b
    Tensor dc = centre_.grad.view({1, 1, Hd});
    centre_distance_backward(CentreDistance::SquaredEuclidean, z_.view({B, 1, Hd}), centre_.value.view({1, 1, Hd}),
                             host_vector(dd2_total, dt, device_).view({B, 1, 1}), dz, dc);
    const double R = last_.radius;
    radius_.grad.copy_from(host_vector({to_host(dradius)[0] + 2.0 * R}, dt, Device::CPU));
  }
  // z = a^T H: dH = a dz, da = H dz^T.
  Tensor denc = Tensor::empty({T, B * Hd}, dt, device_);
  gemm(false, false, 1.0, attention_.value.view({T, 1}), dz.view({1, B * Hd}), 0.0, denc);
  Tensor da = attention_.grad.view({T, 1});
  gemm(false, true, 1.0, enc_out_.view({T, B * Hd}), dz.view({1, B * Hd}), 0.0, da);
  encoder_.backward(denc.view({T, B, Hd}), dstate, /*input_grad=*/false);  // x is data
}

}  // namespace ad::deepsphere
