#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/attention_pooling.cuh"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {

Tensor ptr_of(const std::vector<int64_t>& sizes) {
  Tensor p = Tensor::empty({int64_t(sizes.size()) + 1}, DType::I64);
  int64_t* d = p.data<int64_t>();
  d[0] = 0;
  for (size_t b = 0; b < sizes.size(); ++b) d[b + 1] = d[b] + sizes[b];
  return p;
}

struct PoolCase {
  std::string name;
  std::vector<int64_t> sizes;
  int64_t C;
  unsigned threads;
};

}  // namespace

TEST(EmulatedAttentionPool, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    const std::vector<PoolCase> cases = {{"12-node graphs x5 C=64", {12, 12, 12, 12, 12}, 64, 0},
                                         {"uneven with empty graph C=37", {3, 0, 45, 1}, 37, 0},
                                         {"large graph C=5 threads=32", {300, 7}, 5, 32},
                                         {"C=130 threads=64", {4, 9}, 130, 64},
                                         {"no graphs", {}, 3, 0}};
    for (const PoolCase& pc : cases) {
      SCOPED_TRACE(pc.name);
      Tensor gp = ptr_of(pc.sizes);
      test::RegisteredMemory r_gp(gp, "graph_ptr");
      const int64_t B = int64_t(pc.sizes.size()), N = gp.data<int64_t>()[B], C = pc.C;
      Tensor x = test::random_tensor({N, C}, 1), gate = test::random_tensor({N}, 2, -30, 30),
             dout = test::random_tensor({B, C}, 3);
      Tensor w = Tensor::empty({N}), out = Tensor::empty({B, C}), dx = Tensor::empty({N, C}), dg = Tensor::empty({N});
      attention_pool_forward(x, gate, gp, w, out);
      attention_pool_backward(x, w, gp, dout, dx, dg);

      test::GuardedBuffer gx(x), ggate(gate), gdout(dout), gw{size_t(N)}, gout{size_t(B * C)}, gdx{size_t(N * C)},
          gdg{size_t(N)};
      EmulatedLauncher l;
      launch_attention_pool_forward(l, gx.data(), ggate.data(), gp.data<int64_t>(), gw.data(), gout.data(), B, C,
                                    pc.threads);
      launch_attention_pool_backward(l, gx.data(), gw.data(), gp.data<int64_t>(), gdout.data(), gdx.data(), gdg.data(),
                                     B, C, pc.threads);
      EXPECT_TRUE(test::all_close(gw.tensor({N}), w, 1e-6, 1e-4));
      EXPECT_TRUE(test::all_close(gout.tensor({B, C}), out, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gdx.tensor({N, C}), dx, 1e-6, 1e-4));
      EXPECT_TRUE(test::all_close(gdg.tensor({N}), dg, 1e-5, 1e-4));
      for (auto* b : {&gw, &gout, &gdx, &gdg}) EXPECT_TRUE(b->check_canaries());
    }  });

}

// Two graphs: {gate 0, ln 3} -> weights (1/4, 3/4); an empty graph pools to zero; a one-node graph to itself.
TEST(AttentionPool, HandComputed) {
  Tensor gp = ptr_of({2, 0, 1});
  Tensor x = Tensor::from_vector({1, 2, 5, 6, -1, 4}, {3, 2}), gate = Tensor::from_vector({0, std::log(3.0), 9}, {3});
  Tensor w = Tensor::empty({3}), out = Tensor::empty({3, 2});
  attention_pool_forward(x, gate, gp, w, out);
  auto o = out.to_vector();
  const double want[] = {0.25 * 1 + 0.75 * 5, 0.25 * 2 + 0.75 * 6, 0, 0, -1, 4};
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(o[k], want[k], 1e-6) << k;
  EXPECT_NEAR(w.to_vector()[2], 1.0, 1e-7);
}

TEST(GradCheckAttentionPool, XAndGate) {
  for (auto sizes : {std::vector<int64_t>{3, 5, 1}, std::vector<int64_t>{12, 0, 2}}) {
    Tensor gp = ptr_of(sizes);
    const int64_t B = int64_t(sizes.size()), N = gp.data<int64_t>()[B], C = 4;
    Tensor x = test::random_tensor({N, C}, 5, -1, 1, DType::F64), gate = test::random_tensor({N}, 6, -2, 2, DType::F64);
    Tensor w;
    AD_EXPECT_GRADCHECK(test::grad_check(
        {x, gate}, {},
        [&] {
          w = Tensor::empty({N}, DType::F64);
          Tensor out = Tensor::empty({B, C}, DType::F64);
          attention_pool_forward(x, gate, gp, w, out);
          return out;
        },
        [&](const Tensor& dout) {
          Tensor dx = Tensor::empty({N, C}, DType::F64), dg = Tensor::empty({N}, DType::F64);
          attention_pool_backward(x, w, gp, dout, dx, dg);
          return std::vector<Tensor>{dx, dg};
        }));
  }
}

TEST(AttentionPool, BadInputsThrow) {
  Tensor x = test::random_tensor({5, 3}, 1), gate = test::random_tensor({5}, 2), w = Tensor::empty({5}),
         out = Tensor::empty({2, 3});
  EXPECT_NO_THROW(attention_pool_forward(x, gate, ptr_of({2, 3}), w, out));
  EXPECT_THROW(attention_pool_forward(x, gate, ptr_of({2, 2}), w, out), Error);  // does not end at N
  Tensor bad = ptr_of({2, 3});
  bad.data<int64_t>()[1] = 6;  // decreasing
  EXPECT_THROW(attention_pool_forward(x, gate, bad, w, out), Error);
  Tensor out_bad = Tensor::empty({3, 3});
  EXPECT_THROW(attention_pool_forward(x, gate, ptr_of({2, 3}), w, out_bad), Error);
  Tensor gate_bad = test::random_tensor({4}, 2);
  EXPECT_THROW(attention_pool_forward(x, gate_bad, ptr_of({2, 3}), w, out), Error);
}

TEST(GpuParityAttentionPool, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::vector<int64_t> sizes(size_t(test::parity_size(1000, 300)), 12);
  sizes[7] = 0;
  sizes[9] = test::parity_size(700, 300);
  Tensor gp = ptr_of(sizes);
  const int64_t B = int64_t(sizes.size()), N = gp.data<int64_t>()[B], C = 64;
  Tensor x = test::random_tensor({N, C}, seed), gate = test::random_tensor({N}, seed + 1, -5, 5),
         dout = test::random_tensor({B, C}, seed + 2);
  Tensor w = Tensor::empty({N}), out = Tensor::empty({B, C}), dx = Tensor::empty({N, C}), dg = Tensor::empty({N});
  attention_pool_forward(x, gate, gp, w, out);
  attention_pool_backward(x, w, gp, dout, dx, dg);
  Tensor ggp = gp.to(G), gx = x.to(G), gw = Tensor::empty({N}, DType::F32, G), gout = Tensor::empty({B, C}, DType::F32, G),
         gdx = Tensor::empty({N, C}, DType::F32, G), gdg = Tensor::empty({N}, DType::F32, G);
  attention_pool_forward(gx, gate.to(G), ggp, gw, gout);
  attention_pool_backward(gx, gw, ggp, dout.to(G), gdx, gdg);
  EXPECT_TRUE(test::all_close(gw, w, 1e-6, 1e-4));
  EXPECT_TRUE(test::all_close(gout, out, 1e-5, 1e-4));
  EXPECT_TRUE(test::all_close(gdx, dx, 1e-6, 1e-4));
  EXPECT_TRUE(test::all_close(gdg, dg, 1e-5, 1e-3));
}
