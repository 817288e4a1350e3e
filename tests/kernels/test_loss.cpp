#include <gtest/gtest.h>

#include <cmath>

#include "kernels/loss.cuh"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
const LossKind kKinds[] = {LossKind::MSE, LossKind::BCEWithLogits, LossKind::GaussianNLL, LossKind::KLStdNormal};
const Reduction kReductions[] = {Reduction::None, Reduction::Mean, Reduction::Sum};

const char* kind_name(LossKind k) {
  switch (k) {
    case LossKind::MSE: return "mse";
    case LossKind::BCEWithLogits: return "bce_with_logits";
    case LossKind::GaussianNLL: return "gaussian_nll";
    case LossKind::KLStdNormal: return "kl_std_normal";
  }
  return "?";
}
const char* reduction_name(Reduction r) { return r == Reduction::None ? "none" : r == Reduction::Mean ? "mean" : "sum"; }
bool has_c(LossKind k) { return k == LossKind::GaussianNLL; }

// Inputs in each loss's domain: BCE targets in [0, 1], log-std / log-variance in [-1.5, 1.5].
struct Inputs {
  Tensor a, b, c;
};
Inputs make_inputs(LossKind k, const Shape& s, uint64_t seed, DType dt = DType::F32, Device dev = Device::CPU) {
  Inputs in;
  in.a = test::random_tensor(s, seed, k == LossKind::BCEWithLogits ? -8 : -2, k == LossKind::BCEWithLogits ? 8 : 2, dt, dev);
  in.b = k == LossKind::BCEWithLogits ? test::random_tensor(s, seed + 1, 0, 1, dt, dev)
         : k == LossKind::KLStdNormal ? test::random_tensor(s, seed + 1, -1.5, 1.5, dt, dev)
                                      : test::random_tensor(s, seed + 1, -2, 2, dt, dev);
  if (has_c(k)) in.c = test::random_tensor(s, seed + 2, -1.5, 1.5, dt, dev);
  return in;
}

// The public front-end for one loss.
void loss(LossKind k, const Inputs& in, Tensor& out, Reduction r, bool constant = false) {
  switch (k) {
    case LossKind::MSE: mse_loss(in.a, in.b, out, r); break;
    case LossKind::BCEWithLogits: bce_with_logits_loss(in.a, in.b, out, r); break;
    case LossKind::GaussianNLL: gaussian_nll_loss(in.a, in.b, in.c, out, r, constant); break;
    case LossKind::KLStdNormal: kl_std_normal_loss(in.a, in.b, out, r); break;
  }
}
std::vector<Tensor> loss_backward(LossKind k, const Inputs& in, const Tensor& dout, Reduction r) {
  Tensor da = Tensor::empty(in.a.shape(), in.a.dtype(), in.a.device());
  Tensor db = Tensor::empty(in.a.shape(), in.a.dtype(), in.a.device());
  Tensor dc = Tensor::empty(in.a.shape(), in.a.dtype(), in.a.device());
  switch (k) {
    case LossKind::MSE: mse_loss_backward(in.a, in.b, dout, &da, &db, r); return {da, db};
    case LossKind::BCEWithLogits: bce_with_logits_loss_backward(in.a, in.b, dout, &da, &db, r); return {da, db};
    case LossKind::GaussianNLL: gaussian_nll_loss_backward(in.a, in.b, in.c, dout, &da, &db, &dc, r); return {da, db, dc};
    case LossKind::KLStdNormal: kl_std_normal_loss_backward(in.a, in.b, dout, &da, &db, r); return {da, db};
  }
  return {};
}
Shape out_shape(const Inputs& in, Reduction r) { return r == Reduction::None ? in.a.shape() : Shape{1}; }
}  // namespace

TEST(EmulatedLoss, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    for (LossKind k : kKinds)
      for (Reduction r : kReductions)
        for (int64_t n : {0, 1, 255, 257, 3001}) {
          if (n == 0 && r == Reduction::None) continue;  // nothing to compare
          SCOPED_TRACE(std::string(kind_name(k)) + " " + reduction_name(r) + " n=" + std::to_string(n));
          Inputs in = make_inputs(k, {n}, 10);
          Shape os = out_shape(in, r);
          Tensor out = Tensor::empty(os);
          loss(k, in, out, r, true);
          Tensor dout = test::random_tensor(os, 20);
          std::vector<Tensor> want = loss_backward(k, in, dout, r);

          const bool cflag = has_c(k);
          test::GuardedBuffer ga(in.a), gb(in.b), gc(cflag ? in.c : Tensor::empty({0}));
          test::GuardedBuffer gout{size_t(os.numel())}, gpartial{sum_all_blocks(n)}, gdout(dout);
          test::GuardedBuffer gda{size_t(n)}, gdb{size_t(n)}, gdc{size_t(n)};
          const float param = k == LossKind::GaussianNLL ? 0.5f * std::log(2.f * float(M_PI)) : 0.f;
          float gscale = r == Reduction::Mean ? (n ? 1.f / float(n) : 0.f) : 1.f;
          EmulatedLauncher l;
          launch_loss_forward(l, k, ga.data(), gb.data(), cflag ? gc.data() : nullptr, gout.data(), gpartial.data(), n,
                              param, r);
          launch_loss_backward(l, k, ga.data(), gb.data(), cflag ? gc.data() : nullptr, gdout.data(), r != Reduction::None,
                               gscale, gda.data(), gdb.data(), cflag ? gdc.data() : nullptr, n);
          double tol = r == Reduction::Sum ? 1e-3 : 1e-5;
          EXPECT_TRUE(test::all_close(gout.tensor(os), out, tol, 1e-5));
          EXPECT_TRUE(test::all_close(gda.tensor({n}), want[0], 1e-6, 1e-5));
          EXPECT_TRUE(test::all_close(gdb.tensor({n}), want[1], 1e-6, 1e-5));
          if (cflag) EXPECT_TRUE(test::all_close(gdc.tensor({n}), want[2], 1e-6, 1e-5));
          for (auto* g : {&gout, &gpartial, &gda, &gdb, &gdc}) EXPECT_TRUE(g->check_canaries());
        }
  });
}

TEST(EmulatedLoss, SkipsGradientsNotAsked) {
  test::for_each_schedule([&] {
    const int64_t n = 300;
    Inputs in = make_inputs(LossKind::GaussianNLL, {n}, 30);
    Tensor dout = test::random_tensor({n}, 31);
    std::vector<Tensor> want = loss_backward(LossKind::GaussianNLL, in, dout, Reduction::None);
    test::GuardedBuffer ga(in.a), gb(in.b), gc(in.c), gdout(dout), gdc{size_t(n)};
    EmulatedLauncher l;
    launch_loss_backward(l, LossKind::GaussianNLL, ga.data(), gb.data(), gc.data(), gdout.data(), false, 1.f, nullptr,
                         nullptr, gdc.data(), n);
    EXPECT_TRUE(test::all_close(gdc.tensor({n}), want[2], 1e-6, 1e-5));
    EXPECT_TRUE(gdc.check_canaries());
  });
}

TEST(Loss, KnownValuesAndStability) {
  Tensor out = Tensor::empty({1});
  Tensor z = Tensor::from_vector({100, -100, 0}, {3}), y = Tensor::from_vector({0, 1, 1}, {3});
  bce_with_logits_loss(z, y, out, Reduction::Sum);
  EXPECT_NEAR(out.item(), 200 + std::log(2.0), 1e-4);  // no overflow at |z| = 100
  Tensor x = Tensor::from_vector({1, 2}, {2}), mu = Tensor::from_vector({1, 0}, {2}), s = Tensor::from_vector({0, std::log(2.0)}, {2});
  Tensor per = Tensor::empty({2});
  gaussian_nll_loss(x, mu, s, per, Reduction::None, true);
  EXPECT_NEAR(per.to_vector()[0], 0.5 * std::log(2 * M_PI), 1e-6);
  EXPECT_NEAR(per.to_vector()[1], 0.5 + std::log(2.0) + 0.5 * std::log(2 * M_PI), 1e-6);
  Tensor m0 = Tensor::zeros({4}), lv0 = Tensor::zeros({4});
  kl_std_normal_loss(m0, lv0, out, Reduction::Sum);
  EXPECT_NEAR(out.item(), 0, 1e-7);
  mse_loss(Tensor::from_vector({1, 2}, {2}), Tensor::from_vector({0, 0}, {2}), out);
  EXPECT_NEAR(out.item(), 2.5, 1e-7);
  EXPECT_THROW(mse_loss(Tensor::zeros({2}), Tensor::zeros({3}), out), Error);
  EXPECT_THROW(mse_loss(Tensor::zeros({2}), Tensor::zeros({2}), per, Reduction::Mean), Error);
}

TEST(GradCheckLoss, AllLossesAllReductionsAllInputs) {
  for (LossKind k : kKinds)
    for (Reduction r : kReductions) {
      SCOPED_TRACE(std::string(kind_name(k)) + " " + reduction_name(r));
      Inputs in = make_inputs(k, {6, 5}, 40, DType::F64);
      std::vector<Tensor> inputs{in.a, in.b};
      if (has_c(k)) inputs.push_back(in.c);
      AD_EXPECT_GRADCHECK(test::grad_check(
          inputs, {},
          [&] {
            Tensor out = Tensor::empty(out_shape(in, r), DType::F64);
            loss(k, in, out, r, true);
            return out;
          },
          [&](const Tensor& dout) { return loss_backward(k, in, dout, r); }));
    }
}

TEST(GpuParityLoss, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (LossKind k : kKinds)
    for (Reduction r : kReductions) {
      SCOPED_TRACE(std::string(kind_name(k)) + " " + reduction_name(r));
      Inputs in = make_inputs(k, {1001, 37}, seed);  // DC-VAE-like [B*T, M]
      Inputs gin{in.a.to(G), in.b.to(G), has_c(k) ? in.c.to(G) : Tensor()};
      Shape os = out_shape(in, r);
      Tensor out = Tensor::empty(os), gout = Tensor::empty(os, DType::F32, G);
      loss(k, in, out, r, true);
      loss(k, gin, gout, r, true);
      EXPECT_TRUE(test::all_close(gout, out, r == Reduction::Sum ? 1e-1 : 1e-5, 1e-4));
      Tensor dout = test::random_tensor(os, seed + 5);
      auto want = loss_backward(k, in, dout, r);
      auto got = loss_backward(k, gin, dout.to(G), r);
      for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(test::all_close(got[i], want[i], 1e-6, 1e-4)) << "input " << i;
    }
}
