// GLEAD against an independent PyTorch write-up of the public code's network and loss
// (tools/reference/glead_reference.py -> tests/golden/glead/): same ids, labels and parameters; compares the
// embeddings' output, the attention, M, the distances, the triplet loss, the penalty and every parameter
// gradient. Catches wiring mistakes a gradient check cannot (weights softmaxed the wrong way, the +1 of the
// loss, the penalty over the wrong rows), since a gradient check only proves backward matches our forward.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "models/glead/network.h"
#include "runtime/npy.h"
#include "tests/support/helpers.h"

using namespace ad;
using namespace ad::glead;

namespace {
std::string golden(const std::string& name) { return test::source_dir() + "/tests/golden/glead/" + name; }
Tensor load(const std::string& name) { return load_npy(golden(name + ".npy")); }
std::vector<int> ints(const Tensor& t) {
  std::vector<int> v;
  for (double x : t.to_vector()) v.push_back(int(x));
  return v;
}
}  // namespace

TEST(GoldenGlead, ForwardLossAndGradientsMatchPyTorch) {
  std::ifstream mf(golden("manifest.json"));
  ASSERT_TRUE(mf.good()) << "missing tests/golden/glead/manifest.json (run tools/reference/glead_reference.py)";
  const nlohmann::json m = nlohmann::json::parse(mf);
  const int64_t T = m["T"], V = m["V"], D = m["D"], A = m["A"], K = m["K"];
  Network net(NetworkConfig{V, T, D, A, K, false}, 1, Device::CPU, DType::F64);
  net.embedding().weight().value.copy_from(load("param.embedding"));
  net.attention().W1().value.copy_from(load("param.W1"));
  net.attention().b1().value.copy_from(load("param.b1"));
  net.attention().W2().value.copy_from(load("param.W2"));
  net.attention().b2().value.copy_from(load("param.b2"));
  net.prototypes().value.copy_from(load("param.prototypes"));
  net.zero_grad();

  const Tensor ids = load("ids");
  ASSERT_EQ(ids.dtype(), DType::I32);
  const LossOptions lo{m["alpha"].get<double>(), m["margin"].get<double>(), true};
  StepLoss r = loss_and_backward(net, ids, ints(load("labels")), ints(load("semi")), lo, m["lambda_p"].get<double>());

  const double tol = 1e-10;
  EXPECT_TRUE(test::all_close(r.output.attention, load("attention"), tol, tol));
  EXPECT_TRUE(test::all_close(r.output.M, load("M"), tol, tol));
  EXPECT_TRUE(test::all_close(r.output.distances, load("distances"), tol, tol));
  EXPECT_NEAR(r.triplet, m["triplet"].get<double>(), 1e-10);
  EXPECT_NEAR(r.penalty, m["penalty"].get<double>(), 1e-10);
  EXPECT_NEAR(r.total, m["loss"].get<double>(), 1e-10);
  EXPECT_GT(r.triplet, 0.1) << "the golden batch must exercise the hinge";
  EXPECT_TRUE(test::all_close(net.embedding().weight().grad, load("grad.embedding"), tol, 1e-8));
  EXPECT_TRUE(test::all_close(net.attention().W1().grad, load("grad.W1"), tol, 1e-8));
  EXPECT_TRUE(test::all_close(net.attention().b1().grad, load("grad.b1"), tol, 1e-8));
  EXPECT_TRUE(test::all_close(net.attention().W2().grad, load("grad.W2"), tol, 1e-8));
  EXPECT_TRUE(test::all_close(net.attention().b2().grad, load("grad.b2"), tol, 1e-8));
  EXPECT_TRUE(test::all_close(net.prototypes().grad, load("grad.prototypes"), tol, 1e-8));
}
