#include <gtest/gtest.h>

#include "kernels/reduce.cuh"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
struct RC {
  int64_t rows, cols;
};
// 1 element; column counts that are not multiples of 32 or of the row block; rows longer than one block
// of 256 threads; zero rows or zero columns.
const RC kShapes[] = {{1, 1}, {3, 33}, {17, 5}, {2, 257}, {5, 600}, {300, 3}, {1500, 2}, {0, 4}, {4, 0}};
}  // namespace

TEST(EmulatedReduce, SumAxisAndBroadcastMatchCpuReference) {
  test::for_each_schedule([&] {
    for (const RC& s : kShapes)
      for (int axis : {0, 1}) {
        SCOPED_TRACE("rows=" + std::to_string(s.rows) + " cols=" + std::to_string(s.cols) + " axis=" +
                     std::to_string(axis));
        int64_t m = axis == 0 ? s.cols : s.rows;
        Tensor x = test::random_tensor({s.rows, s.cols}, 1), dout = test::random_tensor({m}, 2);
        Tensor out = Tensor::empty({m}), dx = Tensor::empty({s.rows, s.cols});
        sum_axis(x, axis, out, 0.5);
        sum_axis_backward(dout, axis, dx, 0.5);

        test::GuardedBuffer gx(x), gout{size_t(m)}, gdout(dout), gdx{size_t(s.rows * s.cols)};
        EmulatedLauncher l;
        test::GuardedBuffer partial{size_t(column_sum_workspace(s.rows, s.cols))};
        launch_sum_axis(l, gx.data(), gout.data(), partial.data(), s.rows, s.cols, axis, 0.5f);
        launch_broadcast(l, gdout.data(), gdx.data(), s.rows, s.cols, axis, 0.5f);
        EXPECT_TRUE(test::all_close(gout.tensor({m}), out, 1e-5, 1e-5));
        EXPECT_TRUE(test::all_close(gdx.tensor({s.rows, s.cols}), dx, 0, 0));
        EXPECT_TRUE(gout.check_canaries());
        EXPECT_TRUE(gdx.check_canaries());
      }
  });
}

TEST(EmulatedReduce, TotalSumAndSumOfSquaresMatchCpuReference) {
  test::for_each_schedule([&] {
    // 0 (the sum of nothing is 0), 1, one block, not a multiple of 256, several blocks.
    for (int64_t n : {0, 1, 255, 257, 3001})
      for (bool square : {false, true}) {
        SCOPED_TRACE("n=" + std::to_string(n) + " square=" + std::to_string(square));
        Tensor x = test::random_tensor({n}, 3);
        Tensor want = Tensor::empty({1});
        if (square) sum_squares(x, want);
        else mean_all(x, want);
        float scale = square || n == 0 ? 1.f : 1.f / float(n);

        test::GuardedBuffer gx(x), partial{sum_all_blocks(n)}, out{1};
        EmulatedLauncher l;
        launch_sum_all(l, gx.data(), partial.data(), out.data(), n, square, scale);
        EXPECT_TRUE(test::all_close(out.tensor({1}), want, 1e-5, 1e-5));
        EXPECT_TRUE(partial.check_canaries());
        EXPECT_TRUE(out.check_canaries());
      }
  });
}

TEST(Reduce, KnownValues) {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor cols = Tensor::empty({3}), rows = Tensor::empty({2}), s = Tensor::empty({1}), m = Tensor::empty({1});
  sum_axis(x, 0, cols);
  sum_axis(x, 1, rows);
  sum_all(x, s);
  mean_all(x, m);
  EXPECT_EQ(cols.to_vector(), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(rows.to_vector(), (std::vector<double>{6, 15}));
  EXPECT_EQ(s.item(), 21);
  EXPECT_EQ(m.item(), 3.5);
  Tensor empty = Tensor::empty({0, 3});
  mean_all(empty, m);
  EXPECT_EQ(m.item(), 0);
  EXPECT_THROW(sum_axis(x, 0, rows), Error);
  EXPECT_THROW(sum_axis(x, 2, rows), Error);
}

TEST(GradCheckReduce, SumAxisSumAllMean) {
  Tensor x = test::random_tensor({6, 5}, 4, -1, 1, DType::F64);
  for (int axis : {0, 1}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    int64_t m = axis == 0 ? 5 : 6;
    AD_EXPECT_GRADCHECK(test::grad_check(
        {x}, {},
        [&] {
          Tensor out = Tensor::empty({m}, DType::F64);
          sum_axis(x, axis, out, 0.25);
          return out;
        },
        [&](const Tensor& dy) {
          Tensor dx = Tensor::empty(x.shape(), DType::F64);
          sum_axis_backward(dy, axis, dx, 0.25);
          return std::vector<Tensor>{dx};
        }));
  }
  for (bool mean : {false, true}) {
    SCOPED_TRACE(mean ? "mean_all" : "sum_all");
    AD_EXPECT_GRADCHECK(test::grad_check(
        {x}, {},
        [&] {
          Tensor out = Tensor::empty({1}, DType::F64);
          mean ? mean_all(x, out) : sum_all(x, out);
          return out;
        },
        [&](const Tensor& dy) {
          Tensor dx = Tensor::empty(x.shape(), DType::F64);
          mean ? mean_all_backward(dy, dx) : sum_all_backward(dy, dx);
          return std::vector<Tensor>{dx};
        }));
  }
}

TEST(GpuParityReduce, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  // Smaller (still awkward) shapes on the emulated device, which runs one fiber per GPU thread.
  const std::vector<RC> shapes =
      cuda_available() ? std::vector<RC>{{1, 1}, {1000, 37}, {37, 1000}, {4097, 513}, {1 << 20, 8}, {0, 5}}
                       : std::vector<RC>{{1, 1}, {301, 37}, {37, 515}, {515, 129}, {4099, 3}, {0, 5}};
  for (const RC& s : shapes) {
    Tensor x = test::random_tensor({s.rows, s.cols}, seed), gx = x.to(G);
    for (int axis : {0, 1}) {
      int64_t m = axis == 0 ? s.cols : s.rows;
      Tensor out = Tensor::empty({m}), gout = Tensor::empty({m}, DType::F32, G);
      sum_axis(x, axis, out);
      sum_axis(gx, axis, gout);
      EXPECT_TRUE(test::all_close(gout, out, 1e-3, 1e-4)) << s.rows << "x" << s.cols << " axis " << axis;
      Tensor dx = Tensor::empty({s.rows, s.cols}), gdx = Tensor::empty({s.rows, s.cols}, DType::F32, G);
      sum_axis_backward(out, axis, dx);
      sum_axis_backward(out.to(G), axis, gdx);
      EXPECT_TRUE(test::all_close(gdx, dx, 0, 0));
    }
    Tensor a = Tensor::empty({1}), ga = Tensor::empty({1}, DType::F32, G);
    sum_all(x, a);
    sum_all(gx, ga);
    EXPECT_TRUE(test::all_close(ga, a, 1e-2, 1e-4));
    mean_all(x, a);
    mean_all(gx, ga);
    EXPECT_TRUE(test::all_close(ga, a, 1e-5, 1e-4));
    sum_squares(x, a);
    sum_squares(gx, ga);
    EXPECT_TRUE(test::all_close(ga, a, 1e-2, 1e-4));
  }
}
