// GATv2 with the max over heads (kernels/gatv2.cuh, math in kernels/graph_attention.h): the CPU reference
// by hand and by gradient check; the load-balanced kernels (light rows in lane groups, heavy rows in merged
// segments) emulated under every schedule against it; GPU parity.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/gatv2.cuh"
#include "tests/support/attention_graphs.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;
using test::low_degree_graph;
using test::random_graph;
using test::RegisteredGraph;

namespace {

struct Gatv2Ref {
  Tensor attn, out, arg, edge_grad, datt_rows, dsrc, ddst, datt;
};

Gatv2Ref gatv2_reference(const AttentionGraph& g, const Tensor& src, const Tensor& dst, const Tensor& att,
                         const Tensor& dout, const Gatv2Options& opt) {
  const DType dt = src.dtype();
  const int64_t n = g.nodes(), HD = src.size(1), D = HD / opt.heads, nnz = g.edges();
  Gatv2Ref r{Tensor::empty({nnz, opt.heads}, dt), Tensor::empty({n, D}, dt), Tensor::empty({n, D}, DType::I32),
             Tensor::empty({nnz, opt.heads}, dt), Tensor::empty({n, HD}, dt), Tensor::empty({n, HD}, dt),
             Tensor::empty({n, HD}, dt), Tensor::empty({HD}, dt)};
  gatv2_forward(g, src, dst, att, opt, r.attn, r.out, r.arg);
  gatv2_backward(g, src, dst, att, r.attn, r.arg, dout, opt, r.edge_grad, r.datt_rows, r.dsrc, r.ddst, r.datt);
  return r;
}

struct Gatv2Case {
  std::string name;
  CsrMatrix adj;
  int64_t heads, head_dim;
  unsigned threads;  // 0: the launcher's default segment block
  GatSplitOptions split;
};

std::vector<Gatv2Case> gatv2_cases() {
  // Small splits (light rows of <= 2 edges, segments of 5 edges) reach the heavy path's multi-segment
  // merges on small graphs; the default split covers the rest.
  const GatSplitOptions tiny{2, 5}, none{0, 3}, dflt{};
  return {{"random n=60 H=4 D=5", random_graph(60, 6, 11), 4, 5, 0, dflt},
          {"random n=60 H=4 D=5 tiny split", random_graph(60, 6, 11), 4, 5, 0, tiny},
          {"random n=45 H=3 D=37 tiny split", random_graph(45, 8, 12), 3, 37, 0, tiny},
          {"random n=30 H=1 D=1 all heavy", random_graph(30, 5, 13), 1, 1, 0, none},
          // H*D = 280 above the 32-thread block: several channel chunks; D = 70 > 32 lanes per head.
          {"random n=25 H=4 D=70 threads=32 tiny split", random_graph(25, 9, 14), 4, 70, 32, tiny},
          // H*D = 300 > 256: the default block and two channel chunks.
          {"random n=12 H=3 D=100 tiny split", random_graph(12, 5, 15), 3, 100, 0, tiny},
          // Degrees 0-3 only: every row a light row, lane groups of 8 (D = 7) and 32 (D = 33).
          {"degrees 0-3 n=97 H=4 D=7", low_degree_graph(97), 4, 7, 0, dflt},
          {"degrees 0-3 n=50 H=2 D=33", low_degree_graph(50), 2, 33, 0, dflt},
          // A hub row and column of 300 edges: two segments of the default split, sixty of the tiny one.
          {"hub n=300 H=2 D=3", random_graph(300, 2, 16, 7), 2, 3, 0, dflt},
          {"hub n=300 H=5 D=7 threads=1 tiny split", random_graph(300, 1, 17, 123), 5, 7, 1, tiny},
          {"hub n=300 H=3 D=9 threads=64 all heavy", random_graph(300, 1, 19, 5), 3, 9, 64, none},
          // A hub row and column of 2500 edges: ten segments of the default split.
          {"hub n=2500 H=2 D=3", random_graph(2500, 1, 18, 1234), 2, 3, 0, dflt},
          {"single node self loop", csr_from_triplets(1, 1, {0}, {0}, {1.0}), 4, 3, 0, dflt},
          {"single node self loop all heavy", csr_from_triplets(1, 1, {0}, {0}, {1.0}), 4, 3, 0, none},
          {"single node no edges", csr_from_triplets(1, 1, {}, {}, {}), 2, 3, 0, dflt},
          {"no nodes", csr_from_triplets(0, 0, {}, {}, {}), 4, 3, 0, dflt}};
}

}  // namespace

// Every path of the split (light lane groups of 1 to 32 lanes, heavy rows and columns of one and of many
// segments, blocks of 1, 32, 64 and 256 threads) against the CPU reference; for_each_schedule also demands the
// same bits in every buffer under every thread and block order.
TEST(EmulatedGatv2, ForwardAndBackwardMatchCpuReference) {
  int multi_segment_rows = 0, multi_segment_cols = 0;
  test::for_each_schedule([&] {
    for (const Gatv2Case& gc : gatv2_cases()) {
      SCOPED_TRACE(gc.name);
      AttentionGraph g = AttentionGraph::build(gc.adj, gc.split);
      RegisteredGraph registered(g);
      multi_segment_rows += g.row_split.segments() > g.row_split.heavies();
      multi_segment_cols += g.col_split.segments() > g.col_split.heavies();
      const int64_t n = g.nodes(), H = gc.heads, D = gc.head_dim, HD = H * D, nnz = g.edges();
      Gatv2Options opt;
      opt.heads = H;
      opt.negative_slope = 0.3;
      Tensor src = test::random_tensor({n, HD}, 1), dst = test::random_tensor({n, HD}, 2),
             att = test::random_tensor({HD}, 3, -2, 2), dout = test::random_tensor({n, D}, 4);
      Gatv2Ref ref = gatv2_reference(g, src, dst, att, dout, opt);

      test::GuardedBuffer gsrc(src), gdst(dst), gatt(att), gdout(dout);
      test::GuardedBuffer gattn{size_t(nnz * H)}, gout{size_t(n * D)}, gedge{size_t(nnz * H)}, grows{size_t(n * HD)},
          gdsrc{size_t(n * HD)}, gddst{size_t(n * HD)};
      GatGraphView v = gat_view(g, false);
      test::GuardedBuffer gws{size_t(gatv2_workspace(v, H, D))};
      std::vector<int32_t> arg(size_t(n * D) + 1, -7);  // +1: a canary past the end
      test::RegisteredMemory r_arg(arg.data(), size_t(n * D) * sizeof(int32_t), "arg"),
          r_ref_arg(ref.arg, "reference arg");
      Gatv2Params p;
      p.heads = H;
      p.head_dim = D;
      p.slope = 0.3f;
      EmulatedLauncher l;
      launch_gatv2_forward(l, v, p, gsrc.data(), gdst.data(), gatt.data(), gattn.data(), gout.data(), arg.data(),
                           gws.data(), gc.threads);
      // The backward reads the reference's arg so that a near-tie decided differently in f32 cannot diverge.
      const int32_t* ref_arg = ref.arg.data<int32_t>();
      int mismatched_arg = 0;
      for (int64_t k = 0; k < n * D; ++k) mismatched_arg += arg[size_t(k)] != ref_arg[k];
      EXPECT_EQ(mismatched_arg, 0);
      EXPECT_EQ(arg.back(), -7);
      launch_gatv2_backward(l, v, p, gsrc.data(), gdst.data(), gatt.data(), gattn.data(), ref_arg, gdout.data(),
                            gedge.data(), grows.data(), gdsrc.data(), gddst.data(), gws.data(), gc.threads);
      EXPECT_TRUE(test::all_close(gattn.tensor({nnz, H}), ref.attn, 1e-6, 1e-4));
      EXPECT_TRUE(test::all_close(gout.tensor({n, D}), ref.out, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gedge.tensor({nnz, H}), ref.edge_grad, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(grows.tensor({n, HD}), ref.datt_rows, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gdsrc.tensor({n, HD}), ref.dsrc, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gddst.tensor({n, HD}), ref.ddst, 1e-5, 1e-4));
      for (auto* b : {&gattn, &gout, &gedge, &grows, &gdsrc, &gddst, &gws}) EXPECT_TRUE(b->check_canaries());
    }
  });
  // The small splits gave rows and columns of several segments (their merges ran).
  EXPECT_GT(multi_segment_rows, 0);
  EXPECT_GT(multi_segment_cols, 0);
}

// Two nodes, one head of two channels, edges (0,0), (0,1), (1,0); slope 0.2, att = (1, -1):
//   row 0: u00 = (1+0, 2+1) = (1, 3) -> e = 1 - 3 = -2;  u01 = (-1+0, 0+1) = (-1, 1) -> e = -0.2 - 1 = -1.2
//   attn = softmax(-2, -1.2) = (1 - s, s), s = 1 / (1 + e^-0.8); out_0 = (1-s) (1, 2) + s (-1, 0).
//   row 1: one edge, attn 1, out_1 = src_0 = (1, 2).
TEST(Gatv2, HandComputedTwoNodes) {
  AttentionGraph g = AttentionGraph::build(csr_from_triplets(2, 2, {0, 0, 1}, {0, 1, 0}, {}));
  Tensor src = Tensor::from_vector({1, 2, -1, 0}, {2, 2}), dst = Tensor::from_vector({0, 1, 5, 5}, {2, 2}),
         att = Tensor::from_vector({1, -1}, {2}), dout = Tensor::from_vector({1, 0, 0, 0}, {2, 2});
  Gatv2Options opt;
  Gatv2Ref r = gatv2_reference(g, src, dst, att, dout, opt);
  const double s = 1 / (1 + std::exp(-0.8));
  auto attn = r.attn.to_vector(), out = r.out.to_vector();
  EXPECT_NEAR(attn[0], 1 - s, 1e-7);
  EXPECT_NEAR(attn[1], s, 1e-7);
  EXPECT_NEAR(attn[2], 1.0, 1e-7);
  EXPECT_NEAR(out[0], (1 - s) * 1 - s, 1e-6);
  EXPECT_NEAR(out[1], (1 - s) * 2, 1e-6);
  EXPECT_NEAR(out[2], 1, 1e-6);
  EXPECT_NEAR(out[3], 2, 1e-6);
  // dout_0 = (1, 0): d_attn = (1, -1), rs = (1-s) - s; de00 = (1-s)(1 - rs) = 2s(1-s), de01 = -2s(1-s).
  auto eg = r.edge_grad.to_vector();
  EXPECT_NEAR(eg[0], 2 * s * (1 - s), 1e-6);
  EXPECT_NEAR(eg[1], -2 * s * (1 - s), 1e-6);
  EXPECT_NEAR(eg[2], 0.0, 1e-7);
}

TEST(GradCheckGatv2, SrcDstAndAtt) {
  struct G {
    CsrMatrix adj;
    int64_t H, D;
  };
  std::vector<G> graphs = {{random_graph(12, 4, 31), 3, 2},
                           {random_graph(9, 3, 32), 1, 4},
                           {csr_from_triplets(1, 1, {0}, {0}, {1.5}), 2, 2},
                           {random_graph(14, 2, 33, 4), 4, 1}};
  for (const G& gr : graphs) {
    SCOPED_TRACE(gr.adj.describe() + " H=" + std::to_string(gr.H));
    AttentionGraph g = AttentionGraph::build(gr.adj);
    const int64_t n = g.nodes(), H = gr.H, D = gr.D, HD = H * D, nnz = g.edges();
    Gatv2Options opt;
    opt.heads = H;
    opt.negative_slope = 0.2;
    Tensor src = test::random_tensor({n, HD}, 41, -1, 1, DType::F64),
           dst = test::random_tensor({n, HD}, 42, -1, 1, DType::F64),
           att = test::random_tensor({HD}, 43, -2, 2, DType::F64);
    Tensor attn, arg;
    AD_EXPECT_GRADCHECK(test::grad_check(
        {src, dst, att}, {},
        [&] {
          attn = Tensor::empty({nnz, H}, DType::F64);
          arg = Tensor::empty({n, D}, DType::I32);
          Tensor out = Tensor::empty({n, D}, DType::F64);
          gatv2_forward(g, src, dst, att, opt, attn, out, arg);
          return out;
        },
        [&](const Tensor& dout) {
          Tensor eg = Tensor::empty({nnz, H}, DType::F64), rows = Tensor::empty({n, HD}, DType::F64),
                 dsrc = Tensor::empty({n, HD}, DType::F64), ddst = Tensor::empty({n, HD}, DType::F64),
                 datt = Tensor::empty({HD}, DType::F64);
          gatv2_backward(g, src, dst, att, attn, arg, dout, opt, eg, rows, dsrc, ddst, datt);
          return std::vector<Tensor>{dsrc, ddst, datt};
        }));
  }
}

TEST(Gatv2, BadShapesThrow) {
  AttentionGraph g = AttentionGraph::build(random_graph(10, 3, 51));
  const int64_t n = 10, H = 2, D = 3, nnz = g.edges();
  Gatv2Options opt;
  opt.heads = H;
  Tensor src = test::random_tensor({n, H * D}, 1), dst = test::random_tensor({n, H * D}, 2),
         att = test::random_tensor({H * D}, 3);
  Tensor attn = Tensor::empty({nnz, H}), out = Tensor::empty({n, D}), arg = Tensor::empty({n, D}, DType::I32);
  EXPECT_NO_THROW(gatv2_forward(g, src, dst, att, opt, attn, out, arg));
  Gatv2Options three = opt;
  three.heads = 4;  // 6 channels are not a multiple of 4 heads
  EXPECT_THROW(gatv2_forward(g, src, dst, att, three, attn, out, arg), Error);
  Tensor att_bad = test::random_tensor({H * D + 1}, 3), arg_f = Tensor::empty({n, D});
  EXPECT_THROW(gatv2_forward(g, src, dst, att_bad, opt, attn, out, arg), Error);
  EXPECT_THROW(gatv2_forward(g, src, dst, att, opt, attn, out, arg_f), Error);
  Tensor out_bad = Tensor::empty({n, H * D});
  EXPECT_THROW(gatv2_forward(g, src, dst, att, opt, attn, out_bad, arg), Error);
}

TEST(GpuParityGatv2, MatchesCpuReferenceOnFreshGraphs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  struct P {
    int64_t n;
    int max_deg;
    int64_t hub, H, D;
    GatSplitOptions split;
  };
  // Smaller (still awkward) shapes on the emulated device, which runs one fiber per GPU thread. The hubs are
  // heavy rows and columns of several segments; the small split makes many more.
  const GatSplitOptions dflt{}, small{4, 16};
  const std::vector<P> cases =
      cuda_available()
          ? std::vector<P>{{1, 0, -1, 4, 64, dflt},      {600, 8, -1, 4, 64, dflt}, {5000, 20, 17, 3, 37, dflt},
                           {20000, 6, 3, 4, 64, dflt},   {3000, 12, 5, 2, 33, small}, {0, 0, -1, 2, 3, dflt}}
          : std::vector<P>{{1, 0, -1, 4, 64, dflt},      {200, 8, -1, 4, 64, dflt}, {1001, 20, 17, 3, 37, dflt},
                           {301, 12, 5, 2, 33, small},   {0, 0, -1, 2, 3, dflt}};
  for (const P& pc : cases) {
    SCOPED_TRACE("n=" + std::to_string(pc.n) + " H=" + std::to_string(pc.H) + " D=" + std::to_string(pc.D) +
                 " light_degree=" + std::to_string(pc.split.light_degree));
    AttentionGraph g = AttentionGraph::build(random_graph(pc.n, pc.max_deg, seed, pc.hub), pc.split);
    const int64_t n = g.nodes(), H = pc.H, D = pc.D, HD = H * D, nnz = g.edges();
    Gatv2Options opt;
    opt.heads = H;
    opt.negative_slope = 0.15;
    Tensor src = test::random_tensor({n, HD}, seed + 1), dst = test::random_tensor({n, HD}, seed + 2),
           att = test::random_tensor({HD}, seed + 3), dout = test::random_tensor({n, D}, seed + 4);
    Gatv2Ref ref = gatv2_reference(g, src, dst, att, dout, opt);

    AttentionGraph gg = g.to(G);
    Tensor gsrc = src.to(G), gdst = dst.to(G), gatt = att.to(G), gdout = dout.to(G), gref_arg = ref.arg.to(G);
    auto nan = [&](const Shape& s) { return Tensor::full(s, NAN, DType::F32, G); };  // unwritten shows
    auto run = [&] {
      Gatv2Ref r{nan({nnz, H}), nan({n, D}), Tensor::full({n, D}, -7, DType::I32, G), nan({nnz, H}), nan({n, HD}),
                 nan({n, HD}), nan({n, HD}), nan({HD})};
      gatv2_forward(gg, gsrc, gdst, gatt, opt, r.attn, r.out, r.arg);
      // Backward from the reference's arg (a near-tie may be decided differently in f32).
      gatv2_backward(gg, gsrc, gdst, gatt, r.attn, gref_arg, gdout, opt, r.edge_grad, r.datt_rows, r.dsrc, r.ddst,
                     r.datt);
      return r;
    };
    const Gatv2Ref gr = run();
    EXPECT_TRUE(test::all_close(gr.attn, ref.attn, 1e-6, 1e-4));
    EXPECT_TRUE(test::all_close(gr.out, ref.out, 1e-5, 1e-4));
    const std::vector<double> arg = gr.arg.to_vector(), ref_arg = ref.arg.to_vector();
    int64_t mismatched_arg = 0;  // only near-ties may differ
    for (size_t k = 0; k < arg.size(); ++k) mismatched_arg += arg[k] != ref_arg[k];
    EXPECT_LE(mismatched_arg, int64_t(arg.size()) / 1000);
    EXPECT_TRUE(test::all_close(gr.edge_grad, ref.edge_grad, 1e-5, 1e-3));
    EXPECT_TRUE(test::all_close(gr.dsrc, ref.dsrc, 1e-4, 1e-3));
    EXPECT_TRUE(test::all_close(gr.ddst, ref.ddst, 1e-4, 1e-3));
    EXPECT_TRUE(test::all_close(gr.datt, ref.datt, 1e-3, 1e-3));
    // No atomics: a second run gives the same bits.
    const Gatv2Ref again = run();
    for (auto [a, b] : {std::pair{&again.attn, &gr.attn}, {&again.out, &gr.out}, {&again.edge_grad, &gr.edge_grad},
                        {&again.datt_rows, &gr.datt_rows}, {&again.dsrc, &gr.dsrc}, {&again.ddst, &gr.ddst}})
      EXPECT_TRUE(test::all_close(*a, *b, 0, 0));
    EXPECT_TRUE(test::all_close(again.arg, gr.arg, 0, 0));
  }
}
