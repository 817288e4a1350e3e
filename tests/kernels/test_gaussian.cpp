#include <gtest/gtest.h>

#include <cmath>

#include "kernels/gaussian.cuh"
#include "kernels/loss.h"
#include "runtime/philox.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

TEST(EmulatedGaussian, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
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
  });
}

TEST(EmulatedGaussian, EpsIsExactlyPhiloxNormal) {
  test::for_each_schedule([&] {
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
  });
}

// A captured step reads the counter offset from device memory: the same noise as the offset passed by value,
// in forward and backward.
TEST(EmulatedGaussian, OffsetFromDeviceMemoryDrawsTheSameNoise) {
  test::for_each_schedule([&] {
    const int64_t n = 301;
    const uint64_t seed = 91;
    int64_t offset_in_memory = 123457;
    test::RegisteredMemory reg(&offset_in_memory, sizeof offset_in_memory, "offset");
    Tensor mu = test::random_tensor({n}, 5, -2, 2), lv = test::random_tensor({n}, 6, -3, 1);
    Tensor dz = test::random_tensor({n}, 7);
    test::GuardedBuffer gmu(mu), glv(lv), gdz(dz);
    test::GuardedBuffer z1{size_t(n)}, z2{size_t(n)}, dmu1{size_t(n)}, dmu2{size_t(n)}, dlv1{size_t(n)},
        dlv2{size_t(n)};
    EmulatedLauncher l;
    launch_reparam_forward(l, gmu.data(), glv.data(), z1.data(), n, seed, uint64_t(offset_in_memory), false);
    launch_reparam_forward(l, gmu.data(), glv.data(), z2.data(), n, seed, 0, false, &offset_in_memory);
    launch_reparam_backward(l, glv.data(), gdz.data(), dmu1.data(), dlv1.data(), n, seed, uint64_t(offset_in_memory),
                            false);
    launch_reparam_backward(l, glv.data(), gdz.data(), dmu2.data(), dlv2.data(), n, seed, 0, false, &offset_in_memory);
    EXPECT_TRUE(test::all_close(z2.tensor({n}), z1.tensor({n}), 0, 0));
    EXPECT_TRUE(test::all_close(dlv2.tensor({n}), dlv1.tensor({n}), 0, 0));
    EXPECT_TRUE(test::all_close(dmu2.tensor({n}), dmu1.tensor({n}), 0, 0));
    for (auto* g : {&z1, &z2, &dmu1, &dmu2, &dlv1, &dlv2}) EXPECT_TRUE(g->check_canaries());
  });
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
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (bool mean_only : {false, true}) {
    const int64_t n = test::parity_size(100003, 30011);
    Tensor mu = test::random_tensor({n}, seed, -2, 2), lv = test::random_tensor({n}, seed + 1, -3, 1);
    Tensor dz = test::random_tensor({n}, seed + 2);
    Tensor z = Tensor::empty({n}), dmu = Tensor::empty({n}), dlv = Tensor::empty({n});
    reparam_forward(mu, lv, z, seed, 17, mean_only);
    reparam_backward(lv, dz, dmu, dlv, seed, 17, mean_only);
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

// ---- fused z + KL ----------------------------------------------------------------------------------------
TEST(EmulatedGaussianKl, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    struct Case {
      int64_t R, C;
      unsigned threads;
    };
    for (VarianceForm form : {VarianceForm::LogVar, VarianceForm::OfficialMuad})
      for (bool mean_only : {false, true})
        for (const Case& c : {Case{50, 64, 0}, Case{3, 300, 0}, Case{7, 1, 0}, Case{5, 37, 32}, Case{0, 4, 0}}) {
          SCOPED_TRACE("R=" + std::to_string(c.R) + " C=" + std::to_string(c.C) +
                       (form == VarianceForm::LogVar ? " logvar" : " official") + (mean_only ? " mean_only" : ""));
          const int64_t R = c.R, C = c.C;
          const uint64_t seed = 5, offset = 321;
          // The official form takes sqrt(v): v from a sigmoid, in (0, 1).
          Tensor mu = test::random_tensor({R, C}, 1, -2, 2), v = test::random_tensor({R, C}, 2, 0.05, 1),
                 dz = test::random_tensor({R, C}, 3), dkl = test::random_tensor({R}, 4);
          Tensor z = Tensor::empty({R, C}), kl = Tensor::empty({R}), dmu = Tensor::empty({R, C}),
                 dv = Tensor::empty({R, C});
          reparam_kl_forward(mu, v, z, kl, seed, offset, form, mean_only);
          reparam_kl_backward(mu, v, dz, dkl, dmu, dv, seed, offset, form, mean_only);

          test::GuardedBuffer gmu(mu), gv(v), gdz(dz), gdkl(dkl), gz{size_t(R * C)}, gkl{size_t(R)},
              gdmu{size_t(R * C)}, gdv{size_t(R * C)};
          EmulatedLauncher l;
          launch_reparam_kl_forward(l, gmu.data(), gv.data(), gz.data(), gkl.data(), R, C, seed, offset, form, mean_only,
                                    c.threads);
          launch_reparam_kl_backward(l, gmu.data(), gv.data(), gdz.data(), gdkl.data(), gdmu.data(), gdv.data(), R, C,
                                     seed, offset, form, mean_only);
          EXPECT_TRUE(test::all_close(gz.tensor({R, C}), z, 1e-6, 1e-5));
          EXPECT_TRUE(test::all_close(gkl.tensor({R}), kl, 1e-4, 1e-5));
          EXPECT_TRUE(test::all_close(gdmu.tensor({R, C}), dmu, 1e-6, 1e-5));
          EXPECT_TRUE(test::all_close(gdv.tensor({R, C}), dv, 1e-6, 1e-5));
          for (auto* g : {&gz, &gkl, &gdmu, &gdv}) EXPECT_TRUE(g->check_canaries());
        }  });

}

// The fused launch draws the very eps of reparam_forward (same seed, offset, flat index), and its KL is the
// existing kl_std_normal_loss summed per row.
TEST(GaussianKl, SameDrawsAndKlAsTheSeparateOps) {
  const int64_t R = 6, C = 9;
  Tensor mu = test::random_tensor({R, C}, 1), lv = test::random_tensor({R, C}, 2, -2, 1);
  Tensor z1 = Tensor::empty({R, C}), z2 = Tensor::empty({R, C}), kl = Tensor::empty({R}),
         kl_el = Tensor::empty({R, C});
  reparam_forward(mu, lv, z1, 8, 40);
  reparam_kl_forward(mu, lv, z2, kl, 8, 40, VarianceForm::LogVar);
  EXPECT_TRUE(test::all_close(z2, z1, 0, 0));
  kl_std_normal_loss(mu, lv, kl_el);
  auto k = kl.to_vector(), ke = kl_el.to_vector();
  for (int64_t r = 0; r < R; ++r) {
    double s = 0;
    for (int64_t c = 0; c < C; ++c) s += ke[r * C + c];
    EXPECT_NEAR(k[r], s, 1e-4) << r;
  }
  // Official form: sigma = sqrt(v), so with v = exp(lv) it draws what the log-variance form draws with lv.
  Tensor v = Tensor::empty({R, C}), z3 = Tensor::empty({R, C}), kl3 = Tensor::empty({R});
  auto lvv = lv.to_vector();
  for (int64_t i = 0; i < R * C; ++i) v.data<float>()[i] = std::exp(float(lvv[i]));
  reparam_kl_forward(mu, v, z3, kl3, 8, 40, VarianceForm::OfficialMuad);
  EXPECT_TRUE(test::all_close(z3, z1, 1e-5, 1e-5));
}

TEST(GradCheckGaussianKl, MuAndVarianceHead) {
  for (VarianceForm form : {VarianceForm::LogVar, VarianceForm::OfficialMuad})
    for (bool mean_only : {false, true}) {
      SCOPED_TRACE(std::string(form == VarianceForm::LogVar ? "logvar" : "official") + (mean_only ? " mean" : ""));
      const int64_t R = 4, C = 5;
      Tensor mu = test::random_tensor({R, C}, 4, -1, 1, DType::F64), v = test::random_tensor({R, C}, 5, 0.2, 1, DType::F64);
      // One output: [z | kl] flattened, so both are probed.
      auto forward = [&] {
        Tensor z = Tensor::empty({R, C}, DType::F64), kl = Tensor::empty({R}, DType::F64);
        reparam_kl_forward(mu, v, z, kl, 11, 22, form, mean_only);
        Tensor out = Tensor::empty({R * C + R}, DType::F64);
        std::copy(z.data<double>(), z.data<double>() + R * C, out.data<double>());
        std::copy(kl.data<double>(), kl.data<double>() + R, out.data<double>() + R * C);
        return out;
      };
      auto backward = [&](const Tensor& dout) {
        Tensor dz = Tensor::from_vector(std::vector<double>(dout.data<double>(), dout.data<double>() + R * C), {R, C},
                                        DType::F64);
        Tensor dkl = Tensor::from_vector(std::vector<double>(dout.data<double>() + R * C, dout.data<double>() + R * C + R),
                                         {R}, DType::F64);
        Tensor dmu = Tensor::empty({R, C}, DType::F64), dv = Tensor::empty({R, C}, DType::F64);
        reparam_kl_backward(mu, v, dz, dkl, dmu, dv, 11, 22, form, mean_only);
        return std::vector<Tensor>{dmu, dv};
      };
      AD_EXPECT_GRADCHECK(test::grad_check({mu, v}, {}, forward, backward));
    }
}

TEST(GpuParityGaussianKl, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const int64_t R = test::parity_size(5003, 503), C = 64;
  for (VarianceForm form : {VarianceForm::LogVar, VarianceForm::OfficialMuad}) {
    Tensor mu = test::random_tensor({R, C}, seed, -2, 2), v = test::random_tensor({R, C}, seed + 1, 0.05, 1),
           dz = test::random_tensor({R, C}, seed + 2), dkl = test::random_tensor({R}, seed + 3);
    Tensor z = Tensor::empty({R, C}), kl = Tensor::empty({R}), dmu = Tensor::empty({R, C}), dv = Tensor::empty({R, C});
    reparam_kl_forward(mu, v, z, kl, seed, 9, form);
    reparam_kl_backward(mu, v, dz, dkl, dmu, dv, seed, 9, form);
    auto e = [&](const Shape& s) { return Tensor::empty(s, DType::F32, G); };
    Tensor gz = e({R, C}), gkl = e({R}), gdmu = e({R, C}), gdv = e({R, C});
    reparam_kl_forward(mu.to(G), v.to(G), gz, gkl, seed, 9, form);
    reparam_kl_backward(mu.to(G), v.to(G), dz.to(G), dkl.to(G), gdmu, gdv, seed, 9, form);
    EXPECT_TRUE(test::all_close(gz, z, 1e-5, 1e-5));
    EXPECT_TRUE(test::all_close(gkl, kl, 1e-3, 1e-4));
    EXPECT_TRUE(test::all_close(gdmu, dmu, 1e-5, 1e-5));
    EXPECT_TRUE(test::all_close(gdv, dv, 1e-5, 1e-5));
  }
}
