#include <gtest/gtest.h>

#include "kernels/self_attention.cuh"
#include "layers/self_attention.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
struct Case {
  SelfAttentionDims n;
  Tensor H, W1, b1, W2, b2, dM;
};

Case make_case(SelfAttentionDims n, uint64_t seed, DType dtype = DType::F32, Device device = Device::CPU) {
  Case c{n, {}, {}, {}, {}, {}, {}};
  c.H = test::random_tensor({n.batch, n.time, n.hidden}, seed, -1, 1, dtype, device);
  c.W1 = test::random_tensor({n.attention, n.hidden}, seed + 1, -0.3, 0.3, dtype, device);
  c.b1 = test::random_tensor({n.attention}, seed + 2, -0.3, 0.3, dtype, device);
  c.W2 = test::random_tensor({n.heads, n.attention}, seed + 3, -0.5, 0.5, dtype, device);
  c.b2 = test::random_tensor({n.heads}, seed + 4, -0.5, 0.5, dtype, device);
  c.dM = test::random_tensor({n.batch, n.heads, n.hidden}, seed + 5, -1, 1, dtype, device);
  return c;
}

struct Outputs {
  Tensor U, attn, M, dH, dW1, db1, dW2, db2;
};

Outputs run_op(const Case& c) {
  const auto& n = c.n;
  const DType dt = c.H.dtype();
  const Device dev = c.H.device();
  Outputs o;
  o.U = Tensor::empty({n.batch, n.time, n.attention}, dt, dev);
  o.attn = Tensor::empty({n.batch, n.heads, n.time}, dt, dev);
  o.M = Tensor::empty({n.batch, n.heads, n.hidden}, dt, dev);
  self_attention_forward(c.H, c.W1, c.b1, c.W2, c.b2, o.U, o.attn, o.M);
  o.dH = Tensor::empty(c.H.shape(), dt, dev);
  // Parameter gradients start non-zero: backward must add, not overwrite.
  o.dW1 = Tensor::full(c.W1.shape(), 0.25, dt, dev);
  o.db1 = Tensor::full(c.b1.shape(), 0.25, dt, dev);
  o.dW2 = Tensor::full(c.W2.shape(), 0.25, dt, dev);
  o.db2 = Tensor::full(c.b2.shape(), 0.25, dt, dev);
  self_attention_backward(c.H, c.W1, c.W2, o.U, o.attn, c.dM, o.dH, o.dW1, o.db1, o.dW2, o.db2);
  return o;
}

// Shapes that are not multiples of the block (256), of the time tile (8) or of each other; GLEAD's own last.
const SelfAttentionDims kShapes[] = {
    {3, 13, 37, 41, 3}, {2, 1, 5, 7, 1}, {1, 9, 300, 7, 4}, {4, 8, 16, 260, 2}, {2, 20, 150, 300, 5}};
}  // namespace

TEST(EmulatedSelfAttention, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    for (const SelfAttentionDims& n : kShapes) {
      SCOPED_TRACE("B=" + std::to_string(n.batch) + " T=" + std::to_string(n.time) + " D=" + std::to_string(n.hidden) +
                   " A=" + std::to_string(n.attention) + " K=" + std::to_string(n.heads));
      Case c = make_case(n, 7);
      Outputs ref = run_op(c);

      test::GuardedBuffer H(c.H), W1(c.W1), b1(c.b1), W2(c.W2), b2(c.b2), dM(c.dM);
      test::GuardedBuffer U(size_t(ref.U.numel())), attn(size_t(ref.attn.numel())), M(size_t(ref.M.numel()));
      test::GuardedBuffer dH(size_t(c.H.numel())), dZ(size_t(n.batch * n.time * n.attention)),
          dS(size_t(n.batch * n.time * n.heads));
      EmulatedLauncher l;
      launch_self_attention_forward(l, n, H.data(), W1.data(), b1.data(), W2.data(), b2.data(), U.data(), attn.data(),
                                    M.data());
      EXPECT_TRUE(test::all_close(U.tensor(ref.U.shape()), ref.U, 1e-6, 1e-5));
      EXPECT_TRUE(test::all_close(attn.tensor(ref.attn.shape()), ref.attn, 1e-6, 1e-5));
      EXPECT_TRUE(test::all_close(M.tensor(ref.M.shape()), ref.M, 1e-6, 1e-5));
      launch_self_attention_backward(l, n, H.data(), W1.data(), W2.data(), U.data(), attn.data(), dM.data(), dH.data(),
                                     dZ.data(), dS.data());
      EXPECT_TRUE(test::all_close(dH.tensor(c.H.shape()), ref.dH, 1e-5, 1e-4));
      // The kernel leaves the parameter reductions to GEMMs; check the intermediates reproduce them.
      Tensor dW1 = Tensor::full(c.W1.shape(), 0.25), dW2 = Tensor::full(c.W2.shape(), 0.25);
      Tensor dZt = dZ.tensor({n.batch * n.time, n.attention}), dSt = dS.tensor({n.batch * n.time, n.heads});
      const int64_t rows = n.batch * n.time;
      for (int64_t a = 0; a < n.attention; ++a)
        for (int64_t d = 0; d < n.hidden; ++d) {
          double s = 0;
          for (int64_t r = 0; r < rows; ++r) s += double(dZt.data<float>()[r * n.attention + a]) * c.H.data<float>()[r * n.hidden + d];
          dW1.data<float>()[a * n.hidden + d] += float(s);
        }
      for (int64_t k = 0; k < n.heads; ++k)
        for (int64_t a = 0; a < n.attention; ++a) {
          double s = 0;
          for (int64_t r = 0; r < rows; ++r) s += double(dSt.data<float>()[r * n.heads + k]) * ref.U.data<float>()[r * n.attention + a];
          dW2.data<float>()[k * n.attention + a] += float(s);
        }
      EXPECT_TRUE(test::all_close(dW1, ref.dW1, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(dW2, ref.dW2, 1e-5, 1e-4));
      for (auto* g : {&U, &attn, &M, &dH, &dZ, &dS}) EXPECT_TRUE(g->check_canaries());
    }
  });
}

TEST(EmulatedSelfAttention, EmptyBatchLaunchesNothing) {
  test::for_each_schedule([&] {
    EmulatedLauncher l;
    launch_self_attention_forward(l, SelfAttentionDims{0, 4, 3, 2, 1}, nullptr, nullptr, nullptr, nullptr, nullptr,
                                  nullptr, nullptr, nullptr);
  });
}

TEST(SelfAttention, RejectsMismatchedShapes) {
  Case c = make_case({2, 3, 4, 5, 2}, 1);
  Tensor U = Tensor::empty({2, 3, 5}), attn = Tensor::empty({2, 2, 3}), M = Tensor::empty({2, 2, 5});
  EXPECT_TRUE(test::error_contains([&] { self_attention_forward(c.H, c.W1, c.b1, c.W2, c.b2, U, attn, M); }, "M must be"));
  Tensor W1bad = Tensor::zeros({5, 3});
  M = Tensor::empty({2, 2, 4});
  EXPECT_TRUE(test::error_contains([&] { self_attention_forward(c.H, W1bad, c.b1, c.W2, c.b2, U, attn, M); }, "W1 must be"));
}

TEST(GradCheckSelfAttention, LayerBackwardMatchesDifferences) {
  for (SelfAttentionDims n : {SelfAttentionDims{3, 5, 4, 6, 2}, SelfAttentionDims{2, 1, 3, 2, 3}}) {
    SelfAttention layer("att", n.hidden, n.attention, n.heads, 5, Device::CPU, DType::F64);
    Tensor H = test::random_tensor({n.batch, n.time, n.hidden}, 9, -1, 1, DType::F64);
    AD_EXPECT_GRADCHECK(test::grad_check(
        {H}, layer.parameters(), [&] { return layer.forward(H); },
        [&](const Tensor& dM) { return std::vector<Tensor>{layer.backward(dM)}; }));
  }
}

TEST(GpuParitySelfAttention, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  // A smaller first window on the emulated device, which runs one fiber per GPU thread.
  const SelfAttentionDims large = cuda_available() ? SelfAttentionDims{61, 20, 150, 300, 5}
                                                   : SelfAttentionDims{5, 20, 150, 300, 5};
  for (const SelfAttentionDims& n : {large, SelfAttentionDims{7, 13, 37, 41, 3}}) {
    Case c = make_case(n, seed);
    Outputs ref = run_op(c);
    Case g = c;
    for (Tensor* t : {&g.H, &g.W1, &g.b1, &g.W2, &g.b2, &g.dM}) *t = t->to(G);
    Outputs got = run_op(g);
    EXPECT_TRUE(test::all_close(got.attn, ref.attn, 1e-6, 1e-4));
    EXPECT_TRUE(test::all_close(got.M, ref.M, 1e-5, 1e-4));
    EXPECT_TRUE(test::all_close(got.dH, ref.dH, 1e-5, 1e-4));
    EXPECT_TRUE(test::all_close(got.dW1, ref.dW1, 1e-4, 1e-4));
    EXPECT_TRUE(test::all_close(got.db1, ref.db1, 1e-4, 1e-4));
    EXPECT_TRUE(test::all_close(got.dW2, ref.dW2, 1e-4, 1e-4));
    EXPECT_TRUE(test::all_close(got.db2, ref.db2, 1e-4, 1e-4));
  }
}
