// A two-layer MLP (Linear-tanh-Linear) trained with Adam on a toy regression, y = x0 * x1 on [-1, 1]^2
// (XOR-like: the sign of y is the XOR of the signs of the inputs, so no linear model fits it).
#include <gtest/gtest.h>

#include <algorithm>

#include "kernels/loss.h"
#include "layers/activation_layer.h"
#include "layers/linear.h"
#include "layers/optimizer.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
struct Mlp : Module {
  Linear fc1, fc2;
  ActivationLayer act{Activation::Tanh};
  Mlp(int hidden, uint64_t seed, Device d, DType dt = DType::F32)
      : fc1("fc1", 2, hidden, true, seed, d, dt), fc2("fc2", hidden, 1, true, seed + 1, d, dt) {}
  Tensor forward(const Tensor& x) { return fc2.forward(act.forward(fc1.forward(x))); }
  void backward(const Tensor& dy) { fc1.backward(act.backward(fc2.backward(dy))); }
  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override {
    fc1.collect_parameters(prefix, out);
    fc2.collect_parameters(prefix, out);
  }
};

void toy_data(int64_t n, uint64_t seed, Tensor& x, Tensor& y) {
  x = test::random_tensor({n, 2}, seed, -1, 1);
  y = Tensor::empty({n, 1});
  for (int64_t i = 0; i < n; ++i) y.data<float>()[i] = x.data<float>()[2 * i] * x.data<float>()[2 * i + 1];
}

// Full-batch training; returns the loss before each step.
std::vector<double> train(Device d, int steps, uint64_t seed, double lr = 0.02, DType dt = DType::F32) {
  Tensor x, y;
  toy_data(256, seed, x, y);
  x = x.to_dtype(dt).to(d);
  y = y.to_dtype(dt).to(d);
  Mlp mlp(16, seed, d, dt);
  Adam adam(mlp.parameters(), AdamOptions{.lr = lr});
  Tensor loss = Tensor::empty({1}, dt, d), one = Tensor::full({1}, 1.0, dt, d);
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    Tensor pred = mlp.forward(x);
    mse_loss(pred, y, loss, Reduction::Mean);
    losses.push_back(loss.item());
    Tensor dpred = Tensor::empty(pred.shape(), dt, d);
    mse_loss_backward(pred, y, one, &dpred, nullptr, Reduction::Mean);
    adam.zero_grad();
    mlp.backward(dpred);
    adam.step();
  }
  return losses;
}
}  // namespace

TEST(Mlp, TrainsOnXorLikeRegressionOnCpu) {
  auto losses = train(Device::CPU, 600, 3);
  RecordProperty("first_loss", std::to_string(losses.front()));
  RecordProperty("final_loss", std::to_string(losses.back()));
  // Var(x0 * x1) = 1/9 for uniform inputs: a constant predictor stays near 0.11.
  EXPECT_GT(losses.front(), 0.05);
  EXPECT_LT(losses.back(), 0.005) << "first loss " << losses.front();
  EXPECT_LT(losses.back(), 0.05 * losses.front());
}

// Per-step parity holds while the trajectory is smooth. Later, Adam at a small loss has occasional
// transient spikes whose timing depends on rounding. The same run in f32 and f64 on the CPU (a
// rounding-level perturbation like CPU vs GPU) agreed to < 8e-5 relative over the first 100 steps
// (60 seeds) but differed by up to 1% of the starting loss at isolated later steps; the best loss of
// the last 50 steps agreed within 0.8% and was < 0.5% of the starting loss. So: a tight per-step
// comparison for 100 steps, then both runs must reach the same low-loss regime.
TEST(GpuParityMlp, PerStepLossesMatchCpu) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed() % 1000;
  SCOPED_TRACE("seed " + std::to_string(seed));
  const int steps = 300, tight = 100;
  auto cpu = train(Device::CPU, steps, seed, 0.01), gpu = train(G, steps, seed, 0.01);
  ASSERT_EQ(cpu.size(), gpu.size());
  for (int s = 0; s < tight; ++s) EXPECT_NEAR(gpu[s], cpu[s], 5e-4 * cpu[s]) << "step " << s;
  auto best_tail = [&](const std::vector<double>& l) { return *std::min_element(l.end() - 50, l.end()); };
  EXPECT_LT(best_tail(cpu), 0.02 * cpu.front());
  EXPECT_LT(best_tail(gpu), 0.02 * gpu.front());
  EXPECT_NEAR(best_tail(gpu), best_tail(cpu), 0.1 * best_tail(cpu));
}
