#include "models/glead/network.h"

#include <cmath>
#include <random>

#include "kernels/centre_distance.h"
#include "kernels/elementwise.h"

namespace ad::glead {

Network::Network(const NetworkConfig& c, uint64_t seed, Device device, DType dtype)
    : config_(c),
      embedding_("embedding", c.vocab, c.hidden, seed + 1, device, dtype),
      attention_("self_attention", c.hidden, c.attention, c.heads, seed + 2, device, dtype) {
  std::mt19937_64 gen(seed + 3);
  std::uniform_real_distribution<double> u(-1.0, 1.0);  // (torch.rand - 0.5) * 2
  std::vector<double> p(size_t(2 * c.heads * c.hidden));
  for (double& v : p) v = u(gen);
  prototypes_ = Parameter("prototypes", Tensor::from_vector(p, {2, c.heads, c.hidden}, dtype).to(device));
  if (c.positional) {
    std::normal_distribution<double> n01(0.0, 1.0);  // nn.Embedding's initialisation
    std::vector<double> q(size_t(c.window * c.hidden));
    for (double& v : q) v = n01(gen);
    positions_ = Parameter("positions", Tensor::from_vector(q, {c.window, c.hidden}, dtype).to(device));
  }
}

void Network::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  embedding_.collect_parameters(prefix, out);
  attention_.collect_parameters(prefix, out);
  if (config_.positional) {
    positions_.name = join_name(prefix, "positions");
    out.push_back(&positions_);
  }
  prototypes_.name = join_name(prefix, "prototypes");
  out.push_back(&prototypes_);
}

Network::Output Network::forward(const Tensor& ids) {
  AD_CHECK(ids.dim() == 2 && ids.size(1) == config_.window, "glead::Network::forward", "ids must be [batch, ",
           config_.window, "], got ", ids.describe());
  const int64_t B = ids.size(0), T = config_.window, D = config_.hidden, K = config_.heads;
  Tensor H = embedding_.forward(ids);  // [B, T, D]
  if (config_.positional) {
    Tensor rows = H.view({B, T * D});
    add_bias_rows(rows, positions_.value.view({T * D}));
  }
  Output o;
  o.M = attention_.forward(H);
  o.attention = attention_.attention();
  o.distances = Tensor::empty({B, 2, K}, H.dtype(), H.device());
  centre_distance_forward(CentreDistance::HalfCosine, o.M, prototypes_.value, o.distances);
  M_ = o.M;
  return o;
}

void Network::backward(const Tensor& d_distances) {
  AD_CHECK(M_.defined(), "glead::Network::backward", "backward before forward");
  Tensor dM = Tensor::empty(M_.shape(), M_.dtype(), M_.device());
  Tensor dC = Tensor::empty(prototypes_.value.shape(), M_.dtype(), M_.device());
  centre_distance_backward(CentreDistance::HalfCosine, M_, prototypes_.value, d_distances, dM, dC);
  add(prototypes_.grad, dC, prototypes_.grad);
  Tensor dH = attention_.backward(dM);
  if (config_.positional) {
    const int64_t B = dH.size(0), TD = config_.window * config_.hidden;
    Tensor dpos = positions_.grad.view({TD});
    add_bias_rows_backward(dH.view({B, TD}), dpos, /*accumulate=*/true);
  }
  embedding_.backward(dH);
}

namespace {
// f = sum_h softmax(s d)_h d_h and df/dd_j = w_j (1 + s (d_j - f)), s = +-alpha.
double weighted(const double* d, int64_t K, double s, double* grad) {
  double m = -INFINITY;
  for (int64_t h = 0; h < K; ++h) m = std::max(m, s * d[h]);
  std::vector<double> w(static_cast<size_t>(K));
  double z = 0;
  for (int64_t h = 0; h < K; ++h) z += (w[size_t(h)] = std::exp(s * d[h] - m));
  double f = 0;
  for (int64_t h = 0; h < K; ++h) f += (w[size_t(h)] /= z) * d[h];
  for (int64_t h = 0; h < K; ++h) grad[h] = w[size_t(h)] * (1 + s * (d[h] - f));
  return f;
}
}  // namespace

LossTerms triplet_loss(const std::vector<double>& distances, int64_t heads, const std::vector<int>& labels,
                       const std::vector<int>& semi, const LossOptions& o) {
  const int64_t B = int64_t(labels.size()), K = heads;
  AD_CHECK(int64_t(distances.size()) == B * 2 * K && semi.size() == labels.size(), "glead::triplet_loss",
           "distances [", B, ", 2, ", K, "] expected, got ", distances.size(), " values");
  LossTerms r;
  r.d_distances.assign(distances.size(), 0.0);
  std::vector<int> as_anomaly(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    as_anomaly[size_t(b)] = semi[size_t(b)] == 0 && labels[size_t(b)] == 1;
    ++(as_anomaly[size_t(b)] ? r.anomalous : r.normal);
  }
  const double scale_n = 1.0 / (double(r.normal) + (o.plus_one ? 1 : 0));
  const double scale_a = 1.0 / (double(r.anomalous) + (o.plus_one ? 1 : 0));
  std::vector<double> g_own(static_cast<size_t>(K)), g_other(static_cast<size_t>(K));
  for (int64_t b = 0; b < B; ++b) {
    const bool anomaly = as_anomaly[size_t(b)];
    // Own prototype: pulled in (weights favour close heads); the other one: pushed out (weights favour far heads).
    const int64_t own = anomaly ? 1 : 0, other = 1 - own;
    const double* d_own = distances.data() + (b * 2 + own) * K;
    const double* d_other = distances.data() + (b * 2 + other) * K;
    const double l = weighted(d_own, K, -o.alpha, g_own.data()) - weighted(d_other, K, o.alpha, g_other.data()) +
                     o.margin;
    if (l <= 0) continue;  // relu; torch's relu has gradient 0 at 0
    const double sc = anomaly ? scale_a : scale_n;
    r.triplet += sc * l;
    for (int64_t h = 0; h < K; ++h) {
      r.d_distances[size_t((b * 2 + own) * K + h)] = sc * g_own[size_t(h)];
      r.d_distances[size_t((b * 2 + other) * K + h)] = -sc * g_other[size_t(h)];
    }
  }
  return r;
}

double orthogonality_penalty(const std::vector<double>& C, int64_t rows, int64_t dim, std::vector<double>* grad,
                             double scale) {
  std::vector<double> G(size_t(rows * rows));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < rows; ++j) {
      double s = 0;
      for (int64_t d = 0; d < dim; ++d) s += C[size_t(i * dim + d)] * C[size_t(j * dim + d)];
      G[size_t(i * rows + j)] = s - (i == j ? 1.0 : 0.0);
    }
  double p = 0;
  for (double g : G) p += g * g;
  p /= double(rows * rows);
  if (grad) {  // d/dC of mean((G - I)^2) = 4 / rows^2 (G - I) C (G - I is symmetric)
    const double f = scale * 4.0 / double(rows * rows);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t d = 0; d < dim; ++d) {
        double s = 0;
        for (int64_t j = 0; j < rows; ++j) s += G[size_t(i * rows + j)] * C[size_t(j * dim + d)];
        (*grad)[size_t(i * dim + d)] += f * s;
      }
  }
  return p;
}

StepLoss loss_and_backward(Network& net, const Tensor& ids, const std::vector<int>& labels, const std::vector<int>& semi,
                           const LossOptions& o, double lambda_p) {
  StepLoss r;
  r.output = net.forward(ids);
  const Tensor& dist = r.output.distances;
  LossTerms lt = triplet_loss(dist.to_vector(), net.config().heads, labels, semi, o);
  // The penalty on the host (2K x D numbers); its gradient joins the prototypes' gradient.
  Parameter& c = net.prototypes();
  std::vector<double> C = c.value.to_vector(), gC(C.size(), 0.0);
  r.penalty = orthogonality_penalty(C, 2 * net.config().heads, net.config().hidden, &gC, lambda_p);
  r.triplet = lt.triplet;
  r.total = lt.triplet + lambda_p * r.penalty;
  net.backward(Tensor::from_vector(lt.d_distances, dist.shape(), dist.dtype()).to(dist.device()));
  Tensor g = Tensor::from_vector(gC, c.value.shape(), c.value.dtype()).to(c.value.device());
  add(c.grad, g, c.grad);
  return r;
}

}  // namespace ad::glead
