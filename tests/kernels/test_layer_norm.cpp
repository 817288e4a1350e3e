#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/layer_norm.cuh"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

TEST(EmulatedLayerNorm, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    struct Case {
      int64_t R, C;
      unsigned threads;
    };
    for (const Case& c : {Case{7, 128, 0}, Case{3, 37, 0}, Case{5, 300, 0}, Case{4, 1, 0}, Case{9, 70, 32},
                          Case{2, 13, 64}, Case{0, 5, 0}}) {
      SCOPED_TRACE("R=" + std::to_string(c.R) + " C=" + std::to_string(c.C));
      const int64_t R = c.R, C = c.C;
      // An offset of 100: the centred second pass matters in f32.
      Tensor x = test::random_tensor({R, C}, 1, 99, 101), g = test::random_tensor({C}, 2, 0.5, 1.5),
             b = test::random_tensor({C}, 3), dy = test::random_tensor({R, C}, 4);
      const double eps = 1e-3;
      Tensor y = Tensor::empty({R, C}), m = Tensor::empty({R}), rs = Tensor::empty({R}), dx = Tensor::empty({R, C});
      Tensor dg = Tensor::full({C}, 0.5), db = Tensor::full({C}, -0.25);
      layer_norm_forward(x, g, b, eps, y, m, rs);
      layer_norm_backward(x, g, m, rs, dy, dx, dg, db, true);

      test::GuardedBuffer gx(x), gg(g), gb(b), gdy(dy), gy{size_t(R * C)}, gm{size_t(R)}, grs{size_t(R)},
          gdx{size_t(R * C)}, gdg{size_t(C), 0.5f}, gdb{size_t(C), -0.25f};
      EmulatedLauncher l;
      launch_layer_norm_forward(l, gx.data(), gg.data(), gb.data(), float(eps), gy.data(), gm.data(), grs.data(), R, C,
                                c.threads);
      launch_layer_norm_backward(l, gx.data(), gg.data(), gm.data(), grs.data(), gdy.data(), gdx.data(), gdg.data(),
                                 gdb.data(), R, C, true, c.threads);
      // Inputs near 100: the f32 mean is off by ~ulp(100), ~1e-5 after normalising.
      EXPECT_TRUE(test::all_close(gy.tensor({R, C}), y, 1e-4, 1e-4));
      EXPECT_TRUE(test::all_close(gm.tensor({R}), m, 1e-5, 1e-6));
      EXPECT_TRUE(test::all_close(grs.tensor({R}), rs, 1e-4, 1e-4));
      EXPECT_TRUE(test::all_close(gdx.tensor({R, C}), dx, 1e-4, 1e-3));
      EXPECT_TRUE(test::all_close(gdg.tensor({C}), dg, 1e-4, 1e-4));
      EXPECT_TRUE(test::all_close(gdb.tensor({C}), db, 1e-5, 1e-5));
      for (auto* bf : {&gy, &gm, &grs, &gdx, &gdg, &gdb}) EXPECT_TRUE(bf->check_canaries());
    }  });

}

TEST(LayerNorm, RowsAreNormalised) {
  Tensor x = test::random_tensor({6, 50}, 7, -3, 8), g = Tensor::full({50}, 1.0), b = Tensor::zeros({50});
  Tensor y = Tensor::empty({6, 50}), m = Tensor::empty({6}), rs = Tensor::empty({6});
  layer_norm_forward(x, g, b, 1e-5, y, m, rs);
  auto v = y.to_vector();
  for (int r = 0; r < 6; ++r) {
    double s = 0, q = 0;
    for (int c = 0; c < 50; ++c) s += v[r * 50 + c], q += v[r * 50 + c] * v[r * 50 + c];
    EXPECT_NEAR(s / 50, 0.0, 1e-5);
    EXPECT_NEAR(q / 50, 1.0, 1e-3);
  }
}

TEST(GradCheckLayerNorm, XGammaBeta) {
  const int64_t R = 5, C = 7;
  Tensor x = test::random_tensor({R, C}, 11, -2, 2, DType::F64);
  Parameter gamma("gamma", test::random_tensor({C}, 12, 0.5, 1.5, DType::F64)),
      beta("beta", test::random_tensor({C}, 13, -1, 1, DType::F64));
  Tensor m, rs;
  AD_EXPECT_GRADCHECK(test::grad_check(
      {x}, {&gamma, &beta},
      [&] {
        Tensor y = Tensor::empty({R, C}, DType::F64);
        m = Tensor::empty({R}, DType::F64);
        rs = Tensor::empty({R}, DType::F64);
        layer_norm_forward(x, gamma.value, beta.value, 1e-5, y, m, rs);
        return y;
      },
      [&](const Tensor& dy) {
        Tensor dx = Tensor::empty({R, C}, DType::F64);
        layer_norm_backward(x, gamma.value, m, rs, dy, dx, gamma.grad, beta.grad, true);
        return std::vector<Tensor>{dx};
      }));
}

TEST(LayerNorm, BadInputsThrow) {
  Tensor x = test::random_tensor({3, 4}, 1), g = Tensor::full({4}, 1.0), b = Tensor::zeros({4});
  Tensor y = Tensor::empty({3, 4}), m = Tensor::empty({3}), rs = Tensor::empty({3});
  EXPECT_NO_THROW(layer_norm_forward(x, g, b, 1e-5, y, m, rs));
  EXPECT_THROW(layer_norm_forward(x, g, b, 0.0, y, m, rs), Error);
  Tensor g_bad = Tensor::full({5}, 1.0), m_bad = Tensor::empty({4});
  EXPECT_THROW(layer_norm_forward(x, g_bad, b, 1e-5, y, m, rs), Error);
  EXPECT_THROW(layer_norm_forward(x, g, b, 1e-5, y, m_bad, rs), Error);
}

TEST(GpuParityLayerNorm, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const int64_t R = test::parity_size(3001, 301), C = 128;
  Tensor x = test::random_tensor({R, C}, seed, -3, 3), g = test::random_tensor({C}, seed + 1),
         b = test::random_tensor({C}, seed + 2), dy = test::random_tensor({R, C}, seed + 3);
  Tensor y = Tensor::empty({R, C}), m = Tensor::empty({R}), rs = Tensor::empty({R}), dx = Tensor::empty({R, C}),
         dg = Tensor::empty({C}), db = Tensor::empty({C});
  layer_norm_forward(x, g, b, 1e-5, y, m, rs);
  layer_norm_backward(x, g, m, rs, dy, dx, dg, db);
  auto e = [&](const Shape& s) { return Tensor::empty(s, DType::F32, G); };
  Tensor gx = x.to(G), gg = g.to(G), gy = e({R, C}), gm = e({R}), grs = e({R}), gdx = e({R, C}), gdg = e({C}),
         gdb = e({C});
  layer_norm_forward(gx, gg, b.to(G), 1e-5, gy, gm, grs);
  layer_norm_backward(gx, gg, gm, grs, dy.to(G), gdx, gdg, gdb);
  EXPECT_TRUE(test::all_close(gy, y, 1e-5, 1e-4));
  EXPECT_TRUE(test::all_close(gdx, dx, 1e-4, 1e-3));
  EXPECT_TRUE(test::all_close(gdg, dg, 1e-3, 1e-3));
  EXPECT_TRUE(test::all_close(gdb, db, 1e-3, 1e-3));
}
