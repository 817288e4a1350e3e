#include <gtest/gtest.h>

#include <cmath>

#include "kernels/gaussian.cuh"
#include "runtime/philox.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

TEST(EmulatedGaussian, ForwardAndBackwardMatchCpuReference) {
  for (bool mean_only : {false, true})
    for (int64_t n : {1, 255, 257, 1031}) {
      SCOPED_TRACE("n=" + std::to_string(n) + (mean_only ? " mean_only" : ""));
      const uint64_t seed = 77, offset = 1000;
      Tensor mu = test::random_tensor({n}, 1, -2, 2), lv = test::random_tensor({n}, 2, -3, 1);
      Tensor dz = test::random_tensor({n}, 3);
      Tensor z = Tensor::empty({n}), dmu = Tensor::empty({n}), dlv = Tensor::empty({n});
      reparam_forward(mu, lv, z, seed, offset, mean_only);
      reparam_backward(lv, dz, dmu, dlv, seed, offset, mean_only);

      test::GuardedBuffer gmu(mu), glv(lv), gdz(dz), gz{size_t(n)}, gdmu{size_t(n)}, gdlv{size_t(n)};
      EmulatedLauncher l;
      launch_reparam_forward(l, gmu.data(), glv.data(), gz.data(), n, seed, offset, mean_only);
      launch_reparam_backward(l, glv.data(), gdz.data(), gdmu.data(), gdlv.data(), n, seed, offset, mean_only);
      EXPECT_TRUE(test::all_close(gz.tensor({n}), z, 1e-6, 1e-5));
      EXPECT_TRUE(test::all_close(gdmu.tensor({n}), dmu, 0, 0));
      EXPECT_TRUE(test::all_close(gdlv.tensor({n}), dlv, 1e-6, 1e-5));
      if (mean_only) {
        EXPECT_TRUE(test::all_close(gz.tensor({n}), mu, 0, 0));
      }
      for (auto* g : {&gmu, &glv, &gdz, &gz, &gdmu, &gdlv}) EXPECT_TRUE(g->check_canaries());
    }
}

TEST(EmulatedGaussian, EpsIsExactlyPhiloxNormal) {
  // mu = 0, logvar = 0: z is eps itself, and must be philox_normal(seed, offset, i) bit for bit.
  const int64_t n = 513;
  const uint64_t seed = 0x1234567890ULL, offset = 4242;
  test::GuardedBuffer mu{size_t(n), 0.f}, lv{size_t(n), 0.f}, z{size_t(n)};
  EmulatedLauncher l;
  launch_reparam_forward(l, mu.data(), lv.data(), z.data(), n, seed, offset, false);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(z.data()[i], philox_normal(seed, offset, uint64_t(i))) << "i=" << i;
  EXPECT_TRUE(z.check_canaries());
  // A different offset draws different numbers.
  test::GuardedBuffer z2{size_t(n)};
  launch_reparam_forward(l, mu.data(), lv.data(), z2.data(), n, seed, offset + n, false);
  int same = 0;
  for (int64_t i = 0; i < n; ++i) same += z.data()[i] == z2.data()[i];
  EXPECT_LT(same, 3);
}

TEST(GaussianStatistics, EpsLooksStandardNormal) {
  const int64_t n = 200000;
  Tensor mu = Tensor::zeros({n}), lv = Tensor::full({n}, std::log(4.0)), z = Tensor::empty({n});
  reparam_forward(mu, lv, z, 9, 0);
  double s = 0, s2 = 0;
  for (double v : z.to_vector()) {
    s += v;
    s2 += v * v;
  }
  EXPECT_NEAR(s / n, 0.0, 0.02);
  EXPECT_NEAR(s2 / n, 4.0, 0.06);  // std exp(0.5 * log 4) = 2
}

TEST(GradCheckGaussian, MuAndLogvar) {
  for (bool mean_only : {false, true}) {
    SCOPED_TRACE(mean_only ? "mean_only" : "sampled");
    Tensor mu = test::random_tensor({3, 7}, 4, -1, 1, DType::F64), lv = test::random_tensor({3, 7}, 5, -2, 1, DType::F64);
    auto forward = [&] {
      Tensor z = Tensor::empty(mu.shape(), DType::F64);
      reparam_forward(mu, lv, z, 11, 22, mean_only);
      return z;
    };
    auto backward = [&](const Tensor& dz) {
      Tensor dmu = Tensor::empty(mu.shape(), DType::F64), dlv = Tensor::empty(mu.shape(), DType::F64);
      reparam_backward(lv, dz, dmu, dlv, 11, 22, mean_only);
      return std::vector<Tensor>{dmu, dlv};
    };
    AD_EXPECT_GRADCHECK(test::grad_check({mu, lv}, {}, forward, backward));
  }
}

TEST(GpuParityGaussian, MatchesCpuReferenceOnFreshInputs) {
  AD_REQUIRE_GPU();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (bool mean_only : {false, true}) {
    const int64_t n = 100003;
    Tensor mu = test::random_tensor({n}, seed, -2, 2), lv = test::random_tensor({n}, seed + 1, -3, 1);
    Tensor dz = test::random_tensor({n}, seed + 2);
    Tensor z = Tensor::empty({n}), dmu = Tensor::empty({n}), dlv = Tensor::empty({n});
    reparam_forward(mu, lv, z, seed, 17, mean_only);
    reparam_backward(lv, dz, dmu, dlv, seed, 17, mean_only);
    const Device G = Device::CUDA;
    Tensor gz = Tensor::empty({n}, DType::F32, G), gdmu = Tensor::empty({n}, DType::F32, G),
           gdlv = Tensor::empty({n}, DType::F32, G);
    Tensor gmu = mu.to(G), glv = lv.to(G), gdz = dz.to(G);
    reparam_forward(gmu, glv, gz, seed, 17, mean_only);
    reparam_backward(glv, gdz, gdmu, gdlv, seed, 17, mean_only);
    // philox_normal uses logf/cosf, which differ by a few ulp between host and device.
    EXPECT_TRUE(test::all_close(gz, z, 1e-5, 1e-5));
    EXPECT_TRUE(test::all_close(gdmu, dmu, 0, 0));
    EXPECT_TRUE(test::all_close(gdlv, dlv, 1e-5, 1e-5));
  }
}
