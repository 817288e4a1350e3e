#include <gtest/gtest.h>

#include <cmath>

#include "kernels/activation.cuh"
#include "kernels/fast_math.h"
#include "layers/activation_layer.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
const Activation kAll[] = {Activation::Identity, Activation::ReLU, Activation::LeakyReLU, Activation::ELU,
                           Activation::Tanh, Activation::Sigmoid, Activation::Softplus};
// Non-default parameters: an ELU alpha of 1 would hide a kernel that ignores alpha (or mixes it up with
// the slope), a slope of 0.2 one that ignores the slope.
float param_for(Activation a) {
  return a == Activation::LeakyReLU ? 0.2f : a == Activation::ELU ? 0.7f : 1.0f;
}
}  // namespace

TEST(EmulatedActivation, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    for (Activation a : kAll)
      for (int64_t n : {1, 255, 257, 1031}) {
        SCOPED_TRACE(std::string(activation_name(a)) + " n=" + std::to_string(n));
        Tensor x = test::random_tensor({n}, 11, -3, 3), dy = test::random_tensor({n}, 12);
        Tensor y = Tensor::empty({n}), dx = Tensor::empty({n});
        activation_forward(a, x, y, param_for(a));
        activation_backward(a, x, y, dy, dx, param_for(a));

        test::GuardedBuffer gx(x), gy{size_t(n)}, gdy(dy), gdx{size_t(n)};
        EmulatedLauncher l;
        launch_activation_forward(l, a, gx.data(), gy.data(), n, param_for(a));
        launch_activation_backward(l, a, gx.data(), gy.data(), gdy.data(), gdx.data(), n, param_for(a));
        EXPECT_TRUE(test::all_close(gy.tensor({n}), y, 1e-6, 1e-5));
        EXPECT_TRUE(test::all_close(gdx.tensor({n}), dx, 1e-6, 1e-5));
        EXPECT_TRUE(gy.check_canaries());
        EXPECT_TRUE(gdx.check_canaries());
      }
  });
}

TEST(EmulatedActivation, EmptyInputLaunchesNothing) {
  test::for_each_schedule([&] {
    EmulatedLauncher l;
    launch_activation_forward(l, Activation::ReLU, nullptr, nullptr, 0, 0.f);
  });
}

TEST(GradCheckActivation, AllActivations) {
  for (Activation a : kAll) {
    SCOPED_TRACE(activation_name(a));
    // Keep inputs away from the kinks of ReLU/LeakyReLU/ELU at 0, where differences are not derivatives.
    Tensor x = test::random_tensor({4, 9}, 3, 0.1, 2.0, DType::F64);
    for (int64_t i = 0; i < x.numel(); i += 2) x.data<double>()[i] *= -1;
    ActivationLayer layer(a, param_for(a));
    AD_EXPECT_GRADCHECK(test::grad_check(
        {x}, {}, [&] { return layer.forward(x); }, [&](const Tensor& dy) { return std::vector<Tensor>{layer.backward(dy)}; }));
  }
}

TEST(GradCheck, CatchesAWrongBackward) {
  // Planted bug: tanh's backward written as 1 - y instead of 1 - y^2.
  Tensor x = test::random_tensor({3, 5}, 4, -1, 1, DType::F64);
  Tensor y;
  auto forward = [&] {
    y = Tensor::empty(x.shape(), DType::F64);
    activation_forward(Activation::Tanh, x, y);
    return y;
  };
  auto wrong_backward = [&](const Tensor& dy) {
    Tensor dx = Tensor::empty(x.shape(), DType::F64);
    for (int64_t i = 0; i < x.numel(); ++i) dx.data<double>()[i] = dy.data<double>()[i] * (1 - y.data<double>()[i]);
    return std::vector<Tensor>{dx};
  };
  auto rep = test::grad_check({x}, {}, forward, wrong_backward);
  EXPECT_FALSE(rep.ok);
  EXPECT_GT(rep.max_error, 1e-2);
}

TEST(GpuParityActivation, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (Activation a : kAll) {
    const int64_t n = test::parity_size(100003, 30011);
    Tensor x = test::random_tensor({n}, seed, -4, 4), dy = test::random_tensor({n}, seed + 1);
    Tensor y = Tensor::empty({n}), dx = Tensor::empty({n});
    activation_forward(a, x, y, param_for(a));
    activation_backward(a, x, y, dy, dx, param_for(a));
    Tensor gx = x.to(G), gdy = dy.to(G);
    Tensor gy = Tensor::empty({n}, DType::F32, G), gdx = Tensor::empty({n}, DType::F32, G);
    activation_forward(a, gx, gy, param_for(a));
    activation_backward(a, gx, gy, gdy, gdx, param_for(a));
    EXPECT_TRUE(test::all_close(gy, y, 1e-6, 1e-5)) << activation_name(a);
    EXPECT_TRUE(test::all_close(gdx, dx, 1e-6, 1e-5)) << activation_name(a);
  }
}

namespace ad {
namespace {

// fast_expf (the f32 CPU exp) against libm's double exp over its whole range.
TEST(FastMath, ExpRelativeErrorWithinFourUlp) {
  double worst = 0;
  for (int i = 0; i <= 200000; ++i) {
    const float x = -87.0f + 175.0f * float(i) / 200000.0f;
    const double want = std::exp(double(x));
    worst = std::max(worst, std::abs(double(fast_expf(x)) - want) / want);
  }
  EXPECT_LT(worst, 4.8e-7) << "max relative error";
  RecordProperty("max_relative_error_x1e9", std::to_string(int64_t(worst * 1e9)));
  EXPECT_EQ(fast_expf(0.0f), 1.0f);
  EXPECT_GT(fast_expf(-1000.0f), 0.0f);  // clamped, not 0 or NaN
  EXPECT_TRUE(std::isfinite(fast_expf(1000.0f)));
}

// The f32 activations (fast exp) against the f64 ones (libm), including saturating inputs.
TEST(FastMath, F32ActivationsMatchF64AcrossRange) {
  std::vector<double> xs;
  for (int i = 0; i <= 4000; ++i) xs.push_back(-40.0 + 80.0 * i / 4000.0);
  xs.insert(xs.end(), {-1e-7, 1e-7, -1e-3, 1e-3, 0.0});
  const int64_t n = int64_t(xs.size());
  Tensor x64 = Tensor::from_vector(xs, {n}, DType::F64), x32 = x64.to_dtype(DType::F32);
  Tensor dy64 = Tensor::full({n}, 1.0, DType::F64), dy32 = Tensor::full({n}, 1.0);
  for (Activation a : {Activation::ELU, Activation::Tanh, Activation::Sigmoid}) {
    SCOPED_TRACE(activation_name(a));
    Tensor y64 = Tensor::empty({n}, DType::F64), y32 = Tensor::empty({n});
    Tensor d64 = Tensor::empty({n}, DType::F64), d32 = Tensor::empty({n});
    activation_forward(a, x64, y64, 1.0);
    activation_forward(a, x32, y32, 1.0);
    activation_backward(a, x64, y64, dy64, d64, 1.0);
    activation_backward(a, x32, y32, dy32, d32, 1.0);
    EXPECT_TRUE(test::all_close(y32, y64.to_dtype(DType::F32), 2e-7, 1e-6));
    EXPECT_TRUE(test::all_close(d32, d64.to_dtype(DType::F32), 2e-7, 1e-6));
  }
}

}  // namespace
}  // namespace ad
