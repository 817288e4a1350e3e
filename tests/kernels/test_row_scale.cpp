#include <gtest/gtest.h>

#include "kernels/row_scale.cuh"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

TEST(EmulatedRowScale, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    // Row and element counts not multiples of the block; the window at a non-zero offset inside a wider out.
    for (int64_t rows : {1, 5, 131})
      for (int64_t d : {3, 64})
        for (int64_t offset : {0, 7}) {
          SCOPED_TRACE("rows=" + std::to_string(rows) + " d=" + std::to_string(d) + " offset=" +
                       std::to_string(offset));
          const int64_t f = offset + d + 5;
          Tensor z = test::random_tensor({rows, d}, 1), w = test::random_tensor({rows}, 2);
          Tensor out = test::random_tensor({rows, f}, 3), dout = test::random_tensor({rows, f}, 4);
          test::GuardedBuffer gz(z), gw(w), gout(out), gdout(dout), gdz{size_t(rows * d)}, gdw{size_t(rows)};
          scale_rows_into_columns(z, w, out, offset);
          Tensor dz = Tensor::empty({rows, d}), dw = Tensor::empty({rows});
          scale_rows_into_columns_backward(z, w, dout, offset, dz, dw);

          EmulatedLauncher l;
          launch_scale_rows_into_columns(l, gz.data(), gw.data(), gout.data(), rows, d, f, offset);
          launch_scale_rows_into_columns_backward(l, gz.data(), gw.data(), gdout.data(), gdz.data(), gdw.data(), rows,
                                                  d, f, offset);
          EXPECT_TRUE(test::all_close(gout.tensor({rows, f}), out, 1e-6, 1e-5));
          EXPECT_TRUE(test::all_close(gdz.tensor({rows, d}), dz, 1e-6, 1e-5));
          EXPECT_TRUE(test::all_close(gdw.tensor({rows}), dw, 1e-6, 1e-5));
          EXPECT_TRUE(gout.check_canaries());
          EXPECT_TRUE(gdz.check_canaries());
          EXPECT_TRUE(gdw.check_canaries());
        }
  });
}

TEST(RowScale, RejectsAWindowOutsideOut) {
  Tensor z = Tensor::zeros({2, 4}), w = Tensor::zeros({2}), out = Tensor::zeros({2, 6});
  EXPECT_TRUE(test::error_contains([&] { scale_rows_into_columns(z, w, out, 3); }, "outside"));
}

TEST(GradCheckRowScale, ZAndWeights) {
  const int64_t rows = 4, d = 3, f = 9, offset = 2;
  Tensor z = test::random_tensor({rows, d}, 5, -1, 1, DType::F64), w = test::random_tensor({rows}, 6, -1, 1, DType::F64);
  Tensor base = test::random_tensor({rows, f}, 7, -1, 1, DType::F64);
  auto forward = [&] {
    Tensor out = base.clone();
    scale_rows_into_columns(z, w, out, offset);
    return out;
  };
  auto backward = [&](const Tensor& dout) {
    Tensor dz = Tensor::empty({rows, d}, DType::F64), dw = Tensor::empty({rows}, DType::F64);
    scale_rows_into_columns_backward(z, w, dout, offset, dz, dw);
    return std::vector<Tensor>{dz, dw};
  };
  AD_EXPECT_GRADCHECK(test::grad_check({z, w}, {}, forward, backward));
}

TEST(GpuParityRowScale, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const int64_t rows = 1003, d = 64, f = 192, offset = 128;
  Tensor z = test::random_tensor({rows, d}, seed), w = test::random_tensor({rows}, seed + 1);
  Tensor out = test::random_tensor({rows, f}, seed + 2), dout = test::random_tensor({rows, f}, seed + 3);
  Tensor gz = z.to(G), gw = w.to(G), gout = out.to(G), gdout = dout.to(G);
  scale_rows_into_columns(z, w, out, offset);
  scale_rows_into_columns(gz, gw, gout, offset);
  Tensor dz = Tensor::empty({rows, d}), dw = Tensor::empty({rows});
  Tensor gdz = Tensor::empty({rows, d}, DType::F32, G), gdw = Tensor::empty({rows}, DType::F32, G);
  scale_rows_into_columns_backward(z, w, dout, offset, dz, dw);
  scale_rows_into_columns_backward(gz, gw, gdout, offset, gdz, gdw);
  EXPECT_TRUE(test::all_close(gout, out, 1e-6, 1e-5));
  EXPECT_TRUE(test::all_close(gdz, dz, 1e-6, 1e-5));
  // dw sums d = 64 products in a different order on each side: its f32 rounding is absolute (~d * eps * the
  // partial sums' size, up to ~3e-5 for terms in [-1, 1]), so a small dw carries no relative guarantee. A seed
  // gave |diff| 1.2e-6 at dw = -0.0139 with atol 1e-6.
  EXPECT_TRUE(test::all_close(gdw, dw, 3e-5, 1e-5));
}
