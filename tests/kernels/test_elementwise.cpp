#include <gtest/gtest.h>

#include "kernels/elementwise.cuh"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
const int64_t kSizes[] = {0, 1, 255, 257, 1031};
struct RC {
  int64_t rows, cols;
};
// 1x1, a column count that is not a multiple of the 32-column tile, more than one tile, more rows than
// the 8 row-threads, empty batches, and enough rows for several row slices (atomics).
// 1700 rows: three row slices of the column sums (an order-dependent sum shows with three terms).
const RC kShapes[] = {{1, 1}, {3, 33}, {17, 5}, {0, 4}, {40, 70}, {9, 1}, {1, 65}, {1100, 3}, {1700, 35}};
}  // namespace

TEST(EmulatedElementwise, PointwiseOpsMatchCpuReference) {
  test::for_each_schedule([&] {
    for (int64_t n : kSizes) {
      SCOPED_TRACE("n=" + std::to_string(n));
      Tensor a = test::random_tensor({n}, 1), b = test::random_tensor({n}, 2);
      Tensor sum = Tensor::empty({n}), prod = Tensor::empty({n}), scaled = Tensor::empty({n});
      add(a, b, sum, 0.5, -2.0);
      mul(a, b, prod);
      scale(a, 3.0, scaled);

      test::GuardedBuffer ga(a), gb(b), gsum{size_t(n)}, gprod{size_t(n)}, gscaled{size_t(n)}, gfill{size_t(n)};
      EmulatedLauncher l;
      launch_axpby(l, ga.data(), gb.data(), gsum.data(), n, 0.5f, -2.0f);
      launch_mul(l, ga.data(), gb.data(), gprod.data(), n);
      launch_scale(l, ga.data(), gscaled.data(), n, 3.0f);
      launch_fill(l, gfill.data(), n, 7.5f);
      EXPECT_TRUE(test::all_close(gsum.tensor({n}), sum, 1e-6, 1e-6));
      EXPECT_TRUE(test::all_close(gprod.tensor({n}), prod, 1e-6, 1e-6));
      EXPECT_TRUE(test::all_close(gscaled.tensor({n}), scaled, 1e-6, 1e-6));
      EXPECT_TRUE(test::all_close(gfill.tensor({n}), Tensor::full({n}, 7.5), 0, 0));
      for (auto* g : {&gsum, &gprod, &gscaled, &gfill}) EXPECT_TRUE(g->check_canaries());
    }
  });
}

TEST(EmulatedElementwise, AxpbyWithZeroBetaIgnoresNaNOutput) {
  test::for_each_schedule([&] {
    const int64_t n = 300;
    Tensor a = test::random_tensor({n}, 3);
    test::GuardedBuffer ga(a), gy{size_t(n), NAN};
    EmulatedLauncher l;
    launch_axpby(l, ga.data(), gy.data(), gy.data(), n, 2.0f, 0.0f);  // in place: y = 2a + 0*y
    Tensor want = Tensor::empty({n});
    scale(a, 2.0, want);
    EXPECT_TRUE(test::all_close(gy.tensor({n}), want, 0, 0));
    EXPECT_TRUE(gy.check_canaries());
  });
}

TEST(EmulatedElementwise, BiasRowsAndColumnSumsMatchCpuReference) {
  test::for_each_schedule([&] {
    for (const RC& s : kShapes)
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE("rows=" + std::to_string(s.rows) + " cols=" + std::to_string(s.cols) +
                     " accumulate=" + std::to_string(accumulate));
        Tensor x = test::random_tensor({s.rows, s.cols}, 4), bias = test::random_tensor({s.cols}, 5);
        Tensor db0 = test::random_tensor({s.cols}, 6);
        Tensor y = x.clone(), db = db0.clone();
        add_bias_rows(y, bias);
        add_bias_rows_backward(x, db, accumulate);

        test::GuardedBuffer gy(x), gb(bias), gdb(db0);
        EmulatedLauncher l;
        launch_add_bias_rows(l, gy.data(), gb.data(), s.rows, s.cols);
        test::GuardedBuffer partial{size_t(column_sum_workspace(s.rows, s.cols))};
        launch_column_sums(l, gy.data(), gdb.data(), partial.data(), s.rows, s.cols, 1.0f, accumulate);
        EXPECT_TRUE(test::all_close(gy.tensor({s.rows, s.cols}), y, 1e-6, 1e-6));
        // Column sums of y = x + bias: the CPU reference sums x, so add rows * bias back.
        Tensor want = db.clone();
        for (int64_t c = 0; c < s.cols; ++c) want.data<float>()[c] += float(s.rows) * bias.data<float>()[c];
        EXPECT_TRUE(test::all_close(gdb.tensor({s.cols}), want, 1e-5, 1e-5));
        EXPECT_TRUE(gy.check_canaries());
        EXPECT_TRUE(gdb.check_canaries());
      }
  });
}

TEST(Elementwise, RejectsMismatchedShapes) {
  Tensor a = Tensor::zeros({3}), b = Tensor::zeros({4}), out = Tensor::zeros({3});
  EXPECT_THROW(add(a, b, out), Error);
  EXPECT_THROW(mul(a, b, out), Error);
  Tensor x = Tensor::zeros({2, 3}), bias = Tensor::zeros({2});
  EXPECT_THROW(add_bias_rows(x, bias), Error);
}

TEST(GradCheckElementwise, AddMulScaleAndBias) {
  Tensor a = test::random_tensor({5, 7}, 7, -1, 1, DType::F64), b = test::random_tensor({5, 7}, 8, -1, 1, DType::F64);
  Tensor bias = test::random_tensor({7}, 9, -1, 1, DType::F64);
  {
    SCOPED_TRACE("add");
    AD_EXPECT_GRADCHECK(test::grad_check(
        {a, b}, {},
        [&] {
          Tensor out = Tensor::empty(a.shape(), DType::F64);
          add(a, b, out, 0.5, -1.5);
          return out;
        },
        [&](const Tensor& dy) {
          Tensor da = Tensor::empty(a.shape(), DType::F64), db = Tensor::empty(a.shape(), DType::F64);
          scale(dy, 0.5, da);
          scale(dy, -1.5, db);
          return std::vector<Tensor>{da, db};
        }));
  }
  {
    SCOPED_TRACE("mul");
    AD_EXPECT_GRADCHECK(test::grad_check(
        {a, b}, {},
        [&] {
          Tensor out = Tensor::empty(a.shape(), DType::F64);
          mul(a, b, out);
          return out;
        },
        [&](const Tensor& dy) {
          Tensor da = Tensor::empty(a.shape(), DType::F64), db = Tensor::empty(a.shape(), DType::F64);
          mul(dy, b, da);
          mul(dy, a, db);
          return std::vector<Tensor>{da, db};
        }));
  }
  {
    SCOPED_TRACE("add_bias_rows");
    AD_EXPECT_GRADCHECK(test::grad_check(
        {a, bias}, {},
        [&] {
          Tensor out = a.clone();
          add_bias_rows(out, bias);
          return out;
        },
        [&](const Tensor& dy) {
          Tensor db = Tensor::empty(bias.shape(), DType::F64);
          add_bias_rows_backward(dy, db);
          return std::vector<Tensor>{dy.clone(), db};
        }));
  }
}

TEST(GpuParityElementwise, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const int64_t rows = test::parity_size(1537, 337), cols = 301, n = rows * cols;
  Tensor a = test::random_tensor({rows, cols}, seed), b = test::random_tensor({rows, cols}, seed + 1);
  Tensor bias = test::random_tensor({cols}, seed + 2);
  Tensor ga = a.to(G), gb = b.to(G), gbias = bias.to(G);
  auto both = [&](auto&& f) {
    Tensor c = Tensor::empty({rows, cols}), g = Tensor::empty({rows, cols}, DType::F32, G);
    f(a, b, bias, c);
    f(ga, gb, gbias, g);
    return std::pair{g, c};
  };
  auto [g1, c1] = both([](const Tensor& x, const Tensor& y, const Tensor&, Tensor& o) { add(x, y, o, 0.3, 1.7); });
  EXPECT_TRUE(test::all_close(g1, c1, 1e-6, 1e-5));
  auto [g2, c2] = both([](const Tensor& x, const Tensor& y, const Tensor&, Tensor& o) { mul(x, y, o); });
  EXPECT_TRUE(test::all_close(g2, c2, 1e-6, 1e-5));
  auto [g3, c3] = both([](const Tensor& x, const Tensor&, const Tensor&, Tensor& o) { scale(x, -0.7, o); });
  EXPECT_TRUE(test::all_close(g3, c3, 1e-6, 1e-5));
  auto [g4, c4] = both([](const Tensor& x, const Tensor&, const Tensor& bi, Tensor& o) {
    o.copy_from(x);
    add_bias_rows(o, bi);
  });
  EXPECT_TRUE(test::all_close(g4, c4, 1e-6, 1e-5));
  Tensor db = Tensor::empty({cols}), gdb = Tensor::empty({cols}, DType::F32, G);
  add_bias_rows_backward(a, db);
  add_bias_rows_backward(ga, gdb);
  EXPECT_TRUE(test::all_close(gdb, db, 1e-3, 1e-4));
  Tensor gf = Tensor::empty({n}, DType::F32, G);
  fill(gf, 2.5);
  EXPECT_TRUE(test::all_close(gf, Tensor::full({n}, 2.5), 0, 0));
}
