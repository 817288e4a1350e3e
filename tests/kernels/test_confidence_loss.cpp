#include <gtest/gtest.h>

#include "kernels/activation.h"
#include "kernels/confidence_loss.cuh"
#include "kernels/softmax.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {

struct Case {
  Tensor logits, prob, conf_pre, conf, labels, dconf_extra;
};

// Probabilities and confidences as the model makes them (softmax, sigmoid), labels spread over all K classes.
Case make_case(int64_t rows, int64_t k, uint64_t seed, DType dt = DType::F32) {
  Case c;
  c.logits = test::random_tensor({rows, k}, seed, -3, 3, dt);
  c.conf_pre = test::random_tensor({rows}, seed + 1, -2, 2, dt);
  c.dconf_extra = test::random_tensor({rows}, seed + 2, -1, 1, dt);
  c.prob = Tensor::empty({rows, k}, dt);
  c.conf = Tensor::empty({rows}, dt);
  softmax_forward(c.logits, c.prob);
  activation_forward(Activation::Sigmoid, c.conf_pre, c.conf);
  c.labels = Tensor::empty({rows}, DType::I64);
  for (int64_t i = 0; i < rows; ++i) c.labels.data<int64_t>()[i] = (i * 7 + int64_t(seed)) % k;
  return c;
}

}  // namespace

TEST(EmulatedConfidenceLoss, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    // Rows not multiples of the block (1 row, a partial warp, past one block of 256); K = 2 (MUAD) and 5.
    for (int64_t rows : {1, 7, 33, 300})
      for (int64_t k : {2, 5})
        for (bool detached : {false, true}) {
          SCOPED_TRACE("rows=" + std::to_string(rows) + " k=" + std::to_string(k) + " detached=" +
                       std::to_string(detached));
          Case c = make_case(rows, k, uint64_t(rows * 10 + k));
          const double ce_w = 0.6, mse_w = 1.7;  // not 1: a kernel that drops a weight would pass with 1
          Tensor terms = Tensor::empty({2}), dlogits = Tensor::empty({rows, k}), dconf = Tensor::empty({rows});
          confidence_loss_forward(c.prob, c.conf, c.labels, terms);
          confidence_loss_backward(c.prob, c.conf, c.labels, c.dconf_extra, ce_w, mse_w, detached, dlogits, dconf);

          test::GuardedBuffer gp(c.prob), gc(c.conf), ge(c.dconf_extra), gt{2}, gdl{size_t(rows * k)},
              gdc{size_t(rows)};
          test::RegisteredMemory lab(c.labels, "labels");
          EmulatedLauncher l;
          const int64_t* y = c.labels.data<int64_t>();
          launch_confidence_loss_forward(l, gp.data(), gc.data(), y, gt.data(), rows, k);
          launch_confidence_loss_backward(l, gp.data(), gc.data(), y, ge.data(), float(ce_w), float(mse_w), detached,
                                          gdl.data(), gdc.data(), rows, k);
          EXPECT_TRUE(test::all_close(gt.tensor({2}), terms, 1e-6, 1e-5));
          EXPECT_TRUE(test::all_close(gdl.tensor({rows, k}), dlogits, 1e-7, 1e-5));
          EXPECT_TRUE(test::all_close(gdc.tensor({rows}), dconf, 1e-7, 1e-5));
          EXPECT_TRUE(gt.check_canaries());
          EXPECT_TRUE(gdl.check_canaries());
          EXPECT_TRUE(gdc.check_canaries());
        }
  });
}

TEST(ConfidenceLoss, RejectsLabelsOutsideTheClassesAndEmptyBatches) {
  Case c = make_case(4, 2, 3);
  c.labels.data<int64_t>()[2] = 2;
  Tensor terms = Tensor::empty({2});
  EXPECT_TRUE(test::error_contains([&] { confidence_loss_forward(c.prob, c.conf, c.labels, terms); }, "label 2"));
  Tensor none = Tensor::empty({0, 2}), none_c = Tensor::empty({0}), none_y = Tensor::empty({0}, DType::I64);
  EXPECT_TRUE(test::error_contains([&] { confidence_loss_forward(none, none_c, none_y, terms); }, "B >= 1"));
}

// The weighted loss ce_w CE + mse_w MSE + sum_i e_i c_i (e: the outside gradient reaching c) as a function of
// the logits and the confidence pre-activations; with target_detached the MSE's target is the unperturbed p.
TEST(GradCheckConfidenceLoss, LogitsAndConfidence) {
  for (bool detached : {false, true}) {
    SCOPED_TRACE(detached ? "target detached" : "target trained");
    Case c = make_case(6, 3, 5, DType::F64);
    const double ce_w = 0.6, mse_w = 1.7;
    const Tensor p0 = c.prob.clone();
    auto forward = [&] {
      softmax_forward(c.logits, c.prob);
      activation_forward(Activation::Sigmoid, c.conf_pre, c.conf);
      Tensor t = Tensor::empty({2}, DType::F64), t_mse = Tensor::empty({2}, DType::F64);
      confidence_loss_forward(c.prob, c.conf, c.labels, t);
      confidence_loss_forward(detached ? p0 : c.prob, c.conf, c.labels, t_mse);
      double extra = 0;
      for (int64_t i = 0; i < 6; ++i) extra += c.dconf_extra.data<double>()[i] * c.conf.data<double>()[i];
      return Tensor::from_vector(std::vector<double>{ce_w * t.data<double>()[0] + mse_w * t_mse.data<double>()[1] +
                                                     extra},
                                 {1}, DType::F64);
    };
    auto backward = [&](const Tensor& r) {
      const double g = r.data<double>()[0];
      Tensor dl = Tensor::empty({6, 3}, DType::F64), dc = Tensor::empty({6}, DType::F64);
      // The op's gradients are of the loss itself (dL/dloss = 1): scale them by the probe's g.
      confidence_loss_backward(c.prob, c.conf, c.labels, c.dconf_extra, ce_w, mse_w, detached, dl, dc);
      Tensor dls = Tensor::empty({6, 3}, DType::F64), dcs = Tensor::empty({6}, DType::F64);
      for (int64_t i = 0; i < 18; ++i) dls.data<double>()[i] = g * dl.data<double>()[i];
      for (int64_t i = 0; i < 6; ++i) dcs.data<double>()[i] = g * dc.data<double>()[i];
      return std::vector<Tensor>{dls, dcs};
    };
    AD_EXPECT_GRADCHECK(test::grad_check({c.logits, c.conf_pre}, {}, forward, backward));
  }
}

TEST(GpuParityConfidenceLoss, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const int64_t rows = 1000, k = 2;
  Case c = make_case(rows, k, seed);
  Tensor terms = Tensor::empty({2}), dl = Tensor::empty({rows, k}), dc = Tensor::empty({rows});
  confidence_loss_forward(c.prob, c.conf, c.labels, terms);
  confidence_loss_backward(c.prob, c.conf, c.labels, c.dconf_extra, 0.6, 1.7, false, dl, dc);
  Tensor gp = c.prob.to(G), gc = c.conf.to(G), gy = c.labels.to(G),
         ge = c.dconf_extra.to(G);
  Tensor gt = Tensor::empty({2}, DType::F32, G), gdl = Tensor::empty({rows, k}, DType::F32, G),
         gdc = Tensor::empty({rows}, DType::F32, G);
  confidence_loss_forward(gp, gc, gy, gt);
  confidence_loss_backward(gp, gc, gy, ge, 0.6, 1.7, false, gdl, gdc);
  EXPECT_TRUE(test::all_close(gt, terms, 1e-6, 1e-5));
  EXPECT_TRUE(test::all_close(gdl, dl, 1e-7, 1e-5));
  EXPECT_TRUE(test::all_close(gdc, dc, 1e-7, 1e-5));
}
