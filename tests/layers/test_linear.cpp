#include <gtest/gtest.h>

#include <cmath>

#include "layers/linear.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

TEST(Linear, ForwardMatchesNaiveProductAndBias) {
  Linear lin("fc", 3, 2, true, 7);
  lin.bias()->value.copy_from(Tensor::from_vector({0.5, -1}, {2}));
  Tensor x = test::random_tensor({4, 3}, 1);
  Tensor y = lin.forward(x);
  ASSERT_EQ(y.shape(), (Shape{4, 2}));
  auto w = lin.weight().value.to_vector(), xv = x.to_vector(), yv = y.to_vector();
  for (int r = 0; r < 4; ++r)
    for (int o = 0; o < 2; ++o) {
      double s = o == 0 ? 0.5 : -1;
      for (int i = 0; i < 3; ++i) s += xv[r * 3 + i] * w[o * 3 + i];
      EXPECT_NEAR(yv[r * 2 + o], s, 1e-6);
    }
}

TEST(Linear, GlorotInitIsSeededAndBounded) {
  Linear a("a", 50, 30, true, 42), b("b", 50, 30, true, 42), c("c", 50, 30, true, 43);
  EXPECT_TRUE(test::all_close(a.weight().value, b.weight().value, 0, 0));
  EXPECT_FALSE(test::all_close(a.weight().value, c.weight().value, 0, 0));
  double limit = std::sqrt(6.0 / 80.0), sum2 = 0;
  auto w = a.weight().value.to_vector();
  for (double v : w) {
    EXPECT_LE(std::abs(v), limit);
    sum2 += v * v;
  }
  // Variance of U(-l, l) is l^2 / 3 = 2 / (in + out).
  EXPECT_NEAR(sum2 / double(w.size()), 2.0 / 80.0, 0.1 * 2.0 / 80.0);
  for (double v : a.bias()->value.to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(Linear, ParameterNamesAndShapes) {
  Linear lin("fc1", 4, 6, true, 1);
  auto ps = lin.parameters("encoder");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0]->name, "encoder.fc1.weight");
  EXPECT_EQ(ps[1]->name, "encoder.fc1.bias");
  EXPECT_EQ(ps[0]->value.shape(), (Shape{6, 4}));
  EXPECT_EQ(ps[1]->value.shape(), (Shape{6}));
  Linear nob("fc2", 4, 6, false, 1);
  EXPECT_EQ(nob.parameters().size(), 1u);
  EXPECT_EQ(nob.bias(), nullptr);
  EXPECT_THROW(lin.forward(Tensor::zeros({2, 5})), Error);
}

TEST(Linear, BackwardAccumulatesParameterGradients) {
  Linear lin("fc", 3, 2, true, 3);
  Tensor x = test::random_tensor({5, 3}, 2), dy = test::random_tensor({5, 2}, 3);
  lin.forward(x);
  lin.backward(dy);
  Tensor g1 = lin.weight().grad.clone(), b1 = lin.bias()->grad.clone();
  lin.forward(x);
  lin.backward(dy);
  Tensor twice = Tensor::empty(g1.shape());
  for (int64_t i = 0; i < g1.numel(); ++i) twice.data<float>()[i] = 2 * g1.data<float>()[i];
  EXPECT_TRUE(test::all_close(lin.weight().grad, twice, 1e-6, 1e-5));
  lin.zero_grad();
  for (double v : lin.bias()->grad.to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(GradCheckLinear, InputsWeightAndBias) {
  for (bool bias : {true, false}) {
    SCOPED_TRACE(bias ? "with bias" : "without bias");
    Linear lin("fc", 4, 3, bias, 5, Device::CPU, DType::F64);
    if (bias) lin.bias()->value.copy_from(test::random_tensor({3}, 6, -1, 1, DType::F64));
    Tensor x = test::random_tensor({2, 5, 4}, 7, -1, 1, DType::F64);  // leading dims are flattened
    AD_EXPECT_GRADCHECK(test::grad_check(
        {x}, lin.parameters(), [&] { return lin.forward(x); },
        [&](const Tensor& dy) { return std::vector<Tensor>{lin.backward(dy)}; }));
  }
}

TEST(GpuParityLinear, ForwardBackwardMatchCpu) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Linear cpu_lin("fc", 67, 45, true, seed), gpu_lin("fc", 67, 45, true, seed, G);
  cpu_lin.bias()->value.copy_from(test::random_tensor({45}, seed + 1));
  gpu_lin.bias()->value.copy_from(cpu_lin.bias()->value);
  Tensor x = test::random_tensor({129, 67}, seed + 2), dy = test::random_tensor({129, 45}, seed + 3);
  Tensor y = cpu_lin.forward(x), gy = gpu_lin.forward(x.to(G));
  EXPECT_TRUE(test::all_close(gy, y, 1e-5, 1e-4));
  Tensor dx = cpu_lin.backward(dy), gdx = gpu_lin.backward(dy.to(G));
  EXPECT_TRUE(test::all_close(gdx, dx, 1e-5, 1e-4));
  EXPECT_TRUE(test::all_close(gpu_lin.weight().grad, cpu_lin.weight().grad, 1e-4, 1e-4));
  EXPECT_TRUE(test::all_close(gpu_lin.bias()->grad, cpu_lin.bias()->grad, 1e-4, 1e-4));
}
