// Centre distances (kernels/centre_distance.*) and DeepSphere's hypersphere terms (kernels/hypersphere.*):
// emulated kernels vs the CPU reference, gradient checks in f64, GPU parity (skipped without a GPU).
#include <gtest/gtest.h>

#include <cstring>

#include "kernels/centre_distance.cuh"
#include "kernels/hypersphere.cuh"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
const CentreDistance kKinds[] = {CentreDistance::SquaredEuclidean, CentreDistance::HalfCosine};
const HypersphereWeight kForms[] = {HypersphereWeight::ExpMinusOne, HypersphereWeight::Softmax};

struct Dims {
  int64_t B, K, H, D;
};
// Awkward sizes: nothing a multiple of the block size; one case with more pairs than one block holds and
// one with more dimensions than threads.
const Dims kShapes[] = {{1, 1, 1, 1}, {37, 3, 2, 30}, {300, 1, 1, 29}, {5, 7, 3, 257}, {2, 13, 1, 3}};

// d2 spread on both sides of R^2 but never closer than 0.05 to it (the kinks of relu).
Tensor squared_distances(int64_t B, double r2, uint64_t seed, DType dtype = DType::F32) {
  Tensor d2 = test::random_tensor({B}, seed, 0.05, 1.0, DType::F64);
  for (int64_t i = 0; i < B; ++i) {
    double& v = d2.data<double>()[i];
    v = (i % 3 == 0) ? r2 + v : std::max(0.0, r2 - v);
  }
  return dtype == DType::F64 ? d2 : d2.to_dtype(dtype);
}
}  // namespace

TEST(EmulatedCentreDistance, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    for (CentreDistance kind : kKinds)
      for (const Dims& s : kShapes) {
        SCOPED_TRACE(std::string(centre_distance_name(kind)) + " B=" + std::to_string(s.B) + " K=" +
                     std::to_string(s.K) + " H=" + std::to_string(s.H) + " D=" + std::to_string(s.D));
        Tensor z = test::random_tensor({s.B, s.H, s.D}, 21, -2, 2), c = test::random_tensor({s.K, s.H, s.D}, 22, -2, 2);
        if (s.B > 1) std::memset(z.data<float>() + s.H * s.D, 0, sizeof(float) * s.D);  // a zero vector (cosine eps)
        Tensor dout = test::random_tensor({s.B, s.K, s.H}, 23);
        Tensor out = Tensor::empty({s.B, s.K, s.H}), dz = Tensor::empty(z.shape()), dc = Tensor::empty(c.shape());
        centre_distance_forward(kind, z, c, out);
        centre_distance_backward(kind, z, c, dout, dz, dc);

        const size_t pairs = size_t(s.B * s.K * s.H);
        test::GuardedBuffer gz(z), gc(c), gdout(dout), gout{pairs}, gdz{size_t(z.numel())}, gdc{size_t(c.numel())},
            gcoef{3 * pairs};
        EmulatedLauncher l;
        launch_centre_distance_forward(l, kind, gz.data(), gc.data(), gout.data(), s.B, s.K, s.H, s.D);
        launch_centre_distance_backward(l, kind, gz.data(), gc.data(), gdout.data(), gcoef.data(), gdz.data(),
                                        gdc.data(), s.B, s.K, s.H, s.D);
        EXPECT_TRUE(test::all_close(gout.tensor(out.shape()), out, 1e-5, 1e-4));
        EXPECT_TRUE(test::all_close(gdz.tensor(z.shape()), dz, 1e-5, 1e-4));
        EXPECT_TRUE(test::all_close(gdc.tensor(c.shape()), dc, 1e-4, 1e-4));
        EXPECT_TRUE(gout.check_canaries());
        EXPECT_TRUE(gdz.check_canaries());
        EXPECT_TRUE(gdc.check_canaries());
        EXPECT_TRUE(gcoef.check_canaries());
      }
  });
}

TEST(EmulatedCentreDistance, ZeroVectorGivesHalfAndFiniteGradient) {
  test::for_each_schedule([&] {
    Tensor z = Tensor::zeros({1, 1, 4}), c = test::random_tensor({2, 1, 4}, 5);
    Tensor out = Tensor::empty({1, 2, 1}), dz = Tensor::empty(z.shape()), dc = Tensor::empty(c.shape());
    centre_distance_forward(CentreDistance::HalfCosine, z, c, out);
    centre_distance_backward(CentreDistance::HalfCosine, z, c, Tensor::full({1, 2, 1}, 1.0), dz, dc);
    EXPECT_FLOAT_EQ(out.data<float>()[0], 0.5f);
    for (double v : dz.to_vector()) EXPECT_TRUE(std::isfinite(v));
    for (double v : dc.to_vector()) EXPECT_EQ(v, 0.0);  // z = 0: cos does not depend on c
  });
}

TEST(CentreDistance, RejectsMismatchedShapes) {
  Tensor z = Tensor::zeros({3, 1, 4}), c = Tensor::zeros({2, 1, 5}), out = Tensor::empty({3, 2, 1});
  EXPECT_TRUE(test::error_contains([&] { centre_distance_forward(CentreDistance::SquaredEuclidean, z, c, out); },
                                   "differ in heads or dimensions"));
  Tensor c2 = Tensor::zeros({2, 1, 4}), bad_out = Tensor::empty({3, 1, 2});
  EXPECT_TRUE(test::error_contains(
      [&] { centre_distance_forward(CentreDistance::SquaredEuclidean, z, c2, bad_out); }, "out must be"));
  EXPECT_TRUE(test::error_contains([] { parse_centre_distance("cosine"); }, "unknown distance"));
}

TEST(GradCheckCentreDistance, BothKinds) {
  for (CentreDistance kind : kKinds) {
    SCOPED_TRACE(centre_distance_name(kind));
    Tensor z = test::random_tensor({4, 2, 5}, 31, -1, 1, DType::F64);
    Tensor c = test::random_tensor({3, 2, 5}, 32, -1, 1, DType::F64);
    auto forward = [&] {
      Tensor out = Tensor::empty({4, 3, 2}, DType::F64);
      centre_distance_forward(kind, z, c, out);
      return out;
    };
    auto backward = [&](const Tensor& dout) {
      Tensor dz = Tensor::empty(z.shape(), DType::F64), dc = Tensor::empty(c.shape(), DType::F64);
      centre_distance_backward(kind, z, c, dout, dz, dc);
      return std::vector<Tensor>{dz, dc};
    };
    AD_EXPECT_GRADCHECK(test::grad_check({z, c}, {}, forward, backward));
  }
}

TEST(EmulatedHypersphere, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    for (HypersphereWeight form : kForms)
    for (int64_t B : {1, 31, 257, 600}) {
      SCOPED_TRACE("B=" + std::to_string(B) + (form == HypersphereWeight::Softmax ? " softmax" : " exp"));
      const float R = 1.3f;
      Tensor d2 = squared_distances(B, R * R, 41), radius = Tensor::full({1}, R);
      Tensor dres = test::random_tensor({B}, 42), dw = test::random_tensor({B}, 43);
      Tensor res = Tensor::empty({B}), w = Tensor::empty({B}), dd2 = Tensor::empty({B}), dr = Tensor::empty({1});
      hypersphere_forward(d2, radius, res, w, form);
      hypersphere_backward(d2, radius, dres, dw, dd2, dr, form);

      test::GuardedBuffer gd2(d2), gr(radius), gdres(dres), gdw(dw), gres{size_t(B)}, gw{size_t(B)}, gdd2{size_t(B)},
          gdr{1};
      EmulatedLauncher l;
      launch_hypersphere_forward(l, gd2.data(), gr.data(), gres.data(), gw.data(), B, form);
      launch_hypersphere_backward(l, gd2.data(), gr.data(), gdres.data(), gdw.data(), gdd2.data(), gdr.data(), B,
                                  form);
      EXPECT_TRUE(test::all_close(gres.tensor({B}), res, 1e-6, 1e-5));
      EXPECT_TRUE(test::all_close(gw.tensor({B}), w, 1e-7, 1e-4));
      EXPECT_TRUE(test::all_close(gdd2.tensor({B}), dd2, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gdr.tensor({1}), dr, 1e-4, 1e-4));
      for (auto* g : {&gres, &gw, &gdd2, &gdr}) EXPECT_TRUE(g->check_canaries());
    }
  });
}

TEST(Hypersphere, OutsidePointsGetNoWeight) {
  Tensor d2 = Tensor::from_vector({0.0, 0.5, 2.0, 9.0}, {4}), radius = Tensor::full({1}, 1.0);
  Tensor res = Tensor::empty({4}), w = Tensor::empty({4});
  hypersphere_forward(d2, radius, res, w);
  const std::vector<double> r = res.to_vector(), wv = w.to_vector();
  EXPECT_EQ(r[0], 0.0);
  EXPECT_EQ(r[1], 0.0);
  EXPECT_NEAR(r[2], 1.0, 1e-6);
  EXPECT_NEAR(r[3], 8.0, 1e-6);
  EXPECT_NEAR(wv[0] + wv[1], 1.0, 1e-6);
  EXPECT_LT(wv[2], 1e-20);
  // u = e^(1 - d2) - 1 inside: weight ratio of the two inside points.
  EXPECT_NEAR(wv[0] / wv[1], (std::exp(1.0) - 1) / (std::exp(0.5) - 1), 1e-5);

  // The older official form, softmax(relu(R^2 - d2)): outside points keep e^0 = 1 before normalising.
  hypersphere_forward(d2, radius, res, w, HypersphereWeight::Softmax);
  const std::vector<double> ws = w.to_vector();
  const double total = std::exp(1.0) + std::exp(0.5) + 2.0;
  EXPECT_NEAR(ws[0], std::exp(1.0) / total, 1e-6);
  EXPECT_NEAR(ws[2], 1.0 / total, 1e-6);
  EXPECT_NEAR(ws[3], 1.0 / total, 1e-6);
  EXPECT_TRUE(test::error_contains([] { parse_hypersphere_weight("relu"); }, "unknown weight form"));
}

TEST(GradCheckHypersphere, ResidueAndWeight) {
  const int64_t B = 9;
  for (HypersphereWeight form : kForms)
  for (double R : {0.8, -1.1}) {  // a negative radius: R^2 is what matters, dR flips sign
    SCOPED_TRACE("R=" + std::to_string(R) + (form == HypersphereWeight::Softmax ? " softmax" : " exp"));
    Tensor d2 = squared_distances(B, R * R, 51, DType::F64), radius = Tensor::full({1}, R, DType::F64);
    auto forward = [&] {
      Tensor out = Tensor::empty({2 * B}, DType::F64);
      Tensor res = out.narrow0(0, B), w = out.narrow0(B, B);
      hypersphere_forward(d2, radius, res, w, form);
      return out;
    };
    auto backward = [&](const Tensor& dout) {
      Tensor dd2 = Tensor::empty({B}, DType::F64), dr = Tensor::empty({1}, DType::F64);
      hypersphere_backward(d2, radius, dout.narrow0(0, B), dout.narrow0(B, B), dd2, dr, form);
      return std::vector<Tensor>{dd2, dr};
    };
    AD_EXPECT_GRADCHECK(test::grad_check({d2, radius}, {}, forward, backward));
  }
}

TEST(GpuParityCentreDistance, MatchesCpuReferenceAndRepeatsExactly) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (CentreDistance kind : kKinds) {
    const int64_t B = test::parity_size(1031, 331), K = 5, H = 3, D = 30;
    Tensor z = test::random_tensor({B, H, D}, seed), c = test::random_tensor({K, H, D}, seed + 1);
    Tensor dout = test::random_tensor({B, K, H}, seed + 2);
    Tensor out = Tensor::empty({B, K, H}), dz = Tensor::empty(z.shape()), dc = Tensor::empty(c.shape());
    centre_distance_forward(kind, z, c, out);
    centre_distance_backward(kind, z, c, dout, dz, dc);
    Tensor gz = z.to(G), gc = c.to(G), gdout = dout.to(G);
    Tensor gout = Tensor::empty(out.shape(), DType::F32, G);
    Tensor gdz = Tensor::empty(z.shape(), DType::F32, G), gdc = Tensor::empty(c.shape(), DType::F32, G);
    centre_distance_forward(kind, gz, gc, gout);
    centre_distance_backward(kind, gz, gc, gdout, gdz, gdc);
    EXPECT_TRUE(test::all_close(gout, out, 1e-5, 1e-4)) << centre_distance_name(kind);
    EXPECT_TRUE(test::all_close(gdz, dz, 1e-5, 1e-4)) << centre_distance_name(kind);
    EXPECT_TRUE(test::all_close(gdc, dc, 1e-3, 1e-4)) << centre_distance_name(kind);
    Tensor gdc2 = Tensor::empty(c.shape(), DType::F32, G);
    centre_distance_backward(kind, gz, gc, gdout, gdz, gdc2);
    EXPECT_EQ(gdc.to_vector(), gdc2.to_vector()) << "the centre gradient must repeat bit for bit";
  }
}

TEST(GpuParityHypersphere, MatchesCpuReference) {
  const Device G = test::parity_device();
  for (HypersphereWeight form : kForms) {
  const int64_t B = 1500;
  const float R = 0.9f;
  Tensor d2 = squared_distances(B, R * R, test::fresh_seed()), radius = Tensor::full({1}, R);
  Tensor dres = test::random_tensor({B}, 2), dw = test::random_tensor({B}, 3);
  Tensor res = Tensor::empty({B}), w = Tensor::empty({B}), dd2 = Tensor::empty({B}), dr = Tensor::empty({1});
  hypersphere_forward(d2, radius, res, w, form);
  hypersphere_backward(d2, radius, dres, dw, dd2, dr, form);
  Tensor gd2 = d2.to(G), gr = radius.to(G);
  Tensor gres = Tensor::empty({B}, DType::F32, G), gw = Tensor::empty({B}, DType::F32, G);
  Tensor gdd2 = Tensor::empty({B}, DType::F32, G), gdr = Tensor::empty({1}, DType::F32, G);
  hypersphere_forward(gd2, gr, gres, gw, form);
  hypersphere_backward(gd2, gr, dres.to(G), dw.to(G), gdd2, gdr, form);
  EXPECT_TRUE(test::all_close(gres, res, 1e-6, 1e-5));
  EXPECT_TRUE(test::all_close(gw, w, 1e-7, 1e-4));
  EXPECT_TRUE(test::all_close(gdd2, dd2, 1e-5, 1e-4));
  EXPECT_TRUE(test::all_close(gdr, dr, 1e-3, 1e-4));
  }
}
