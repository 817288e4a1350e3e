#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "kernels/adam.cuh"
#include "layers/optimizer.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
AdamStepArgs adam_args(int step, double wd = 0.01, double gscale = 0.7) {
  AdamStepArgs a;
  a.lr = 0.01;
  a.weight_decay = wd;
  a.grad_scale = gscale;
  a.bias_correction1 = 1 - std::pow(a.beta1, step);
  a.bias_correction2 = 1 - std::pow(a.beta2, step);
  return a;
}

// Awkward parameter sizes: none a multiple of the 256-byte segment alignment or of a block.
const std::vector<Shape> kShapes{{3, 5}, {257}, {1}, {0}, {7, 11, 13}, {70}};

// A fresh list of parameters with fixed values and gradients (seeded by index).
struct ParamSet {
  std::vector<std::unique_ptr<Parameter>> owned;
  std::vector<Parameter*> list;
  explicit ParamSet(DType dt = DType::F32, Device dev = Device::CPU) {
    for (size_t i = 0; i < kShapes.size(); ++i) {
      owned.push_back(std::make_unique<Parameter>(
          "p" + std::to_string(i), test::random_tensor(kShapes[i], 100 + i, -1, 1, dt, dev)));
      list.push_back(owned.back().get());
    }
  }
  void set_grads(int step) {
    for (size_t i = 0; i < list.size(); ++i)
      list[i]->grad.copy_from(
          test::random_tensor(kShapes[i], 1000 * uint64_t(step) + i, -1, 1, list[i]->value.dtype(), Device::CPU)
              .to(list[i]->value.device()));
  }
};

}  // namespace

TEST(ParameterBuffer, ParametersBecomeAlignedViewsOfOneBuffer) {
  ParamSet s;
  std::vector<Tensor> before;
  for (Parameter* p : s.list) before.push_back(p->value.clone());
  s.list[1]->grad.fill_(0.5);
  auto b = ParameterBuffer::adopt(s.list);
  ASSERT_TRUE(b->holds(s.list));
  const char* base = static_cast<const char*>(b->values().raw());
  for (size_t i = 0; i < s.list.size(); ++i) {
    Parameter* p = s.list[i];
    EXPECT_EQ(p->buffer, b);
    EXPECT_EQ(p->value.shape(), kShapes[i]);
    EXPECT_TRUE(test::bitwise_equal(p->value, before[i])) << p->name;  // values copied in
    size_t off = size_t(static_cast<const char*>(p->value.raw()) - base);
    EXPECT_EQ(off % 256, 0u) << p->name;
    EXPECT_EQ(off, size_t(b->offset(i)) * 4);
    EXPECT_EQ(static_cast<const char*>(p->grad.raw()) - static_cast<const char*>(b->grads().raw()), ptrdiff_t(off));
  }
  EXPECT_EQ(s.list[1]->grad.to_vector()[256], 0.5);  // gradients copied in too
  // Writing through a parameter writes the buffer; the gaps hold zeros.
  s.list[2]->value.fill_(7.0);
  EXPECT_EQ(b->values().to_vector()[size_t(b->offset(2))], 7.0);
  double gap_sum = 0;
  auto all = b->values().to_vector();
  for (size_t i = 0; i < s.list.size(); ++i) {
    size_t end = i + 1 < s.list.size() ? size_t(b->offset(i + 1)) : all.size();
    for (size_t k = size_t(b->offset(i) + s.list[i]->value.numel()); k < end; ++k) gap_sum += std::fabs(all[k]);
  }
  EXPECT_EQ(gap_sum, 0.0);
  // The same list again: the same buffer. A sub-list: a new one.
  EXPECT_EQ(ParameterBuffer::adopt(s.list), b);
  auto c = ParameterBuffer::adopt({s.list[0]});
  EXPECT_NE(c, b);
  EXPECT_FALSE(b->holds(s.list));
}

TEST(ParameterBuffer, ZeroGradIsOneMemsetOverEveryGradient) {
  ParamSet s;
  Adam adam(s.list);
  s.set_grads(1);
  adam.zero_grad();
  for (Parameter* p : s.list)
    for (double g : p->grad.to_vector()) ASSERT_EQ(g, 0.0) << p->name;
  for (double g : adam.buffer().grads().to_vector()) ASSERT_EQ(g, 0.0);
}

TEST(ParameterBuffer, MovingAParameterAfterwardsIsRefusedAtTheNextStep) {
  ParamSet s;
  Adam adam(s.list);
  adam.step();
  s.list[3]->to(Device::CPU);
  EXPECT_TRUE(test::error_contains([&] { adam.step(); }, "'p3' left the optimizer's flat buffer"));
  ParamSet mixed;
  mixed.list[2]->value = mixed.list[2]->value.to_dtype(DType::F64);
  mixed.list[2]->grad = mixed.list[2]->grad.to_dtype(DType::F64);
  EXPECT_TRUE(test::error_contains([&] { Adam a(mixed.list); }, "one buffer holds one dtype on one device"));
}

// The flat update against the per-parameter update it replaces (the optimizer of the previous version: one
// adam_step / sgd_step per parameter with per-parameter moments): the same arithmetic per element, so the
// values and moments agree bitwise, in f32 and f64, with weight decay and with clipping off.
TEST(Adam, FlatBufferStepMatchesPerParameterStepsBitwise) {
  for (DType dt : {DType::F32, DType::F64}) {
    SCOPED_TRACE(dtype_name(dt));
    ParamSet flat(dt), ref(dt);
    AdamOptions o{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05};
    Adam adam(flat.list, o);
    std::vector<Tensor> m, v;
    for (Parameter* p : ref.list) {
      m.push_back(Tensor::zeros(p->value.shape(), dt));
      v.push_back(Tensor::zeros(p->value.shape(), dt));
    }
    for (int step = 1; step <= 4; ++step) {
      flat.set_grads(step);
      ref.set_grads(step);
      adam.step();
      AdamStepArgs a;
      a.lr = o.lr;
      a.beta1 = o.beta1;
      a.beta2 = o.beta2;
      a.eps = o.eps;
      a.weight_decay = o.weight_decay;
      a.bias_correction1 = 1 - std::pow(o.beta1, double(step));
      a.bias_correction2 = 1 - std::pow(o.beta2, double(step));
      for (size_t i = 0; i < ref.list.size(); ++i) adam_step(ref.list[i]->value, ref.list[i]->grad, m[i], v[i], a);
    }
    for (size_t i = 0; i < ref.list.size(); ++i) {
      EXPECT_TRUE(test::bitwise_equal(flat.list[i]->value, ref.list[i]->value)) << ref.list[i]->name;
      EXPECT_TRUE(test::bitwise_equal(adam.exp_avg(i), m[i])) << ref.list[i]->name;
      EXPECT_TRUE(test::bitwise_equal(adam.exp_avg_sq(i), v[i])) << ref.list[i]->name;
    }
  }
}

TEST(Sgd, FlatBufferStepMatchesPerParameterStepsBitwise) {
  ParamSet flat, ref;
  SgdOptions o{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true};
  SGD sgd(flat.list, o);
  std::vector<Tensor> buf;
  for (Parameter* p : ref.list) buf.push_back(Tensor::zeros(p->value.shape()));
  for (int step = 0; step < 3; ++step) {
    flat.set_grads(step);
    ref.set_grads(step);
    sgd.step();
    SgdStepArgs a;
    a.lr = o.lr;
    a.momentum = o.momentum;
    a.weight_decay = o.weight_decay;
    a.nesterov = true;
    a.first_step = step == 0;
    for (size_t i = 0; i < ref.list.size(); ++i) sgd_step(ref.list[i]->value, ref.list[i]->grad, buf[i], a);
  }
  for (size_t i = 0; i < ref.list.size(); ++i)
    EXPECT_TRUE(test::bitwise_equal(flat.list[i]->value, ref.list[i]->value)) << ref.list[i]->name;
}

// The kernel over a flat buffer with awkward segments, emulated, against the CPU reference per parameter.
TEST(EmulatedAdam, OneLaunchOverAFlatBufferMatchesPerParameterReference) {
  test::for_each_schedule([&] {
    ParamSet flat, ref;
    auto buffer = ParameterBuffer::adopt(flat.list);
    const int64_t n = buffer->numel();
    test::GuardedBuffer gp(buffer->values()), gm{size_t(n)}, gv{size_t(n)};
    std::vector<Tensor> m, v;
    for (Parameter* p : ref.list) {
      m.push_back(Tensor::zeros(p->value.shape()));
      v.push_back(Tensor::zeros(p->value.shape()));
    }
    EmulatedLauncher l;
    for (int step = 1; step <= 3; ++step) {
      flat.set_grads(step);
      ref.set_grads(step);
      test::GuardedBuffer gg(buffer->grads());
      AdamStepArgs a = adam_args(step);
      launch_adam_step(l, gp.data(), gg.data(), gm.data(), gv.data(), n, adam_kernel_params(a));
      for (size_t i = 0; i < ref.list.size(); ++i) adam_step(ref.list[i]->value, ref.list[i]->grad, m[i], v[i], a);
    }
    Tensor got = gp.tensor({n});
    for (size_t i = 0; i < ref.list.size(); ++i)
      EXPECT_TRUE(test::all_close(buffer->segment(got, i), ref.list[i]->value, 1e-6, 1e-5)) << ref.list[i]->name;
    for (auto* b : {&gp, &gm, &gv}) EXPECT_TRUE(b->check_canaries());
  });
}

// A captured step reads Adam's step scalars from device memory (adam_step_scalars): the same bits as the
// scalars passed with the launch, step after step.
TEST(EmulatedAdam, StepScalarsFromDeviceMemoryGiveTheSameBits) {
  test::for_each_schedule([&] {
    const int64_t n = 1031;
    Tensor p0 = test::random_tensor({n}, 3);
    test::GuardedBuffer p1(p0), p2(p0), m1{size_t(n)}, m2{size_t(n)}, v1{size_t(n)}, v2{size_t(n)};
    float scalars[2];
    test::RegisteredMemory reg(scalars, sizeof scalars, "step scalars");
    EmulatedLauncher l;
    for (int step = 1; step <= 3; ++step) {
      Tensor g = test::random_tensor({n}, 30 + step);
      test::GuardedBuffer gg(g);
      AdamStepArgs a = adam_args(step);
      a.lr = 0.003 * step;  // a decaying schedule would change it too
      std::array<float, 2> k = adam_step_scalars(a);
      scalars[0] = k[0];
      scalars[1] = k[1];
      launch_adam_step(l, p1.data(), gg.data(), m1.data(), v1.data(), n, adam_kernel_params(a));
      AdamStepArgs stale = adam_args(1);  // what a captured launch's arguments would still say
      stale.weight_decay = a.weight_decay;
      stale.grad_scale = a.grad_scale;
      launch_adam_step(l, p2.data(), gg.data(), m2.data(), v2.data(), n, adam_kernel_params(stale), scalars);
    }
    EXPECT_TRUE(test::all_close(p2.tensor({n}), p1.tensor({n}), 0, 0));
    EXPECT_TRUE(test::all_close(m2.tensor({n}), m1.tensor({n}), 0, 0));
    EXPECT_TRUE(test::all_close(v2.tensor({n}), v1.tensor({n}), 0, 0));
  });
}

TEST(EmulatedAdam, FusedUpdateMatchesCpuReferenceOverSteps) {
  test::for_each_schedule([&] {
    for (int64_t n : {0, 1, 255, 257, 3001}) {
      SCOPED_TRACE("n=" + std::to_string(n));
      Tensor p = test::random_tensor({n}, 1), m = Tensor::zeros({n}), v = Tensor::zeros({n});
      test::GuardedBuffer gp(p), gm{size_t(n)}, gv{size_t(n)};
      EmulatedLauncher l;
      for (int step = 1; step <= 3; ++step) {
        Tensor g = test::random_tensor({n}, 10 + step);
        test::GuardedBuffer gg(g);
        AdamStepArgs a = adam_args(step);
        adam_step(p, g, m, v, a);
        launch_adam_step(l, gp.data(), gg.data(), gm.data(), gv.data(), n, adam_kernel_params(a));
      }
      EXPECT_TRUE(test::all_close(gp.tensor({n}), p, 1e-6, 1e-5));
      EXPECT_TRUE(test::all_close(gm.tensor({n}), m, 1e-7, 1e-5));
      EXPECT_TRUE(test::all_close(gv.tensor({n}), v, 1e-8, 1e-5));
      for (auto* b : {&gp, &gm, &gv}) EXPECT_TRUE(b->check_canaries());
    }
  });
}

TEST(EmulatedSgd, FusedUpdateMatchesCpuReferenceOverSteps) {
  test::for_each_schedule([&] {
    for (bool nesterov : {false, true})
      for (int64_t n : {1, 257, 3001}) {
        SCOPED_TRACE("n=" + std::to_string(n) + " nesterov=" + std::to_string(nesterov));
        Tensor p = test::random_tensor({n}, 2), buf = Tensor::zeros({n});
        test::GuardedBuffer gp(p), gbuf{size_t(n), NAN};  // the first step must not read the buffer
        EmulatedLauncher l;
        for (int step = 0; step < 3; ++step) {
          Tensor g = test::random_tensor({n}, 20 + step);
          test::GuardedBuffer gg(g);
          SgdStepArgs a;
          a.lr = 0.05;
          a.momentum = 0.9;
          a.weight_decay = 0.01;
          a.nesterov = nesterov;
          a.first_step = step == 0;
          sgd_step(p, g, buf, a);
          launch_sgd_step(l, gp.data(), gg.data(), gbuf.data(), n, sgd_kernel_params(a));
        }
        EXPECT_TRUE(test::all_close(gp.tensor({n}), p, 1e-6, 1e-5));
        EXPECT_TRUE(test::all_close(gbuf.tensor({n}), buf, 1e-6, 1e-5));
        EXPECT_TRUE(gp.check_canaries());
        EXPECT_TRUE(gbuf.check_canaries());
      }
  });
}

TEST(Adam, FirstStepMatchesPyTorchFormula) {
  // torch.optim.Adam([p], lr=0.01, weight_decay=0.1), one step with grad g:
  //   g' = g + 0.1 p; m = 0.1 g'; v = 0.001 g'^2; p -= (0.01 / 0.1) * m / (sqrt(v) / sqrt(0.001) + 1e-8)
  // which is p - 0.01 * g' / (|g'| + 1e-8).
  Parameter p("p", Tensor::from_vector({1.0, -2.0, 0.5, 0.0}, {4}, DType::F64));
  p.grad.copy_from(Tensor::from_vector({0.1, -0.3, 2.0, 0.0}, {4}, DType::F64));
  AdamOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.1;
  Adam adam({&p}, o);
  adam.step();
  EXPECT_EQ(adam.step_count(), 1);
  auto v = p.value.to_vector();
  // g' = 0.2, -0.5, 2.05, 0.0
  EXPECT_NEAR(v[0], 1.0 - 0.01 * 0.2 / (0.2 + 1e-8), 1e-12);
  EXPECT_NEAR(v[0], 0.99, 1e-7);
  EXPECT_NEAR(v[1], -1.99, 1e-7);
  EXPECT_NEAR(v[2], 0.49, 1e-7);
  EXPECT_NEAR(v[3], 0.0, 1e-12);  // zero gradient: m = 0, no move
  auto m = adam.exp_avg(0).to_vector(), s = adam.exp_avg_sq(0).to_vector();
  EXPECT_NEAR(m[1], 0.1 * -0.5, 1e-12);
  EXPECT_NEAR(s[2], 0.001 * 2.05 * 2.05, 1e-12);
}

TEST(Adam, ThreeStepsMatchIndependentDoubleImplementationWithClipping) {
  const std::vector<double> p0{0.3, -1.2, 2.0}, g{3.0, -4.0, 0.0};  // |g| = 5
  Parameter p("p", Tensor::from_vector(p0, {3}, DType::F64));
  AdamOptions o;
  o.lr = 0.05;
  o.beta1 = 0.8;
  o.beta2 = 0.95;
  o.eps = 1e-6;
  o.weight_decay = 0.01;
  o.max_grad_norm = 1.0;
  Adam adam({&p}, o);
  std::vector<double> x = p0, m(3, 0), v(3, 0);
  for (int t = 1; t <= 3; ++t) {
    p.grad.copy_from(Tensor::from_vector(g, {3}, DType::F64));
    adam.step();
    EXPECT_NEAR(adam.last_grad_norm(), 5.0, 1e-12);
    double clip = 1.0 / (5.0 + 1e-6);
    for (int i = 0; i < 3; ++i) {
      double gi = g[i] * clip + 0.01 * x[i];
      m[i] = 0.8 * m[i] + 0.2 * gi;
      v[i] = 0.95 * v[i] + 0.05 * gi * gi;
      double mh = m[i] / (1 - std::pow(0.8, t)), vh = v[i] / (1 - std::pow(0.95, t));
      x[i] -= 0.05 * mh / (std::sqrt(vh) + 1e-6);
    }
    auto got = p.value.to_vector();
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(got[i], x[i], 1e-10) << "step " << t << " element " << i;
  }
  // Clipping inside the step leaves the stored gradient alone.
  EXPECT_EQ(p.grad.to_vector(), g);
}

TEST(Sgd, MomentumMatchesHandComputedSteps) {
  Parameter p("p", Tensor::from_vector({1.0}, {1}, DType::F64));
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  SGD sgd({&p}, o);
  p.grad.fill_(0.5);
  sgd.step();  // buf = 0.5, p = 0.95
  EXPECT_NEAR(p.value.item(), 0.95, 1e-12);
  sgd.step();  // buf = 0.9 * 0.5 + 0.5 = 0.95, p = 0.855
  EXPECT_NEAR(p.value.item(), 0.855, 1e-12);
  EXPECT_EQ(sgd.step_count(), 2);

  Parameter q("q", Tensor::from_vector({1.0}, {1}, DType::F64));
  SGD plain({&q}, SgdOptions{});
  q.grad.fill_(2.0);
  plain.step();
  EXPECT_NEAR(q.value.item(), 1.0 - 0.01 * 2.0, 1e-12);
}

TEST(Optimizer, ClipGradNormAndZeroGrad) {
  Parameter a("a", Tensor::zeros({2}, DType::F64)), b("b", Tensor::zeros({1}, DType::F64));
  a.grad.copy_from(Tensor::from_vector({3, 0}, {2}, DType::F64));
  b.grad.copy_from(Tensor::from_vector({4}, {1}, DType::F64));
  EXPECT_NEAR(global_grad_norm({&a, &b}), 5.0, 1e-12);
  EXPECT_NEAR(clip_grad_norm({&a, &b}, 1.0), 5.0, 1e-12);
  EXPECT_NEAR(global_grad_norm({&a, &b}), 1.0, 1e-6);
  EXPECT_NEAR(clip_grad_norm({&a, &b}, 10.0), 1.0, 1e-6);  // below the threshold: unchanged
  EXPECT_NEAR(global_grad_norm({&a, &b}), 1.0, 1e-6);
  Adam adam({&a, &b});
  adam.zero_grad();
  EXPECT_EQ(global_grad_norm({&a, &b}), 0.0);
  EXPECT_THROW(Adam({&a}, AdamOptions{.lr = 0.1, .beta1 = 1.0}), Error);
}

TEST(GpuParityAdam, OptimizersMatchCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const int64_t n = test::parity_size(100003, 20011);
  for (int which = 0; which < 2; ++which) {
    SCOPED_TRACE(which == 0 ? "adam" : "sgd");
    Parameter cp("w", test::random_tensor({n}, seed)), gp("w", cp.value.to(G));
    std::unique_ptr<Optimizer> co, go;
    if (which == 0) {
      AdamOptions o{.lr = 0.01, .weight_decay = 0.01, .max_grad_norm = 10.0};
      co = std::make_unique<Adam>(std::vector<Parameter*>{&cp}, o);
      go = std::make_unique<Adam>(std::vector<Parameter*>{&gp}, o);
    } else {
      SgdOptions o{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true, .max_grad_norm = 10.0};
      co = std::make_unique<SGD>(std::vector<Parameter*>{&cp}, o);
      go = std::make_unique<SGD>(std::vector<Parameter*>{&gp}, o);
    }
    for (int step = 0; step < 5; ++step) {
      Tensor g = test::random_tensor({n}, seed + 1 + step);
      cp.grad.copy_from(g);
      gp.grad.copy_from(g);
      co->step();
      go->step();
      EXPECT_NEAR(go->last_grad_norm(), co->last_grad_norm(), 1e-4 * co->last_grad_norm());
    }
    EXPECT_TRUE(test::all_close(gp.value, cp.value, 1e-5, 1e-4));
  }
}

TEST(GpuParityAdam, FlatBufferOverManyParametersMatchesCpu) {
  const Device G = test::parity_device();
  ParamSet cpu_set, gpu_set(DType::F32, G);
  AdamOptions o{.lr = 0.01, .weight_decay = 0.01};
  Adam co(cpu_set.list, o), go(gpu_set.list, o);
  for (int step = 1; step <= 5; ++step) {
    cpu_set.set_grads(step);
    gpu_set.set_grads(step);
    co.step();
    go.step();
    go.zero_grad();
  }
  for (size_t i = 0; i < cpu_set.list.size(); ++i)
    EXPECT_TRUE(test::all_close(gpu_set.list[i]->value, cpu_set.list[i]->value, 1e-6, 1e-5)) << cpu_set.list[i]->name;
  for (double g : go.buffer().grads().to_vector()) ASSERT_EQ(g, 0.0);
}
