#include <gtest/gtest.h>

#include <cmath>

#include "kernels/softmax.cuh"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
struct RC {
  int64_t rows, cols;
};
// One element; rows shorter than the 32-thread minimum block; longer than the 256-thread block and not
// a multiple of it; many rows; zero rows.
const RC kShapes[] = {{1, 1}, {3, 7}, {2, 33}, {4, 257}, {2, 700}, {65, 10}, {0, 5}};
}  // namespace

namespace {
// The emulated forward and backward kernels against the CPU reference on logits x [rows, cols].
void check_emulated_softmax(const Tensor& x, const Tensor& dy) {
  const int64_t rows = x.shape()[0], cols = x.shape()[1], n = rows * cols;
  SCOPED_TRACE("rows=" + std::to_string(rows) + " cols=" + std::to_string(cols));
  Tensor y = Tensor::empty(x.shape()), dx = Tensor::empty(x.shape());
  softmax_forward(x, y);
  softmax_backward(y, dy, dx);
  test::GuardedBuffer gx(x), gy{size_t(n)}, gdy(dy), gdx{size_t(n)};
  EmulatedLauncher l;
  launch_softmax_forward(l, gx.data(), gy.data(), rows, cols);
  launch_softmax_backward(l, gy.data(), gdy.data(), gdx.data(), rows, cols);
  EXPECT_TRUE(test::all_close(gy.tensor(x.shape()), y, 1e-6, 1e-5));
  EXPECT_TRUE(test::all_close(gdx.tensor(x.shape()), dx, 1e-6, 1e-5));
  EXPECT_TRUE(gy.check_canaries());
  EXPECT_TRUE(gdx.check_canaries());
}
}  // namespace

TEST(EmulatedSoftmax, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    for (const RC& s : kShapes)  // large logits: without the max subtraction exp overflows in f32
      check_emulated_softmax(test::random_tensor({s.rows, s.cols}, 1, -60, 100),
                             test::random_tensor({s.rows, s.cols}, 2));
  });
}

// Rows where a class of mistakes hides: all logits very negative (exp underflows to 0 without the max
// subtraction: 0/0), one element per row, rows of one repeated value, and empty rows (nothing to write).
TEST(EmulatedSoftmax, VeryNegativeSingleAndEmptyRows) {
  test::for_each_schedule([&] {
    for (const RC& s : {RC{3, 40}, RC{5, 1}, RC{2, 300}, RC{4, 0}}) {
      Tensor x = test::random_tensor({s.rows, s.cols}, 5, -1.0e4, -0.9e4);
      if (s.rows > 1 && s.cols > 0)  // the last row: one value repeated
        for (int64_t c = 0; c < s.cols; ++c) x.data<float>()[(s.rows - 1) * s.cols + c] = -5.0e3f;
      check_emulated_softmax(x, test::random_tensor({s.rows, s.cols}, 6));
    }
  });
}

TEST(EmulatedSoftmax, InPlaceBackward) {
  test::for_each_schedule([&] {
    const int64_t rows = 3, cols = 300;
    Tensor x = test::random_tensor({rows, cols}, 3), dy = test::random_tensor({rows, cols}, 4);
    Tensor y = Tensor::empty(x.shape()), dx = Tensor::empty(x.shape());
    softmax_forward(x, y);
    softmax_backward(y, dy, dx);
    test::GuardedBuffer gy(y), gd(dy);
    EmulatedLauncher l;
    launch_softmax_backward(l, gy.data(), gd.data(), gd.data(), rows, cols);
    EXPECT_TRUE(test::all_close(gd.tensor(x.shape()), dx, 1e-6, 1e-5));
  });
}

TEST(Softmax, RowsSumToOneAndKnownValues) {
  Tensor x = Tensor::from_vector({0, std::log(3.0), 1000, 1000}, {2, 2});
  Tensor y = Tensor::empty(x.shape());
  softmax_forward(x, y);
  auto v = y.to_vector();
  EXPECT_NEAR(v[0], 0.25, 1e-7);
  EXPECT_NEAR(v[1], 0.75, 1e-7);
  EXPECT_NEAR(v[2], 0.5, 1e-7);
  EXPECT_NEAR(v[3], 0.5, 1e-7);
}

TEST(GradCheckSoftmax, Backward) {
  for (const RC& s : {RC{1, 1}, RC{4, 9}, RC{2, 40}}) {
    Tensor x = test::random_tensor({s.rows, s.cols}, 5, -3, 3, DType::F64);
    Tensor y;
    AD_EXPECT_GRADCHECK(test::grad_check(
        {x}, {},
        [&] {
          y = Tensor::empty(x.shape(), DType::F64);
          softmax_forward(x, y);
          return y;
        },
        [&](const Tensor& dy) {
          Tensor dx = Tensor::empty(x.shape(), DType::F64);
          softmax_backward(y, dy, dx);
          return std::vector<Tensor>{dx};
        }));
  }
}

TEST(GpuParitySoftmax, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  // Smaller (still awkward) shapes on the emulated device, which runs one fiber per GPU thread.
  const std::vector<RC> shapes = cuda_available()
                                     ? std::vector<RC>{{1, 1}, {1000, 37}, {64, 5000}, {5000, 256}, {0, 3}}
                                     : std::vector<RC>{{1, 1}, {301, 37}, {5, 3001}, {203, 256}, {0, 3}};
  for (const RC& s : shapes) {
    Tensor x = test::random_tensor({s.rows, s.cols}, seed, -10, 10), dy = test::random_tensor({s.rows, s.cols}, seed + 1);
    Tensor y = Tensor::empty(x.shape()), dx = Tensor::empty(x.shape());
    softmax_forward(x, y);
    softmax_backward(y, dy, dx);
    Tensor gx = x.to(G), gdy = dy.to(G);
    Tensor gy = Tensor::empty(x.shape(), DType::F32, G), gdx = Tensor::empty(x.shape(), DType::F32, G);
    softmax_forward(gx, gy);
    softmax_backward(gy, gdy, gdx);
    EXPECT_TRUE(test::all_close(gy, y, 1e-6, 1e-4)) << s.rows << "x" << s.cols;
    EXPECT_TRUE(test::all_close(gdx, dx, 1e-6, 1e-4)) << s.rows << "x" << s.cols;
  }
}
