#include <gtest/gtest.h>

#include <cmath>

#include "layers/batchnorm1d.h"
#include "layers/conv1d.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

TEST(CausalConv1dLayer, GlorotUniformInitIsSeededAndBounded) {
  CausalConv1d a(16, 32, 2, 4, 7), b(16, 32, 2, 4, 7), c(16, 32, 2, 4, 8);
  const double limit = std::sqrt(6.0 / (2 * 16 + 2 * 32));
  auto wa = a.weight().value.to_vector();
  EXPECT_EQ(a.weight().value.shape(), Shape({2, 16, 32}));
  EXPECT_EQ(wa, b.weight().value.to_vector());
  EXPECT_NE(wa, c.weight().value.to_vector());
  double s2 = 0;
  for (double v : wa) {
    EXPECT_LE(std::abs(v), limit);
    s2 += v * v;
  }
  EXPECT_NEAR(s2 / double(wa.size()), limit * limit / 3, 0.15 * limit * limit / 3);  // uniform variance
  for (double v : a.bias().value.to_vector()) EXPECT_EQ(v, 0.0);
  EXPECT_EQ(a.receptive_field(), 5);
  auto ps = a.parameters("enc.conv0");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0]->name, "enc.conv0.weight");
  EXPECT_EQ(ps[1]->name, "enc.conv0.bias");
}

TEST(CausalConv1dLayer, StackedLayersStayCausal) {
  CausalConv1d l1(3, 8, 2, 1, 1), l2(8, 4, 2, 4, 2);
  Tensor x = test::random_tensor({2, 30, 3}, 3);
  Tensor y1 = l2.forward(l1.forward(x));
  Tensor x2 = x.clone();
  const int64_t tp = 17;
  for (int64_t b = 0; b < 2; ++b) x2.data<float>()[(b * 30 + tp) * 3 + 1] += 1.0f;
  Tensor y2 = l2.forward(l1.forward(x2));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < tp; ++t)
      for (int64_t o = 0; o < 4; ++o) {
        int64_t i = (b * 30 + t) * 4 + o;
        ASSERT_EQ(y1.data<float>()[i], y2.data<float>()[i]) << "b=" << b << " t=" << t;
      }
}

TEST(GradCheckCausalConv1d, LayerDxWeightBias) {
  CausalConv1d layer(3, 4, 2, 3, 11, DType::F64);
  // Nonzero bias so its gradient path is exercised with a non-trivial forward.
  layer.bias().value.copy_from(test::random_tensor({4}, 12, -1, 1, DType::F64));
  Tensor x = test::random_tensor({2, 10, 3}, 13, -1, 1, DType::F64);
  AD_EXPECT_GRADCHECK(test::grad_check(
      {x}, layer.parameters(), [&] { return layer.forward(x); },
      [&](const Tensor& dy) { return std::vector<Tensor>{layer.backward(dy)}; }));
}

TEST(GradCheckBatchNorm1d, LayerTrainModeOnBTC) {
  BatchNorm1d bn(3, DType::F64);
  bn.gamma().value.copy_from(test::random_tensor({3}, 21, 0.5, 1.5, DType::F64));
  bn.beta().value.copy_from(test::random_tensor({3}, 22, -0.5, 0.5, DType::F64));
  Tensor x = test::random_tensor({2, 5, 3}, 23, -2, 2, DType::F64);
  AD_EXPECT_GRADCHECK(test::grad_check(
      {x}, bn.parameters(), [&] { return bn.forward(x); },
      [&](const Tensor& dy) { return std::vector<Tensor>{bn.backward(dy)}; }));
}

TEST(BatchNorm1dLayer, RunningStatisticsBuffersAndInferenceMode) {
  BatchNorm1d bn(2);
  std::vector<std::pair<std::string, Tensor*>> bufs;
  bn.buffers("enc.bn0", bufs);
  ASSERT_EQ(bufs.size(), 2u);
  EXPECT_EQ(bufs[0].first, "enc.bn0.running_mean");
  EXPECT_EQ(bufs[1].first, "enc.bn0.running_var");
  EXPECT_EQ(bufs[0].second->to_vector(), std::vector<double>({0, 0}));
  EXPECT_EQ(bufs[1].second->to_vector(), std::vector<double>({1, 1}));

  // Channel 0: {1,2,3,6} (mean 3, biased var 3.5); channel 1: constant 5 (mean 5, var 0).
  Tensor x = Tensor::from_vector({1, 5, 2, 5, 3, 5, 6, 5}, {2, 2, 2});
  bn.forward(x);
  auto rm = bn.running_mean().to_vector(), rv = bn.running_var().to_vector();
  EXPECT_NEAR(rm[0], 0.03, 1e-6);
  EXPECT_NEAR(rm[1], 0.05, 1e-6);
  EXPECT_NEAR(rv[0], 0.99 + 0.035, 1e-6);
  EXPECT_NEAR(rv[1], 0.99, 1e-6);

  bn.set_training(false);
  Tensor y = bn.forward(x);
  EXPECT_EQ(bn.running_mean().to_vector(), rm);  // inference leaves them alone
  EXPECT_NEAR(y.to_vector()[0], (1 - rm[0]) / std::sqrt(rv[0] + 1e-3), 1e-5);
  EXPECT_NEAR(y.to_vector()[1], (5 - rm[1]) / std::sqrt(rv[1] + 1e-3), 1e-5);
  EXPECT_THROW(BatchNorm1d(3).backward(x), Error);
}

TEST(GpuParityConvLayers, ConvAndBatchNormMatchCpu) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  CausalConv1d cc(8, 16, 2, 8, seed), gc(8, 16, 2, 8, seed, DType::F32, G);
  BatchNorm1d cb(16), gb(16, DType::F32, G);
  Tensor x = test::random_tensor({4, 200, 8}, seed + 1), dy = test::random_tensor({4, 200, 16}, seed + 2);
  Tensor y = cb.forward(cc.forward(x)), dx = cc.backward(cb.backward(dy));
  Tensor gy = gb.forward(gc.forward(x.to(G)));
  Tensor gdx = gc.backward(gb.backward(dy.to(G)));
  EXPECT_TRUE(test::all_close(gy, y, 1e-4, 1e-4));
  EXPECT_TRUE(test::all_close(gdx, dx, 1e-4, 1e-3));
  EXPECT_TRUE(test::all_close(gc.weight().grad, cc.weight().grad, 1e-3, 1e-3));
  EXPECT_TRUE(test::all_close(gc.bias().grad, cc.bias().grad, 1e-3, 1e-3));
  EXPECT_TRUE(test::all_close(gb.gamma().grad, cb.gamma().grad, 1e-3, 1e-3));
  EXPECT_TRUE(test::all_close(gb.running_var(), cb.running_var(), 1e-5, 1e-4));
}
