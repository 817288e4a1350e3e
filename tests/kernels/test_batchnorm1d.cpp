#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/activation.h"
#include "kernels/batchnorm1d.cuh"
#include "layers/parameter.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
struct BnData {
  Tensor x, gamma, beta, dy, rm, rv, dgamma0, dbeta0;
  BnData(int64_t n, int64_t c, uint64_t seed, DType dt = DType::F32, Device dev = Device::CPU) {
    x = test::random_tensor({n, c}, seed, -2, 3, dt, dev);
    gamma = test::random_tensor({c}, seed + 1, 0.5, 1.5, dt, dev);
    beta = test::random_tensor({c}, seed + 2, -0.5, 0.5, dt, dev);
    dy = test::random_tensor({n, c}, seed + 3, -1, 1, dt, dev);
    rm = test::random_tensor({c}, seed + 4, -0.5, 0.5, dt, dev);
    rv = test::random_tensor({c}, seed + 5, 0.5, 2.0, dt, dev);
    dgamma0 = test::random_tensor({c}, seed + 6, -1, 1, dt, dev);
    dbeta0 = test::random_tensor({c}, seed + 7, -1, 1, dt, dev);
  }
};
}  // namespace

namespace {
// The three launches on the emulator, outputs in GuardedBuffers (compared between schedules by
// for_each_schedule); the CPU reference's results beside them.
struct EmulatedBn {
  int64_t n, c;
  BnData d;
  Tensor y, yi, dx, sm, sv, rm, rv, dg, db;  // CPU reference
  test::GuardedBuffer gx, gg, gb, gdy, grm, grv, gdg, gdb, grm0, grv0, gy, gyi, gdx, gsm, gsv, gws;
  EmulatedBn(int64_t n_, int64_t c_, uint64_t seed, double lo = -2, double hi = 3)
      : n(n_), c(c_), d(n_, c_, seed),
        gx(test::random_tensor({n_, c_}, seed + 9, lo, hi)), gg(d.gamma), gb(d.beta), gdy(d.dy), grm(d.rm), grv(d.rv),
        gdg(d.dgamma0), gdb(d.dbeta0), grm0(d.rm), grv0(d.rv), gy{size_t(n_ * c_)}, gyi{size_t(n_ * c_)},
        gdx{size_t(n_ * c_)}, gsm{size_t(c_)}, gsv{size_t(c_)}, gws{size_t(batchnorm_workspace(n_, c_))} {
    d.x = gx.tensor({n, c});
    const BatchNormOptions opt;
    y = Tensor::empty({n, c}), yi = Tensor::empty({n, c}), dx = Tensor::empty({n, c});
    sm = Tensor::empty({c}), sv = Tensor::empty({c}), rm = d.rm.clone(), rv = d.rv.clone();
    dg = d.dgamma0.clone(), db = d.dbeta0.clone();
    batchnorm1d_train_forward(d.x, d.gamma, d.beta, y, sm, sv, rm, rv, opt);
    batchnorm1d_inference_forward(d.x, d.gamma, d.beta, d.rm, d.rv, yi, opt);
    batchnorm1d_train_backward(d.x, d.gamma, sm, sv, d.dy, dx, dg, db, opt);
  }
  void launch(unsigned rows, unsigned max_slots) {
    const BatchNormOptions opt;
    EmulatedLauncher l;
    launch_batchnorm1d_train_forward(l, gx.data(), gg.data(), gb.data(), gy.data(), gsm.data(), gsv.data(), grm.data(),
                                     grv.data(), gws.data(), n, c, opt.momentum, opt.eps, rows, max_slots);
    launch_batchnorm1d_inference_forward(l, gx.data(), gg.data(), gb.data(), grm0.data(), grv0.data(), gyi.data(), n,
                                         c, opt.eps);
    launch_batchnorm1d_train_backward(l, gx.data(), gg.data(), gsm.data(), gsv.data(), gdy.data(), gdx.data(),
                                      gdg.data(), gdb.data(), gws.data(), n, c, opt.eps, rows, max_slots);
  }
  // `normalized_atol`: of y and dx, whose f32 error is at least the mean's rounding over the spread.
  void expect_close_to_reference(double normalized_atol = 1e-5) {
    EXPECT_TRUE(test::all_close(gy.tensor({n, c}), y, normalized_atol, 1e-5));
    EXPECT_TRUE(test::all_close(gsm.tensor({c}), sm, 1e-6, 1e-5));
    EXPECT_TRUE(test::all_close(gsv.tensor({c}), sv, 1e-6, 1e-5));
    EXPECT_TRUE(test::all_close(grm.tensor({c}), rm, 1e-6, 1e-5));
    EXPECT_TRUE(test::all_close(grv.tensor({c}), rv, 1e-6, 1e-5));
    EXPECT_TRUE(test::all_close(gyi.tensor({n, c}), yi, 1e-5, 1e-5));
    EXPECT_TRUE(test::all_close(gdx.tensor({n, c}), dx, normalized_atol, 1e-4));
    EXPECT_TRUE(test::all_close(gdg.tensor({c}), dg, 1e-5, 1e-5));
    EXPECT_TRUE(test::all_close(gdb.tensor({c}), db, 1e-5, 1e-5));
    for (auto* g : {&gx, &gg, &gb, &gdy, &grm, &grv, &gdg, &gdb, &grm0, &grv0, &gy, &gyi, &gdx, &gsm, &gsv, &gws})
      EXPECT_TRUE(g->check_canaries());
  }
  // Every output, for bitwise comparison between launch shapes.
  std::vector<float> outputs() const {
    std::vector<float> all;
    for (auto* g : {&gy, &gsm, &gsv, &grm, &grv, &gdx, &gdg, &gdb}) all.insert(all.end(), g->data(), g->data() + g->size());
    return all;
  }
};
}  // namespace

TEST(EmulatedBatchNorm1d, TrainInferenceAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    // N = 1 (zero variance), N not a multiple of the thread rows, C not a multiple of 32; {2101, 40}: nine
    // row chunks (the last partial), two channel groups, and above 65536 elements, so the CPU reference's
    // threaded row-split sums run. max_slots 2: blocks loop over several chunks.
    for (auto [n, c] : {std::pair<int64_t, int64_t>{1, 3}, {7, 33}, {45, 5}, {130, 64}, {3 * 37, 1}, {2101, 40}})
      for (auto [rows, slots] : {std::pair<unsigned, unsigned>{8, 2}, {32, 0}}) {
        SCOPED_TRACE("N=" + std::to_string(n) + " C=" + std::to_string(c) + " rows=" + std::to_string(rows) +
                     " max_slots=" + std::to_string(slots));
        EmulatedBn e(n, c, 30);
        e.launch(rows, slots);
        e.expect_close_to_reference();
      }
  });
}

// The statistics merge chunk summaries with Chan's formula: a mean far above the spread costs the mean and
// variance no accuracy (a sum of squares would lose the variance entirely). y and dx get the tolerance any
// f32 kernel needs here: the f32 mean's rounding (half an ulp of 1000, 3e-5) over the spread (0.29) times gamma.
TEST(EmulatedBatchNorm1d, LargeMeanSmallSpreadAcrossChunks) {
  test::for_each_schedule([&] {
    EmulatedBn e(1000, 3, 41, 1000.0, 1001.0);
    e.launch(32, 0);
    e.expect_close_to_reference(3e-4);
  });
}

// The chunking depends on N alone: any number of blocks along the chunks gives the same bits.
TEST(EmulatedBatchNorm1d, SameBitsForAnyGridSize) {
  const int64_t n = 1500, c = 37;
  EmulatedBn ref(n, c, 52);
  ref.launch(32, 0);
  const std::vector<float> expected = ref.outputs();
  for (unsigned slots : {1u, 2u, 5u}) {
    SCOPED_TRACE("max_slots=" + std::to_string(slots));
    EmulatedBn e(n, c, 52);
    e.launch(32, slots);
    const std::vector<float> got = e.outputs();
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)));
  }
}

TEST(BatchNorm1dChunks, CoverEveryRowWithinTheWorkspaceBound) {
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(255), int64_t(256), int64_t(257), int64_t(524288),
                    int64_t(524289), int64_t(100000000)}) {
    SCOPED_TRACE("N=" + std::to_string(n));
    const int64_t per = bn_detail::chunk_rows(n), k = bn_detail::chunks(n);
    EXPECT_GE(per * k, n);
    EXPECT_LT(per * (k - 1), n > 0 ? n : 1);
    EXPECT_LE(k, bn_detail::kMaxChunks);
  }
}

TEST(BatchNorm1dSemantics, KerasStatisticsAndRunningUpdate) {
  // One channel, x = {1, 2, 3, 6}: mean 3, biased variance 3.5 (unbiased would be 14/3).
  Tensor x = Tensor::from_vector({1, 2, 3, 6}, {4, 1}, DType::F64);
  Tensor g = Tensor::full({1}, 2.0, DType::F64), b = Tensor::full({1}, 0.5, DType::F64);
  Tensor y = Tensor::empty({4, 1}, DType::F64), sm = Tensor::empty({1}, DType::F64), sv = Tensor::empty({1}, DType::F64);
  Tensor rm = Tensor::zeros({1}, DType::F64), rv = Tensor::full({1}, 1.0, DType::F64);
  batchnorm1d_train_forward(x, g, b, y, sm, sv, rm, rv);
  EXPECT_DOUBLE_EQ(sm.item(), 3.0);
  EXPECT_DOUBLE_EQ(sv.item(), 3.5);
  EXPECT_NEAR(rm.item(), 0.01 * 3.0, 1e-7);                // momentum 0.99
  EXPECT_NEAR(rv.item(), 0.99 * 1.0 + 0.01 * 3.5, 1e-7);  // biased batch variance
  EXPECT_NEAR(y.to_vector()[3], 2.0 * 3.0 / std::sqrt(3.5 + 1e-3) + 0.5, 1e-6);  // eps 1e-3
}

TEST(GradCheckBatchNorm1d, TrainModeDxDgammaDbeta) {
  for (auto [n, c] : {std::pair<int64_t, int64_t>{6, 3}, {13, 2}, {2, 4}}) {
    SCOPED_TRACE("N=" + std::to_string(n) + " C=" + std::to_string(c));
    BnData d(n, c, 8, DType::F64);
    Parameter gamma("gamma", d.gamma), beta("beta", d.beta);
    Tensor x = d.x, sm = Tensor::empty({c}, DType::F64), sv = Tensor::empty({c}, DType::F64), none;
    auto forward = [&] {
      Tensor y = Tensor::empty({n, c}, DType::F64);
      batchnorm1d_train_forward(x, gamma.value, beta.value, y, sm, sv, none, none);
      return y;
    };
    auto backward = [&](const Tensor& dy) {
      Tensor dx = Tensor::empty({n, c}, DType::F64);
      batchnorm1d_train_backward(x, gamma.value, sm, sv, dy, dx, gamma.grad, beta.grad);
      return std::vector<Tensor>{dx};
    };
    AD_EXPECT_GRADCHECK(test::grad_check({x}, {&gamma, &beta}, forward, backward));
  }
}

// BatchNorm's backward fused with that of the activation before it (x = act(pre)): the whole of
// pre -> act -> BatchNorm against central differences in f64, for each activation it takes.
TEST(GradCheckBatchNorm1d, ActivationFusedBackward) {
  for (auto [act, param] : {std::pair<Activation, float>{Activation::Tanh, 0.0f}, {Activation::ELU, 1.0f},
                            {Activation::ELU, 0.5f}, {Activation::Identity, 0.0f}}) {
    SCOPED_TRACE(std::string(activation_name(act)) + " " + std::to_string(param));
    ASSERT_TRUE(batchnorm_fuses_activation_backward(act, param));
    const int64_t n = 13, c = 3;
    BnData d(n, c, 9, DType::F64);
    Parameter gamma("gamma", d.gamma), beta("beta", d.beta);
    Tensor pre = d.x, a = Tensor::empty({n, c}, DType::F64), sm = Tensor::empty({c}, DType::F64),
           sv = Tensor::empty({c}, DType::F64), none;
    auto forward = [&] {
      activation_forward(act, pre, a, param);
      Tensor y = Tensor::empty({n, c}, DType::F64);
      batchnorm1d_train_forward(a, gamma.value, beta.value, y, sm, sv, none, none);
      return y;
    };
    auto backward = [&](const Tensor& dy) {
      Tensor dpre = Tensor::empty({n, c}, DType::F64);
      batchnorm1d_activation_train_backward(act, param, a, gamma.value, sm, sv, dy, dpre, gamma.grad, beta.grad);
      return std::vector<Tensor>{dpre};
    };
    AD_EXPECT_GRADCHECK(test::grad_check({pre}, {&gamma, &beta}, forward, backward));
  }
}

// The f32 CPU path of the fused backward against the two ops it replaces, to f32 rounding (the compiler may
// fuse tanh's 1 - x^2 differently; ELU's x + alpha stands for alpha exp(pre)); dgamma and dbeta are the same
// pass as before (the same bits).
TEST(BatchNorm1dCpuPath, ActivationFusedBackwardMatchesTheTwoOps) {
  EXPECT_FALSE(batchnorm_fuses_activation_backward(Activation::Softplus, 0.0f));
  for (Activation act : {Activation::Tanh, Activation::ELU}) {
    SCOPED_TRACE(activation_name(act));
    const int64_t n = 700, c = 37;  // past kCpuParallelMin: the row-chunked path
    BnData d(n, c, 31);
    Tensor a = Tensor::empty({n, c}), y = Tensor::empty({n, c}), sm = Tensor::empty({c}), sv = Tensor::empty({c}),
           none;
    activation_forward(act, d.x, a, 1.0f);
    batchnorm1d_train_forward(a, d.gamma, d.beta, y, sm, sv, none, none);
    Tensor da = Tensor::empty({n, c}), dpre = Tensor::empty({n, c}), fused = Tensor::empty({n, c});
    Tensor dg = d.dgamma0.clone(), db = d.dbeta0.clone(), dg2 = d.dgamma0.clone(), db2 = d.dbeta0.clone();
    batchnorm1d_train_backward(a, d.gamma, sm, sv, d.dy, da, dg, db);
    activation_backward(act, d.x, a, da, dpre, 1.0f);
    batchnorm1d_activation_train_backward(act, 1.0f, a, d.gamma, sm, sv, d.dy, fused, dg2, db2);
    EXPECT_TRUE(test::all_close(fused, dpre, 1e-6, 1e-6));
    EXPECT_TRUE(test::bitwise_equal(dg2, dg));
    EXPECT_TRUE(test::bitwise_equal(db2, db));
  }
}

// The forward counterpart: the activation inside BatchNorm's mean pass gives the bits of the two ops in turn
// (f32 on the row-chunked path, and f64), running statistics included.
TEST(BatchNorm1dCpuPath, ActivationFusedForwardEqualsTheTwoOps) {
  for (DType dt : {DType::F32, DType::F64})
    for (Activation act : {Activation::Tanh, Activation::ELU, Activation::Softplus}) {
      SCOPED_TRACE(std::string(activation_name(act)) + (dt == DType::F32 ? " f32" : " f64"));
      const int64_t n = 700, c = 37;
      BnData d(n, c, 33, dt);
      Tensor a = Tensor::empty({n, c}, dt), y = Tensor::empty({n, c}, dt), sm = Tensor::empty({c}, dt),
             sv = Tensor::empty({c}, dt), rm = d.rm.clone(), rv = d.rv.clone();
      activation_forward(act, d.x, a, 1.0f);
      batchnorm1d_train_forward(a, d.gamma, d.beta, y, sm, sv, rm, rv);
      Tensor a2 = Tensor::full({n, c}, NAN, dt), y2 = Tensor::full({n, c}, NAN, dt), sm2 = Tensor::empty({c}, dt),
             sv2 = Tensor::empty({c}, dt), rm2 = d.rm.clone(), rv2 = d.rv.clone();
      batchnorm1d_activation_train_forward(act, 1.0f, d.x, a2, d.gamma, d.beta, y2, sm2, sv2, rm2, rv2);
      EXPECT_TRUE(test::bitwise_equal(a2, a));
      EXPECT_TRUE(test::bitwise_equal(y2, y));
      EXPECT_TRUE(test::bitwise_equal(sm2, sm));
      EXPECT_TRUE(test::bitwise_equal(sv2, sv));
      EXPECT_TRUE(test::bitwise_equal(rm2, rm));
      EXPECT_TRUE(test::bitwise_equal(rv2, rv));
    }
}

TEST(GpuParityBatchNorm1d, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const BatchNormOptions opt;
  using NC = std::pair<int64_t, int64_t>;  // smaller (still awkward) on the emulated device
  const std::vector<NC> shapes = cuda_available() ? std::vector<NC>{{32 * 128, 64}, {4097, 33}, {5, 200}}
                                                  : std::vector<NC>{{1029, 64}, {1537, 33}, {5, 200}};
  for (auto [n, c] : shapes) {
    SCOPED_TRACE("N=" + std::to_string(n) + " C=" + std::to_string(c));
    BnData d(n, c, seed);
    Tensor y = Tensor::empty({n, c}), yi = Tensor::empty({n, c}), dx = Tensor::empty({n, c});
    Tensor sm = Tensor::empty({c}), sv = Tensor::empty({c}), rm = d.rm.clone(), rv = d.rv.clone();
    Tensor dg = d.dgamma0.clone(), db = d.dbeta0.clone();
    batchnorm1d_train_forward(d.x, d.gamma, d.beta, y, sm, sv, rm, rv, opt);
    batchnorm1d_inference_forward(d.x, d.gamma, d.beta, d.rm, d.rv, yi, opt);
    batchnorm1d_train_backward(d.x, d.gamma, sm, sv, d.dy, dx, dg, db, opt);

    Tensor gx = d.x.to(G), gg = d.gamma.to(G), gb = d.beta.to(G), gdy = d.dy.to(G);
    Tensor grm = d.rm.to(G), grv = d.rv.to(G), grm0 = d.rm.to(G), grv0 = d.rv.to(G);
    Tensor gdg = d.dgamma0.to(G), gdb = d.dbeta0.to(G);
    Tensor gy = Tensor::empty({n, c}, DType::F32, G), gyi = Tensor::empty({n, c}, DType::F32, G),
           gdx = Tensor::empty({n, c}, DType::F32, G), gsm = Tensor::empty({c}, DType::F32, G),
           gsv = Tensor::empty({c}, DType::F32, G);
    batchnorm1d_train_forward(gx, gg, gb, gy, gsm, gsv, grm, grv, opt);
    batchnorm1d_inference_forward(gx, gg, gb, grm0, grv0, gyi, opt);
    batchnorm1d_train_backward(gx, gg, gsm, gsv, gdy, gdx, gdg, gdb, opt);
    EXPECT_TRUE(test::all_close(gy, y, 1e-4, 1e-4));
    EXPECT_TRUE(test::all_close(gsm, sm, 1e-5, 1e-4));
    EXPECT_TRUE(test::all_close(gsv, sv, 1e-5, 1e-4));
    EXPECT_TRUE(test::all_close(grm, rm, 1e-5, 1e-4));
    EXPECT_TRUE(test::all_close(grv, rv, 1e-5, 1e-4));
    EXPECT_TRUE(test::all_close(gyi, yi, 1e-5, 1e-5));
    EXPECT_TRUE(test::all_close(gdx, dx, 1e-4, 1e-3));
    EXPECT_TRUE(test::all_close(gdg, dg, 1e-3, 1e-4));
    EXPECT_TRUE(test::all_close(gdb, db, 1e-3, 1e-4));
  }
}
