// DeepSphere's network against an independent PyTorch version of the official model
// (tools/reference/deepsphere_reference.py -> tests/golden/deepsphere/): same parameters and input, compares
// the reconstruction, the distances, residues and weights, the loss and its terms and every parameter
// gradient, for DeepSphere and for the LSTM-AE ablation. Plus a gradient check of the whole network.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "kernels/elementwise.h"
#include "models/deepsphere/network.h"
#include "runtime/npy.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;
using namespace ad::deepsphere;

namespace {
std::string dir() { return test::source_dir() + "/tests/golden/deepsphere/"; }
Tensor golden(const std::string& name) { return load_npy(dir() + name + ".npy"); }

// [B, T, D] -> [T, B, D]
Tensor time_major(const Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  Tensor out = Tensor::empty({T, B, D}, x.dtype());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t d = 0; d < D; ++d) out.data<double>()[(t * B + b) * D + d] = x.data<double>()[(b * T + t) * D + d];
  return out;
}

Network golden_network(const nlohmann::json& m, bool hypersphere) {
  NetworkConfig cfg;
  cfg.steps = m.at("T").get<int64_t>();
  const int64_t n = m.at("N").get<int64_t>();
  cfg.dim = n * n;
  cfg.hidden = m.at("hidden").get<int>();
  cfg.gamma = m.at("gamma").get<double>();
  cfg.lambda = m.at("lambda").get<double>();
  cfg.hypersphere = hypersphere;
  cfg.dtype = DType::F64;
  Network net(cfg, Device::CPU);
  for (Parameter* p : net.parameters()) p->value.copy_from(golden("param." + p->name).view(p->value.shape()));
  return net;
}

nlohmann::json manifest() {
  std::ifstream f(dir() + "manifest.json");
  if (!f) throw std::runtime_error("missing " + dir() + "manifest.json (run tools/reference/deepsphere_reference.py)");
  return nlohmann::json::parse(f);
}

std::vector<double> as_vector(const std::vector<double>& v) { return v; }
}  // namespace

TEST(GoldenDeepSphere, ForwardLossAndGradientsMatchPyTorch) {
  const nlohmann::json m = manifest();
  Tensor x = time_major(golden("x"));
  for (const std::string mode : {"deepsphere", "lstm_ae"}) {
    SCOPED_TRACE(mode);
    Network net = golden_network(m, mode == "deepsphere");
    EXPECT_EQ(net.parameters().size(), 12u);
    ForwardResult r = net.forward(x, x);
    const auto& mm = m.at("modes").at(mode);
    EXPECT_NEAR(r.loss, mm.at("loss").get<double>(), 1e-12);
    const auto terms = mm.at("terms").get<std::vector<double>>();
    EXPECT_NEAR(r.loss_radius, terms[0], 1e-12);
    EXPECT_NEAR(r.loss_residue, terms[1], 1e-12);
    EXPECT_NEAR(r.loss_distance, terms[2], 1e-12);
    EXPECT_NEAR(r.loss_recon, terms[3], 1e-12);
    EXPECT_TRUE(test::all_close(r.x_hat, time_major(golden(mode + ".x_hat")), 1e-12, 1e-10));
    const int64_t B = x.size(1);
    EXPECT_TRUE(test::all_close(Tensor::from_vector(r.d2, {B}, DType::F64), golden(mode + ".d2"), 1e-12, 1e-10));
    EXPECT_TRUE(test::all_close(Tensor::from_vector(r.residue, {B}, DType::F64), golden(mode + ".residue"), 1e-12, 1e-10));
    EXPECT_TRUE(test::all_close(Tensor::from_vector(r.weight, {B}, DType::F64), golden(mode + ".weight"), 1e-14, 1e-10));
    int inside = 0;
    for (double d2 : r.d2) inside += d2 < r.radius * r.radius;
    EXPECT_EQ(inside, mm.at("inside").get<int>());
    net.backward();
    for (Parameter* p : net.parameters())
      EXPECT_TRUE(test::all_close(p->grad, golden(mode + ".grad." + p->name).view(p->grad.shape()), 1e-12, 1e-9))
          << p->name;
  }
}

TEST(GradCheckDeepSphere, WholeNetworkLoss) {
  const nlohmann::json m = manifest();
  Tensor x = time_major(golden("x"));
  for (bool hyp : {true, false}) {
    SCOPED_TRACE(hyp ? "deepsphere" : "lstm_ae");
    Network net = golden_network(m, hyp);
    auto forward = [&] { return Tensor::full({1}, net.forward(x, x).loss, DType::F64); };
    auto backward = [&](const Tensor& r) {
      net.backward();
      for (Parameter* p : net.parameters()) scale(p->grad, r.data<double>()[0], p->grad);
      return std::vector<Tensor>{};
    };
    AD_EXPECT_GRADCHECK(test::grad_check({}, net.parameters(), forward, backward));
  }
}
