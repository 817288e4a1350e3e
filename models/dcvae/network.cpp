#include "models/dcvae/network.h"

#include <algorithm>
#include <sstream>

#include "kernels/accumulate.h"
#include "kernels/activation.h"
#include "kernels/batchnorm1d.h"
#include "kernels/dilated_conv1d.h"
#include "kernels/elementwise.h"
#include "kernels/gaussian.h"
#include "kernels/loss.h"

namespace ad::dcvae {

namespace {
Tensor like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype(), t.device()); }
// Python-style index into dil_rate / cnn_units (the original writes the decoder with negative indices).
int64_t at(const std::vector<int64_t>& v, int64_t i) { return v[size_t(i < 0 ? int64_t(v.size()) + i : i)]; }
}  // namespace

// Whether a block's activation and BatchNorm run fused in training (CPU tensors; an activation whose
// derivative BatchNorm's backward can read off the activation's output).
bool Network::fused_cpu_block(const Block& b, const Tensor& t) {
  return t.device() == Device::CPU && batchnorm_fuses_activation_backward(b.act->activation(), b.act->param());
}

Network::Block Network::make_block(const std::string& name, int64_t cin, int64_t cout, int64_t dilation, Activation a) {
  Block b;
  b.conv = std::make_unique<CausalConv1d>(cin, cout, s_.kernel, dilation, init_seed_++, dtype_, device_);
  b.act = std::make_unique<ActivationLayer>(a, 1.0f);  // ELU alpha 1 (Keras); ignored by tanh
  b.bn = std::make_unique<BatchNorm1d>(cout, dtype_, device_);
  std::ostringstream os;
  os << "  " << name << ": conv " << cin << "->" << cout << " k" << s_.kernel << " dil " << dilation << ", "
     << activation_name(a) << ", batchnorm\n";
  table_.push_back(os.str());
  return b;
}

Network::Network(const Settings& s, Device device, DType dtype)
    : s_(s), device_(device), dtype_(dtype), init_seed_(uint64_t(s.seed) * 1000003ULL) {
  const auto& U = s.cnn_units;
  const auto& D = s.dil_rate;
  const int64_t L = int64_t(U.size());
  auto linear_conv = [&](const std::string& name, int64_t cin, int64_t cout, int64_t dil) {
    std::ostringstream os;
    os << "  " << name << ": conv " << cin << "->" << cout << " k" << s_.kernel << " dil " << dil << ", linear\n";
    table_.push_back(os.str());
    return std::make_unique<CausalConv1d>(cin, cout, s_.kernel, dil, init_seed_++, dtype_, device_);
  };
  table_.push_back("encoder\n");
  encoder_.push_back(make_block("cnn_0", s.M, U[0], D[0], Activation::Tanh));
  for (int64_t i = 0; i <= L - 3; ++i)
    encoder_.push_back(make_block("cnn_" + std::to_string(i + 1), U[size_t(i)], U[size_t(i + 1)], D[size_t(i + 1)],
                                  Activation::Tanh));
  // The original passes dil_rate[i+1] with i left over from the loop above: D[L-2].
  const int64_t enc_out = encoder_.back().conv->out_channels();
  z_mean_ = linear_conv("z_mean", enc_out, s.J, D[size_t(L - 2)]);
  z_log_var_ = linear_conv("z_log_var", enc_out, s.J, D[size_t(L - 2)]);
  table_.push_back("decoder\n");
  decoder_.push_back(make_block("cnn_-1", s.J, at(U, -1), at(D, -1), Activation::ELU));
  for (int64_t i = -2; i > -L; --i)
    decoder_.push_back(make_block("cnn_" + std::to_string(i), decoder_.back().conv->out_channels(), at(U, i), at(D, i),
                                  Activation::ELU));
  const int64_t dec_out = decoder_.back().conv->out_channels();
  x_mean_ = linear_conv("x_mean", dec_out, s.M, D[0]);
  x_log_var_ = linear_conv("x_log_var", dec_out, s.M, D[0]);
}

// Inference on the CPU in groups of sequences, one group per OpenMP thread at a time. Every op of the
// network works per sequence in eval mode (causal convolutions, BatchNorm with running statistics, z = z_mean),
// so the groups give the same bits as the whole batch. What it buys: with a whole batch of the original
// configuration every intermediate tensor is 1 MiB (4096 rows x 64 channels) and each op streams it from L3 or
// memory; a group of 512 rows keeps the whole chain in the core's L2, and the threads split groups instead of
// every op (one parallel region instead of one per op). The layers' own forward() is not used: it keeps inputs
// for backward in the layer, which threads would race on.
Outputs Network::infer_in_chunks(const Tensor& x, int64_t sequences) {
  const int64_t B = x.size(0), T = x.size(1);
  Outputs o;
  o.z_mean = Tensor::empty({B, T, s_.J}, x.dtype(), x.device());
  o.z_log_var = like(o.z_mean);
  o.z = like(o.z_mean);
  o.x_mean = Tensor::empty({B, T, s_.M}, x.dtype(), x.device());
  o.x_log_var = like(o.x_mean);
  auto conv = [&](CausalConv1d& c, const Tensor& h, Tensor y) {
    dilated_conv1d_forward(h, c.weight().value, c.bias().value, y, c.dilation());
  };
  auto conv_new = [&](CausalConv1d& c, const Tensor& h) {
    Tensor y = Tensor::empty({h.size(0), T, c.out_channels()}, h.dtype(), h.device());
    conv(c, h, y);
    return y;
  };
  auto block = [&](Block& b, const Tensor& h) {
    Tensor pre = conv_new(*b.conv, h), a = like(pre), y = like(pre);
    activation_forward(b.act->activation(), pre, a, b.act->param());
    const int64_t n = a.numel() / b.bn->channels();
    Tensor y2 = y.view({n, b.bn->channels()});
    batchnorm1d_inference_forward(a.view({n, b.bn->channels()}), b.bn->gamma().value, b.bn->beta().value,
                                  b.bn->running_mean(), b.bn->running_var(), y2, b.bn->options());
    return y;
  };
  const int64_t groups = (B + sequences - 1) / sequences;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t b0 = g * sequences, nb = std::min(sequences, B - b0);
    Tensor h = x.narrow0(b0, nb);
    for (Block& b : encoder_) h = block(b, h);
    Tensor zm = o.z_mean.narrow0(b0, nb), z = o.z.narrow0(b0, nb);
    conv(*z_mean_, h, zm);
    conv(*z_log_var_, h, o.z_log_var.narrow0(b0, nb));
    reparam_forward(zm, o.z_log_var.narrow0(b0, nb), z, eps_seed_, 0, /*mean_only=*/true);
    h = z;
    for (Block& b : decoder_) h = block(b, h);
    conv(*x_mean_, h, o.x_mean.narrow0(b0, nb));
    conv(*x_log_var_, h, o.x_log_var.narrow0(b0, nb));
  }
  return o;
}

Outputs Network::forward(const Tensor& x, bool train, bool sample, PhiloxStream& rng) {
  AD_CHECK(x.dim() == 3 && x.size(2) == s_.M, "dcvae::Network::forward", "expected [B, T, ", s_.M, "], got ",
           x.describe());
  // Groups of about 512 rows (see infer_in_chunks); a batch smaller than two groups runs as one.
  const int64_t group = std::max<int64_t>(1, 512 / std::max<int64_t>(1, x.size(1)));
  if (!train && !sample && x.device() == Device::CPU && x.size(0) >= 2 * group) {
    sampled_ = false;
    eps_seed_ = rng.seed();
    eps_offset_ = 0;
    device_offset_used_ = false;
    for (Block& b : encoder_) b.bn->set_training(false);
    for (Block& b : decoder_) b.bn->set_training(false);
    return infer_in_chunks(x, group);
  }
  Outputs o;
  // Training on the CPU: the activation runs inside BatchNorm's first pass (BatchNorm1d::forward_after), and
  // backward() then goes through both in one pass (backward_through); elsewhere the three layers in turn.
  auto block = [&](Block& b, const Tensor& in) {
    b.bn->set_training(train);
    Tensor pre = b.conv->forward(in);
    if (train && fused_cpu_block(b, pre)) return b.bn->forward_after(pre, b.act->activation(), b.act->param());
    return b.bn->forward(b.act->forward(pre));
  };
  Tensor h = x;
  for (Block& b : encoder_) h = block(b, h);
  o.z_mean = z_mean_->forward(h);
  o.z_log_var = z_log_var_->forward(h);
  o.z = like(o.z_mean);
  sampled_ = sample;
  eps_seed_ = rng.seed();
  device_offset_used_ = sample && train && device_noise_offset_.defined();
  if (device_offset_used_) {
    eps_offset_ = 0;
    reparam_forward(o.z_mean, o.z_log_var, o.z, eps_seed_, device_noise_offset_);
  } else {
    eps_offset_ = sample ? rng.reserve(uint64_t(o.z.numel())) : 0;
    reparam_forward(o.z_mean, o.z_log_var, o.z, eps_seed_, eps_offset_, !sample);
  }
  h = o.z;
  for (Block& b : decoder_) h = block(b, h);
  o.x_mean = x_mean_->forward(h);
  o.x_log_var = x_log_var_->forward(h);
  return o;
}

Tensor Network::loss_terms(const Tensor& x, const Outputs& o) const {
  Reduction r = s_.loss_reduction == "sum" ? Reduction::Sum : Reduction::Mean;
  Tensor terms = Tensor::empty({2}, x.dtype(), x.device());
  Tensor rec = terms.narrow0(0, 1), kl = terms.narrow0(1, 1);
  gaussian_nll_loss(x, o.x_mean, o.x_log_var, rec, r);
  kl_std_normal_loss(o.z_mean, o.z_log_var, kl, r);
  return terms;
}

double Network::loss_term_scale(const Tensor& x) const {
  return s_.loss_reduction == "sum" ? 1.0 / double(x.size(0)) : 1.0;
}

LossParts Network::loss(const Tensor& x, const Outputs& o) const {
  std::vector<double> t = loss_terms(x, o).to_vector();
  double per_batch = loss_term_scale(x);
  LossParts p;
  p.reconstruction = t[0] * per_batch;
  p.kl = t[1] * per_batch;
  p.total = p.reconstruction + p.kl;
  return p;
}

void Network::backward(const Tensor& x, const Outputs& o) {
  Reduction r = s_.loss_reduction == "sum" ? Reduction::Sum : Reduction::Mean;
  const Tensor& dout = constants_.full({1}, loss_term_scale(x), x.dtype(), x.device());
  // reconstruction term -> decoder outputs
  Tensor dxm = like(o.x_mean), dxlv = like(o.x_log_var);
  gaussian_nll_loss_backward(x, o.x_mean, o.x_log_var, dout, nullptr, &dxm, &dxlv, r);
  Tensor dh = x_mean_->backward(dxm);
  axpby(1.0, x_log_var_->backward(dxlv), 1.0, dh);
  // As forward() ran them: on the CPU, BatchNorm's backward and the activation's in one pass.
  auto block_backward = [](Block& b, const Tensor& d) {
    if (fused_cpu_block(b, d)) return b.conv->backward(b.bn->backward_through(d, b.act->activation(), b.act->param()));
    return b.conv->backward(b.act->backward(b.bn->backward(d)));
  };
  for (auto it = decoder_.rbegin(); it != decoder_.rend(); ++it) dh = block_backward(*it, dh);
  // through the reparameterisation, plus the KL term's own gradient
  Tensor dzm = like(o.z_mean), dzlv = like(o.z_log_var);
  if (device_offset_used_) reparam_backward(o.z_log_var, dh, dzm, dzlv, eps_seed_, device_noise_offset_);
  else reparam_backward(o.z_log_var, dh, dzm, dzlv, eps_seed_, eps_offset_, !sampled_);
  Tensor kzm = like(o.z_mean), kzlv = like(o.z_log_var);
  kl_std_normal_loss_backward(o.z_mean, o.z_log_var, dout, &kzm, &kzlv, r);
  axpby(1.0, kzm, 1.0, dzm);
  axpby(1.0, kzlv, 1.0, dzlv);
  dh = z_mean_->backward(dzm);
  axpby(1.0, z_log_var_->backward(dzlv), 1.0, dh);
  for (auto it = encoder_.rbegin(); it != encoder_.rend(); ++it) dh = block_backward(*it, dh);
}

void Network::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  for (size_t i = 0; i < encoder_.size(); ++i) {
    std::string n = join_name(prefix, "encoder.cnn_" + std::to_string(i));
    encoder_[i].conv->collect_parameters(n, out);
    encoder_[i].bn->collect_parameters(n + ".bn", out);
  }
  z_mean_->collect_parameters(join_name(prefix, "encoder.z_mean"), out);
  z_log_var_->collect_parameters(join_name(prefix, "encoder.z_log_var"), out);
  for (size_t i = 0; i < decoder_.size(); ++i) {
    std::string n = join_name(prefix, "decoder.cnn_" + std::to_string(i));
    decoder_[i].conv->collect_parameters(n, out);
    decoder_[i].bn->collect_parameters(n + ".bn", out);
  }
  x_mean_->collect_parameters(join_name(prefix, "decoder.x_mean"), out);
  x_log_var_->collect_parameters(join_name(prefix, "decoder.x_log_var"), out);
}

void Network::collect_buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor*>>& out) {
  for (size_t i = 0; i < encoder_.size(); ++i)
    encoder_[i].bn->buffers(join_name(prefix, "encoder.cnn_" + std::to_string(i) + ".bn"), out);
  for (size_t i = 0; i < decoder_.size(); ++i)
    decoder_[i].bn->buffers(join_name(prefix, "decoder.cnn_" + std::to_string(i) + ".bn"), out);
}

std::string Network::summary() const {
  std::ostringstream os;
  os << "DC-VAE network (T " << s_.T << ", M " << s_.M << ", J " << s_.J << ")\n";
  for (const std::string& l : table_) os << l;
  int64_t receptive = 1;
  for (const Block& b : encoder_) receptive += b.conv->receptive_field() - 1;
  os << "  encoder receptive field: " << receptive + z_mean_->receptive_field() - 1 << " steps\n";
  return os.str();
}

void train_step(Network& net, Optimizer& opt, const Tensor& xb, PhiloxStream& rng, Tensor& loss_sums) {
  opt.zero_grad();
  Outputs o = net.forward(xb, true, true, rng);
  accumulate_terms(net.loss_terms(xb, o), net.loss_term_scale(xb), loss_sums, /*with_total=*/true);
  net.backward(xb, o);
  opt.step();
}

}  // namespace ad::dcvae
