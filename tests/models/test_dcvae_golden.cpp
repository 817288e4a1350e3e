// DC-VAE against an independent PyTorch implementation of the original network (tools/reference/
// dcvae_reference.py -> tests/golden/dcvae/): same parameters, same input, same Philox eps; compares every
// output of a train-mode forward, the loss parts, every parameter gradient, the running statistics after
// the forward, and an inference-mode forward. Catches architecture mistakes a gradient check cannot
// (a wrong dilation, BN before the activation, wrong head wiring, a wrong momentum), since the gradient
// check only proves the backward matches our own forward.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/dcvae/network.h"
#include "runtime/npy.h"
#include "runtime/philox.h"
#include "tests/support/helpers.h"

using namespace ad;
using namespace ad::dcvae;

namespace {

std::string golden_dir() { return test::source_dir() + "/tests/golden/dcvae"; }

nlohmann::json manifest() {
  std::ifstream f(golden_dir() + "/manifest.json");
  if (!f) throw std::runtime_error("missing " + golden_dir() + "/manifest.json (run tools/reference/dcvae_reference.py)");
  return nlohmann::json::parse(f);
}

Tensor golden(const std::string& name, DType dt) { return load_npy(golden_dir() + "/" + name + ".npy").to_dtype(dt); }

Settings golden_settings(const nlohmann::json& m) {
  const auto& c = m.at("config");
  Settings s;
  s.T = c.at("T").get<int64_t>();
  s.M = c.at("M").get<int64_t>();
  s.J = c.at("J").get<int64_t>();
  s.cnn_units = c.at("cnn_units").get<std::vector<int64_t>>();
  s.dil_rate = c.at("dil_rate").get<std::vector<int64_t>>();
  s.kernel = c.at("kernel").get<int64_t>();
  s.loss_reduction = m.at("loss_reduction").get<std::string>();
  s.seed = 1;  // irrelevant: every parameter is overwritten from the golden files
  return s;
}

double g_worst_ratio = 0;  // largest |diff| / allowed over the comparisons since the last reset (printed)

// |a - b| <= atol_rel * max|b| + rtol * |b| elementwise; the message names the worst element.
::testing::AssertionResult close(const std::string& what, const Tensor& a, const Tensor& b, double rtol,
                                 double atol_rel) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << what << ": shape " << a.shape().str() << " vs reference " << b.shape().str();
  auto va = a.to_vector(), vb = b.to_vector();
  double scale = 0;
  for (double v : vb) scale = std::max(scale, std::abs(v));
  double worst = 0, max_abs = 0;
  size_t wi = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    double d = std::abs(va[i] - vb[i]);
    double r = d / (atol_rel * std::max(scale, 1e-6) + rtol * std::abs(vb[i]));
    if (std::isnan(va[i])) r = INFINITY;
    max_abs = std::max(max_abs, d);
    if (r > worst) worst = r, wi = i;
  }
  g_worst_ratio = std::max(g_worst_ratio, worst);
  if (worst <= 1) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": element " << wi << " is " << va[wi] << ", reference " << vb[wi]
                                       << " (max |diff| " << max_abs << ", max |ref| " << scale << ", rtol " << rtol
                                       << ", atol " << atol_rel << " * max |ref|)";
}

struct Tol {
  double rtol, atol_rel;
};
Tol tol_for(DType dt) { return dt == DType::F32 ? Tol{1e-4, 1e-5} : Tol{1e-9, 1e-11}; }

std::map<std::string, Tensor*> buffers_of(Network& net) {
  std::vector<std::pair<std::string, Tensor*>> b;
  net.collect_buffers("", b);
  return {b.begin(), b.end()};
}

// A network whose parameters and BN running statistics come from the golden files.
std::unique_ptr<Network> golden_network(const nlohmann::json& m, DType dt) {
  auto net = std::make_unique<Network>(golden_settings(m), Device::CPU, dt);
  for (Parameter* p : net->parameters()) {
    Tensor v = golden("param." + p->name, dt);
    AD_CHECK(v.shape() == p->value.shape(), "golden_network", p->name, ": golden ", v.describe(), " vs ours ",
             p->value.describe());
    p->value.copy_from(v);
    p->grad.zero_();
  }
  for (auto& [name, t] : buffers_of(*net)) t->copy_from(golden("buffer_init." + name, dt));
  return net;
}

std::string dtype_label(DType dt) { return dt == DType::F32 ? "f32" : "f64"; }

}  // namespace

TEST(GoldenDcvae, PhiloxEpsMatchesTheNumpyReimplementation) {
  auto m = manifest();
  uint64_t seed = m["config"]["eps_seed"].get<uint64_t>(), offset = m["config"]["eps_offset"].get<uint64_t>();
  Tensor eps = load_npy(golden_dir() + "/eps.npy");
  auto ref = eps.to_vector();
  ASSERT_GT(ref.size(), 0u);
  for (size_t i = 0; i < ref.size(); ++i) {
    double ours = philox_normal(seed, offset, i);
    // Bit-identical with glibc (the reference rounds float64 log/cos once, as correctly rounded logf/cosf
    // do); one float ulp of slack for another C library.
    EXPECT_NEAR(ours, ref[i], 1.2e-7 * std::max(1.0, std::abs(ref[i]))) << "eps element " << i;
  }
}

TEST(GoldenDcvae, ParameterAndBufferNamesMatchTheReference) {
  auto m = manifest();
  Network net(golden_settings(m), Device::CPU);
  std::vector<std::string> ours, ref = m["parameters"].get<std::vector<std::string>>();
  for (Parameter* p : net.parameters()) ours.push_back(p->name);
  std::sort(ours.begin(), ours.end());
  std::sort(ref.begin(), ref.end());
  EXPECT_EQ(ours, ref);
  std::vector<std::string> bours, bref = m["buffers"].get<std::vector<std::string>>();
  for (auto& [name, t] : buffers_of(net)) bours.push_back(name);
  std::sort(bref.begin(), bref.end());
  EXPECT_EQ(bours, bref);
}

TEST(GoldenDcvae, TrainForwardLossGradientsAndRunningStatsMatchPyTorch) {
  auto m = manifest();
  for (DType dt : {DType::F32, DType::F64}) {
    SCOPED_TRACE(dtype_label(dt));
    const Tol t = tol_for(dt);
    g_worst_ratio = 0;
    auto net = golden_network(m, dt);
    Tensor x = golden("x", dt);
    PhiloxStream rng(m["config"]["eps_seed"].get<uint64_t>(), m["config"]["eps_offset"].get<uint64_t>());
    Outputs o = net->forward(x, true, true, rng);
    EXPECT_TRUE(close("z_mean", o.z_mean, golden("train.z_mean", dt), t.rtol, t.atol_rel));
    EXPECT_TRUE(close("z_log_var", o.z_log_var, golden("train.z_log_var", dt), t.rtol, t.atol_rel));
    EXPECT_TRUE(close("z", o.z, golden("train.z", dt), t.rtol, t.atol_rel));
    EXPECT_TRUE(close("x_mean", o.x_mean, golden("train.x_mean", dt), t.rtol, t.atol_rel));
    EXPECT_TRUE(close("x_log_var", o.x_log_var, golden("train.x_log_var", dt), t.rtol, t.atol_rel));

    LossParts lp = net->loss(x, o);
    auto ref_loss = load_npy(golden_dir() + "/train.loss.npy").to_vector();  // total, reconstruction, kl
    const double lt = dt == DType::F32 ? 1e-5 : 1e-10;
    EXPECT_NEAR(lp.total, ref_loss[0], lt * std::abs(ref_loss[0])) << "total loss";
    EXPECT_NEAR(lp.reconstruction, ref_loss[1], lt * std::abs(ref_loss[1])) << "reconstruction";
    EXPECT_NEAR(lp.kl, ref_loss[2], lt * std::abs(ref_loss[2])) << "kl";

    for (auto& [name, b] : buffers_of(*net))
      EXPECT_TRUE(close(name + " after one train forward", *b, golden("buffer_after_train." + name, dt), t.rtol,
                        t.atol_rel));

    net->backward(x, o);
    for (Parameter* p : net->parameters())
      EXPECT_TRUE(close("d loss / d " + p->name, p->grad, golden("grad." + p->name, dt), t.rtol, t.atol_rel));
    std::cout << "[ " << dtype_label(dt) << " ] train: worst |diff| / tolerance " << g_worst_ratio << "\n";
  }
}

TEST(GoldenDcvae, InferenceForwardUsesRunningStatsAndZMean) {
  auto m = manifest();
  for (DType dt : {DType::F32, DType::F64}) {
    SCOPED_TRACE(dtype_label(dt));
    const Tol t = tol_for(dt);
    g_worst_ratio = 0;
    auto net = golden_network(m, dt);
    Tensor x = golden("x", dt);
    PhiloxStream rng(12345);  // unused: no sampling at inference
    Outputs o = net->forward(x, false, false, rng);
    EXPECT_TRUE(close("z_mean", o.z_mean, golden("infer.z_mean", dt), t.rtol, t.atol_rel));
    EXPECT_TRUE(close("z_log_var", o.z_log_var, golden("infer.z_log_var", dt), t.rtol, t.atol_rel));
    EXPECT_TRUE(close("z", o.z, golden("infer.z_mean", dt), t.rtol, t.atol_rel));
    EXPECT_TRUE(close("x_mean", o.x_mean, golden("infer.x_mean", dt), t.rtol, t.atol_rel));
    EXPECT_TRUE(close("x_log_var", o.x_log_var, golden("infer.x_log_var", dt), t.rtol, t.atol_rel));
    std::cout << "[ " << dtype_label(dt) << " ] inference: worst |diff| / tolerance " << g_worst_ratio << "\n";
    // inference leaves the running statistics alone
    for (auto& [name, b] : buffers_of(*net))
      EXPECT_TRUE(close(name + " after inference", *b, golden("buffer_init." + name, dt), 0, 1e-12));
  }
}
