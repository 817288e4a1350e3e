// AnomalyDAE against an independent dense PyTorch implementation of the official network
// (tools/reference/anomalydae_reference.py -> tests/golden/anomalydae/<case>/): same graph, attributes and
// parameters; compares embeddings, attribute reconstruction, both per-node errors, scores, the loss and
// every parameter gradient. Four cases cover the loss forms (official, paper, pygod), both attention logit
// forms, both attribute encoders and block-diagonal trace batches. Catches wiring mistakes a gradient check
// cannot (a missing self loop, the wrong normalisation, alpha on the wrong term), since the gradient check
// only proves the backward matches our own forward.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "models/anomalydae/graph_data.h"
#include "models/anomalydae/network.h"
#include "runtime/npy.h"
#include "tests/support/helpers.h"

using namespace ad;
using namespace ad::anomalydae;

namespace {

std::string case_dir(const std::string& c) { return test::source_dir() + "/tests/golden/anomalydae/" + c; }

// |a - b| <= atol_rel * max|b| + rtol * |b| elementwise; the message names the worst element.
::testing::AssertionResult close(const std::string& what, const Tensor& a, const Tensor& b, double rtol,
                                 double atol_rel) {
  if (a.numel() != b.numel())
    return ::testing::AssertionFailure() << what << ": " << a.numel() << " elements vs reference " << b.numel();
  auto va = a.to_vector(), vb = b.to_vector();
  double scale = 0;
  for (double v : vb) scale = std::max(scale, std::abs(v));
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    double r = std::abs(va[i] - vb[i]) / (atol_rel * scale + rtol * std::abs(vb[i]) + 1e-300);
    if (!(r <= worst)) worst = r, wi = i;
  }
  if (worst <= 1) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << "[" << wi << "]: ours " << va[wi] << " vs reference " << vb[wi]
                                       << " (ratio " << worst << ")";
}

// `sparse`: the attributes as CSR (the attribute target read from the CSR, kernels/recon_loss.h).
void run_case(const std::string& name, DType dt, double tol, bool sparse = false) {
  SCOPED_TRACE(name + (dt == DType::F64 ? " f64" : " f32") + (sparse ? " csr" : ""));
  std::string dir = case_dir(name);
  std::ifstream mf(dir + "/manifest.json");
  ASSERT_TRUE(mf.good()) << "missing " << dir << "/manifest.json (run tools/reference/anomalydae_reference.py)";
  nlohmann::json m = nlohmann::json::parse(mf);
  const int64_t n = m["nodes"], d = m["attrs"];
  Tensor edges = load_npy(dir + "/edges.npy");
  std::vector<double> ev = edges.to_vector();
  std::vector<int64_t> src, dst;
  for (size_t k = 0; k < ev.size(); k += 2) src.push_back(int64_t(ev[k])), dst.push_back(int64_t(ev[k + 1]));
  Tensor ranges;
  if (std::filesystem::exists(dir + "/ranges.npy")) ranges = load_npy(dir + "/ranges.npy");
  Tensor x = load_npy(dir + "/features.npy").to_dtype(DType::F32);
  GraphInputs in = sparse ? make_inputs(undirected_adjacency(n, src, dst), csr_from_dense(x), ranges, Device::CPU, dt)
                          : make_inputs(undirected_adjacency(n, src, dst), x, ranges, Device::CPU, dt);
  ASSERT_EQ(in.x_dense.defined(), !sparse);

  Settings s;
  s.loss_form = m["loss_form"];
  s.attention_logits = m["attention_logits"];
  s.attribute_encoder = m["attribute_encoder"];
  s.eta = m["eta"];
  s.theta = m["theta"];
  s.alpha = m["alpha"];
  s.hidden_dim = m["hidden"];
  s.embed_dim = m["embed"];
  Network net(NetworkConfig::from(s, d, n), Device::CPU, dt);
  auto params = net.parameters();
  ASSERT_EQ(params.size(), m["params"].size());
  for (Parameter* p : params) {
    std::string f = dir + "/param." + p->name + ".npy";
    ASSERT_TRUE(std::filesystem::exists(f)) << "the reference has no parameter " << p->name;
    Tensor v = load_npy(f).to_dtype(dt);
    ASSERT_EQ(v.numel(), p->value.numel()) << p->name;
    p->value.copy_from(v.view(p->value.shape()));
  }
  NodeErrors e = net.forward(in, LossConfig::from(s));
  auto ref = [&](const std::string& f) { return load_npy(dir + "/" + f + ".npy"); };
  EXPECT_TRUE(close("embeddings", net.embeddings(), ref("embeddings"), tol, tol));
  EXPECT_TRUE(close("reconstruction", net.reconstruction(), ref("reconstruction"), tol, tol));
  EXPECT_TRUE(close("attribute_error", e.attribute, ref("attribute_error"), tol, tol));
  EXPECT_TRUE(close("structure_error", e.structure, ref("structure_error"), tol, tol));
  EXPECT_TRUE(close("score", e.score, ref("score"), tol, tol));
  EXPECT_NEAR(e.loss.item(), ref("loss").item(), tol * std::abs(ref("loss").item()));
  net.zero_grad();
  net.backward();
  for (Parameter* p : params) EXPECT_TRUE(close("grad " + p->name, p->grad, ref("grad." + p->name), tol, tol));
}

const char* kCases[] = {"official", "paper_plain", "pygod_mlp_blocks", "official_mlp_blocks"};

}  // namespace

TEST(AnomalyDaeGolden, MatchesPyTorchReferenceInFloat64) {
  for (const char* c : kCases) run_case(c, DType::F64, 1e-9);
}

TEST(AnomalyDaeGolden, MatchesPyTorchReferenceInFloat32) {
  for (const char* c : kCases) run_case(c, DType::F32, 2e-4);
}

TEST(AnomalyDaeGolden, CsrAttributesMatchPyTorchReference) {
  for (const char* c : kCases) {
    run_case(c, DType::F64, 1e-9, true);
    run_case(c, DType::F32, 2e-4, true);
  }
}
