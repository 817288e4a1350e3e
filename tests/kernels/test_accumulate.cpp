#include <gtest/gtest.h>

#include <vector>

#include "kernels/accumulate.cuh"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
// What a training loop did before: read each step's terms to the host and sum them there.
std::vector<double> host_loop(const std::vector<Tensor>& steps, double scale, bool with_total) {
  const size_t n = size_t(steps[0].numel());
  std::vector<double> acc(n + (with_total ? 1 : 0), 0.0);
  for (const Tensor& x : steps) {
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      double t = x.to_vector()[i] * scale;
      acc[i] += t;
      total += t;
    }
    if (with_total) acc[n] += total;
  }
  return acc;
}
}  // namespace

TEST(Accumulate, CpuReferenceGivesTheHostLoopsBits) {
  for (bool with_total : {false, true})
    for (int64_t n : {1, 2, 5}) {
      std::vector<Tensor> steps;
      for (int s = 0; s < 7; ++s) steps.push_back(test::random_tensor({n}, 40 + s, -3, 3));
      Tensor acc = Tensor::zeros({n + (with_total ? 1 : 0)}, DType::F64);
      for (const Tensor& x : steps) accumulate_terms(x, 0.37, acc, with_total);
      EXPECT_EQ(acc.to_vector(), host_loop(steps, 0.37, with_total)) << "n " << n << " total " << with_total;
    }
}

TEST(Accumulate, RefusesAMismatchedAccumulator) {
  Tensor x = Tensor::zeros({2}), acc32 = Tensor::zeros({3}), acc = Tensor::zeros({2}, DType::F64);
  EXPECT_TRUE(test::error_contains([&] { accumulate_terms(x, 1.0, acc32, true); }, "expected f64"));
  EXPECT_TRUE(test::error_contains([&] { accumulate_terms(x, 1.0, acc, true); }, "and their total"));
}

TEST(EmulatedAccumulate, MatchesCpuReferenceBitwise) {
  test::for_each_schedule([&] {
    for (bool with_total : {false, true})
      for (int64_t n : {1, 3, 33}) {  // 33: more terms than the block has threads
        SCOPED_TRACE("n " + std::to_string(n) + " total " + std::to_string(with_total));
        const int64_t m = n + (with_total ? 1 : 0);
        Tensor ref = Tensor::zeros({m}, DType::F64);
        std::vector<double> acc(size_t(m), 0.0);
        test::RegisteredMemory reg(acc.data(), acc.size() * sizeof(double), "acc");
        EmulatedLauncher l;
        for (int s = 0; s < 4; ++s) {
          Tensor x = test::random_tensor({n}, 60 + s, -2, 2);
          test::GuardedBuffer gx(x);
          accumulate_terms(x, -1.5, ref, with_total);
          launch_accumulate_terms(l, gx.data(), n, -1.5, acc.data(), with_total);
          EXPECT_TRUE(gx.check_canaries());
        }
        EXPECT_EQ(acc, ref.to_vector());
      }
  });
}

TEST(GpuParityAccumulate, MatchesCpuReferenceBitwise) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Tensor ref = Tensor::zeros({4}, DType::F64), acc = Tensor::zeros({4}, DType::F64, G);
  for (int s = 0; s < 10; ++s) {
    Tensor x = test::random_tensor({3}, seed + uint64_t(s), -5, 5);
    accumulate_terms(x, 0.01, ref, true);
    accumulate_terms(x.to(G), 0.01, acc, true);
  }
  EXPECT_EQ(acc.to_vector(), ref.to_vector());  // one thread, products rounded alone: the host's bits
}
