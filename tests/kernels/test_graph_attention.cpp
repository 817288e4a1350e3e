#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>

#include "kernels/graph_attention.cuh"
#include "tests/support/attention_graphs.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;
using test::low_degree_graph;
using test::random_graph;
using test::RegisteredGraph;
using test::with_values;

namespace {

struct GatCase {
  std::string name;
  CsrMatrix adj;
  int64_t channels;
  unsigned threads;  // 0: the launcher's default segment block
  GatSplitOptions split;
};

std::vector<GatCase> gat_cases() {
  // Small splits (light rows of <= 2 edges, segments of 5 edges) reach the heavy path's multi-segment
  // merges on small graphs; the default split covers the rest.
  const GatSplitOptions tiny{2, 5}, none{0, 3}, dflt{};
  std::vector<GatCase> cs;
  cs.push_back({"random n=60 C=5", random_graph(60, 6, 11), 5, 0, dflt});
  cs.push_back({"random n=60 C=5 tiny split", random_graph(60, 6, 11), 5, 0, tiny});
  cs.push_back({"random n=45 C=37 tiny split", random_graph(45, 8, 12), 37, 0, tiny});
  cs.push_back({"random n=30 C=1 all heavy", random_graph(30, 5, 13), 1, 0, none});
  // C above the 32-thread block: several column chunks; lanes == block, one group.
  cs.push_back({"random n=25 C=70 threads=32 tiny split", random_graph(25, 9, 14), 70, 32, tiny});
  // C = 300 > 256: the default block of 256 and two column chunks; light groups loop over channels.
  cs.push_back({"random n=12 C=300", random_graph(12, 5, 15), 300, 0, dflt});
  cs.push_back({"random n=12 C=300 tiny split", random_graph(12, 5, 15), 300, 0, tiny});
  // Degrees 0-3 only: every row a light row, lane groups of 8 (C = 7) and 32 (C = 33).
  cs.push_back({"degrees 0-3 n=97 C=7", low_degree_graph(97), 7, 0, dflt});
  cs.push_back({"degrees 0-3 n=50 C=33", low_degree_graph(50), 33, 0, dflt});
  // A hub with out- and in-degree 300: two segments of the default split, many of the tiny one.
  cs.push_back({"hub n=300 C=3", random_graph(300, 2, 16, 7), 3, 0, dflt});
  cs.push_back({"hub n=300 C=40 threads=64 tiny split", random_graph(300, 1, 17, 123), 40, 64, tiny});
  // A hub row and column of 2500 edges: ten segments of the default split.
  cs.push_back({"hub n=2500 C=4", random_graph(2500, 1, 18, 1234), 4, 0, dflt});
  cs.push_back({"single node self loop", csr_from_triplets(1, 1, {0}, {0}, {1.0}), 4, 0, dflt});
  cs.push_back({"single node self loop all heavy", csr_from_triplets(1, 1, {0}, {0}, {1.0}), 4, 0, none});
  cs.push_back({"single node no edges", csr_from_triplets(1, 1, {}, {}, {}), 3, 0, dflt});
  cs.push_back({"no nodes", csr_from_triplets(0, 0, {}, {}, {}), 3, 0, dflt});
  return cs;
}

struct GatRef {
  Tensor attn, out, edge_grad, dfeat, df_src, df_dst;
};

GatRef cpu_reference(const AttentionGraph& g, const Tensor& feat, const Tensor& fs, const Tensor& fd,
                     const Tensor& dout, const GraphAttentionOptions& opt) {
  DType dt = feat.dtype();
  int64_t n = g.nodes(), C = feat.size(1), nnz = g.edges();
  GatRef r{Tensor::empty({nnz}, dt),      Tensor::empty({n, C}, dt), Tensor::empty({nnz}, dt),
           Tensor::empty({n, C}, dt),     Tensor::empty({n}, dt),    Tensor::empty({n}, dt)};
  graph_attention_forward(g, feat, fs, fd, opt, r.attn, r.out);
  graph_attention_backward(g, feat, fs, fd, r.attn, dout, opt, r.edge_grad, r.dfeat, r.df_src, r.df_dst);
  return r;
}

}  // namespace

TEST(EmulatedGraphAttention, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    for (const GatCase& gc : gat_cases()) {
      for (bool scale : {true, false}) {
        SCOPED_TRACE(gc.name + (scale ? " scaled" : " plain"));
        AttentionGraph g = AttentionGraph::build(with_values(gc.adj), gc.split);
        RegisteredGraph registered(g);
        const int64_t n = g.nodes(), C = gc.channels, nnz = g.edges();
        GraphAttentionOptions opt;
        opt.scale_logits_by_adj = scale;
        opt.negative_slope = 0.2;
        // Logits up to ~+-60: without the max subtraction exp would overflow in f32.
        Tensor feat = test::random_tensor({n, C}, 1), fs = test::random_tensor({n}, 2, -20, 20),
               fd = test::random_tensor({n}, 3, -20, 20), dout = test::random_tensor({n, C}, 4);
        GatRef ref = cpu_reference(g, feat, fs, fd, dout, opt);

        test::GuardedBuffer gval(g.adj.val), gfeat(feat), gfs(fs), gfd(fd), gdout(dout);
        GatGraphView v = gat_view(g, false);
        test::GuardedBuffer gattn{size_t(nnz)}, gout{size_t(n * C)}, gedge{size_t(nnz)}, gdfeat{size_t(n * C)},
            gdfs{size_t(n)}, gdfd{size_t(n)}, gws{size_t(gat_workspace(v, C))};
        if (scale) v.val = gval.data();
        GatParams p;
        p.channels = C;
        p.slope = 0.2f;
        p.scale = scale;
        EmulatedLauncher l;
        launch_graph_attention_forward(l, v, p, gfeat.data(), gfs.data(), gfd.data(), gattn.data(), gout.data(),
                                       gws.data(), gc.threads);
        launch_graph_attention_backward(l, v, p, gfeat.data(), gfs.data(), gfd.data(), gattn.data(), gdout.data(),
                                        gedge.data(), gdfeat.data(), gdfs.data(), gdfd.data(), gws.data(), gc.threads);
        EXPECT_TRUE(test::all_close(gattn.tensor({nnz}), ref.attn, 1e-6, 1e-4));
        EXPECT_TRUE(test::all_close(gout.tensor({n, C}), ref.out, 1e-5, 1e-4));
        EXPECT_TRUE(test::all_close(gedge.tensor({nnz}), ref.edge_grad, 1e-5, 1e-4));
        EXPECT_TRUE(test::all_close(gdfeat.tensor({n, C}), ref.dfeat, 1e-5, 1e-4));
        EXPECT_TRUE(test::all_close(gdfs.tensor({n}), ref.df_src, 1e-5, 1e-4));
        EXPECT_TRUE(test::all_close(gdfd.tensor({n}), ref.df_dst, 1e-5, 1e-4));
        for (auto* b : {&gattn, &gout, &gedge, &gdfeat, &gdfs, &gdfd, &gws}) EXPECT_TRUE(b->check_canaries());
      }
    }
  });
}

// The split follows the row lengths: empty and short rows are light, a row of 12 edges with segments of 5
// gets three segments (5, 5, 2), and every row lands in exactly one list.
TEST(GatSplitPlan, RowsByDegree) {
  std::vector<int64_t> r, c;
  for (int64_t j = 0; j < 12; ++j) r.push_back(1), c.push_back(j);  // row 1: 12 edges
  for (int64_t j = 0; j < 2; ++j) r.push_back(3), c.push_back(j);   // row 3: 2 edges
  r.push_back(4), c.push_back(0);                                   // row 4: 1 edge; rows 0, 2 empty
  CsrMatrix m = csr_from_triplets(12, 12, r, c, {});
  GatSplitPlan p = GatSplitPlan::build(m, GatSplitOptions{2, 5});
  EXPECT_EQ(p.lights(), 11);
  ASSERT_EQ(p.heavies(), 1);
  EXPECT_EQ(p.heavy_rows.data<int32_t>()[0], 1);
  EXPECT_EQ(p.segments(), 3);
  EXPECT_EQ(p.heavy_seg_ptr.data<int64_t>()[1], 3);
  EXPECT_TRUE(test::error_contains([&] { GatSplitPlan::build(m, GatSplitOptions{2, 0}); }, "segment_edges >= 1"));
  // Built with every AttentionGraph, for the rows and for the columns.
  AttentionGraph g = AttentionGraph::build(m, GatSplitOptions{2, 5});
  EXPECT_EQ(g.row_split.segments(), 3);
  ASSERT_EQ(g.col_split.heavies(), 1);  // column 0: edges from rows 1, 3 and 4
  EXPECT_EQ(g.col_split.heavy_rows.data<int32_t>()[0], 0);
  EXPECT_EQ(g.col_split.segments(), 1);
}

// Rows without nonzeros give zero output and zero df_src; columns nobody points to give zero dfeat/df_dst.
TEST(GraphAttention, IsolatedNodesGetZeros) {
  AttentionGraph g = AttentionGraph::build(random_graph(40, 4, 21));
  const int64_t n = g.nodes(), C = 6;
  Tensor feat = test::random_tensor({n, C}, 5), fs = test::random_tensor({n}, 6), fd = test::random_tensor({n}, 7),
         dout = test::random_tensor({n, C}, 8);
  GatRef r = cpu_reference(g, feat, fs, fd, dout, {});
  auto out = r.out.to_vector(), dfeat = r.dfeat.to_vector(), dfs = r.df_src.to_vector(), dfd = r.df_dst.to_vector();
  const int64_t* rp = g.adj.row_ptr.data<int64_t>();
  const int64_t* trp = g.adj_t.row_ptr.data<int64_t>();
  int no_out = 0, no_in = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (rp[i] == rp[i + 1]) {
      ++no_out;
      EXPECT_EQ(dfs[i], 0.0);
      for (int64_t c = 0; c < C; ++c) EXPECT_EQ(out[i * C + c], 0.0);
    }
    if (trp[i] == trp[i + 1]) {
      ++no_in;
      EXPECT_EQ(dfd[i], 0.0);
      for (int64_t c = 0; c < C; ++c) EXPECT_EQ(dfeat[i * C + c], 0.0);
    }
  }
  EXPECT_GT(no_out, 0);
  EXPECT_GT(no_in, 0);
  // Attention sums to one on every non-empty row.
  auto attn = r.attn.to_vector();
  for (int64_t i = 0; i < n; ++i) {
    if (rp[i] == rp[i + 1]) continue;
    double s = 0;
    for (int64_t e = rp[i]; e < rp[i + 1]; ++e) s += attn[e];
    EXPECT_NEAR(s, 1.0, 1e-6) << "row " << i;
  }
}

// Three nodes: edges (0,0) a=1, (0,1) a=2, (1,0) a=1; node 2 isolated. slope 0.2, scaled logits:
//   e00 = 1 (0.5 + 0.25) = 0.75, e01 = 2 (0.5 - 1) = -1 -> -0.2, e10 = 1 (-1 + 0.25) = -0.75.
//   attn0 = softmax(0.75, -0.2) = (a, b), a = 1 / (1 + e^-0.95) = 0.7211151780228631; attn1 = (1).
TEST(GraphAttention, HandComputedThreeNodes) {
  CsrMatrix adj = csr_from_triplets(3, 3, {0, 0, 1}, {0, 1, 0}, {1, 2, 1});
  AttentionGraph g = AttentionGraph::build(adj);
  Tensor feat = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor fs = Tensor::from_vector({0.5, -1, 7}, {3}), fd = Tensor::from_vector({0.25, -1, 9}, {3});
  Tensor dout = Tensor::from_vector({1, 0, 0, 1, 5, 5}, {3, 2});
  GatRef r = cpu_reference(g, feat, fs, fd, dout, {});
  const double a = 0.7211151780228631, b = 1 - a;
  auto attn = r.attn.to_vector();
  EXPECT_NEAR(attn[0], a, 1e-7);
  EXPECT_NEAR(attn[1], b, 1e-7);
  EXPECT_NEAR(attn[2], 1.0, 1e-7);
  auto out = r.out.to_vector();
  const double want_out[] = {a * 1 + b * 3, a * 2 + b * 4, 1, 2, 0, 0};
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(out[k], want_out[k], 1e-6) << k;

  // Backward. Row 0: d_attn = (dout0.feat0, dout0.feat1) = (1, 3); rs = a + 3b;
  //   g00 = a (1 - rs) * 1 * 1, g01 = b (3 - rs) * 0.2 * 2. Row 1: d_attn = 2 = rs -> g10 = 0.
  const double rs = a + 3 * b, g00 = a * (1 - rs), g01 = b * (3 - rs) * 0.2 * 2;
  auto eg = r.edge_grad.to_vector(), dfs = r.df_src.to_vector(), dfd = r.df_dst.to_vector(),
       dfeat = r.dfeat.to_vector();
  EXPECT_NEAR(eg[0], g00, 1e-6);
  EXPECT_NEAR(eg[1], g01, 1e-6);
  EXPECT_NEAR(eg[2], 0.0, 1e-6);
  EXPECT_NEAR(dfs[0], g00 + g01, 1e-6);
  EXPECT_NEAR(dfs[1], 0.0, 1e-6);
  EXPECT_EQ(dfs[2], 0.0);
  EXPECT_NEAR(dfd[0], g00, 1e-6);
  EXPECT_NEAR(dfd[1], g01, 1e-6);
  EXPECT_EQ(dfd[2], 0.0);
  // dfeat_0 = a dout_0 + 1 dout_1, dfeat_1 = b dout_0, dfeat_2 = 0.
  const double want_dfeat[] = {a, 1, b, 0, 0, 0};
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(dfeat[k], want_dfeat[k], 1e-6) << k;

  // Plain form: e00 = 0.75, e01 = -0.5 -> -0.1: attn0 = 1 / (1 + e^-0.85).
  GraphAttentionOptions plain;
  plain.scale_logits_by_adj = false;
  GatRef p = cpu_reference(g, feat, fs, fd, dout, plain);
  const double pa = 1 / (1 + std::exp(-0.85));
  EXPECT_NEAR(p.attn.to_vector()[0], pa, 1e-7);
  EXPECT_NEAR(p.out.to_vector()[0], pa * 1 + (1 - pa) * 3, 1e-6);
}

TEST(GradCheckGraphAttention, FeatAndBothProjections) {
  struct G {
    CsrMatrix adj;
    int64_t C;
  };
  std::vector<G> graphs = {{random_graph(12, 4, 31), 3},
                           {random_graph(9, 3, 32).to_dtype(DType::F64), 5},
                           {csr_from_triplets(1, 1, {0}, {0}, {1.5}), 2},
                           {random_graph(20, 2, 33, 4), 1}};
  for (const G& gr : graphs) {
    for (bool scale : {true, false}) {
      SCOPED_TRACE(gr.adj.describe() + (scale ? " scaled" : " plain"));
      AttentionGraph g = AttentionGraph::build(gr.adj);
      const int64_t n = g.nodes(), C = gr.C, nnz = g.edges();
      GraphAttentionOptions opt;
      opt.scale_logits_by_adj = scale;
      opt.negative_slope = 0.2;
      Tensor feat = test::random_tensor({n, C}, 41, -1, 1, DType::F64),
             fs = test::random_tensor({n}, 42, -2, 2, DType::F64), fd = test::random_tensor({n}, 43, -2, 2, DType::F64);
      Tensor attn;
      AD_EXPECT_GRADCHECK(test::grad_check(
          {feat, fs, fd}, {},
          [&] {
            attn = Tensor::empty({nnz}, DType::F64);
            Tensor out = Tensor::empty({n, C}, DType::F64);
            graph_attention_forward(g, feat, fs, fd, opt, attn, out);
            return out;
          },
          [&](const Tensor& dout) {
            Tensor eg = Tensor::empty({nnz}, DType::F64), dfeat = Tensor::empty({n, C}, DType::F64),
                   dfs = Tensor::empty({n}, DType::F64), dfd = Tensor::empty({n}, DType::F64);
            graph_attention_backward(g, feat, fs, fd, attn, dout, opt, eg, dfeat, dfs, dfd);
            return std::vector<Tensor>{dfeat, dfs, dfd};
          }));
    }
  }
}

TEST(GraphAttention, BadShapesThrow) {
  AttentionGraph g = AttentionGraph::build(random_graph(10, 3, 51));
  const int64_t n = 10, C = 4, nnz = g.edges();
  Tensor feat = test::random_tensor({n, C}, 1), fs = test::random_tensor({n}, 2), fd = test::random_tensor({n}, 3);
  Tensor attn = Tensor::empty({nnz}), out = Tensor::empty({n, C});
  GraphAttentionOptions opt;
  EXPECT_NO_THROW(graph_attention_forward(g, feat, fs, fd, opt, attn, out));
  Tensor feat_bad = test::random_tensor({n + 1, C}, 1);
  EXPECT_THROW(graph_attention_forward(g, feat_bad, fs, fd, opt, attn, out), Error);
  Tensor fs_bad = test::random_tensor({n - 1}, 2);
  EXPECT_THROW(graph_attention_forward(g, feat, fs_bad, fd, opt, attn, out), Error);
  Tensor attn_bad = Tensor::empty({nnz + 1});
  EXPECT_THROW(graph_attention_forward(g, feat, fs, fd, opt, attn_bad, out), Error);
  Tensor out_bad = Tensor::empty({n, C + 1});
  EXPECT_THROW(graph_attention_forward(g, feat, fs, fd, opt, attn, out_bad), Error);
  Tensor fd64 = test::random_tensor({n}, 3, -1, 1, DType::F64);
  EXPECT_THROW(graph_attention_forward(g, feat, fs, fd64, opt, attn, out), Error);
  Tensor feat_int = Tensor::zeros({n, C}, DType::I32);
  EXPECT_THROW(graph_attention_forward(g, feat_int, fs, fd, opt, attn, out), Error);
  // Scaled logits need adjacency values.
  AttentionGraph pattern = AttentionGraph::build(csr_from_triplets(2, 2, {0, 1}, {1, 0}, {}));
  Tensor f2 = test::random_tensor({2, C}, 1), s2 = test::random_tensor({2}, 2), a2 = Tensor::empty({2}),
         o2 = Tensor::empty({2, C});
  EXPECT_THROW(graph_attention_forward(pattern, f2, s2, s2, opt, a2, o2), Error);
  GraphAttentionOptions plain;
  plain.scale_logits_by_adj = false;
  EXPECT_NO_THROW(graph_attention_forward(pattern, f2, s2, s2, plain, a2, o2));
  // Non-square adjacency.
  EXPECT_THROW(AttentionGraph::build(csr_from_triplets(2, 3, {0}, {2}, {1.0})), Error);
  // Backward shapes.
  Tensor eg = Tensor::empty({nnz}), dfeat = Tensor::empty({n, C}), dfs = Tensor::empty({n}), dfd = Tensor::empty({n});
  Tensor dout = test::random_tensor({n, C}, 9);
  EXPECT_NO_THROW(graph_attention_backward(g, feat, fs, fd, attn, dout, opt, eg, dfeat, dfs, dfd));
  Tensor eg_bad = Tensor::empty({nnz - 1}), dout_bad = test::random_tensor({n, C - 1}, 9), dfd_bad = Tensor::empty({n + 2});
  EXPECT_THROW(graph_attention_backward(g, feat, fs, fd, attn, dout, opt, eg_bad, dfeat, dfs, dfd), Error);
  EXPECT_THROW(graph_attention_backward(g, feat, fs, fd, attn, dout_bad, opt, eg, dfeat, dfs, dfd), Error);
  EXPECT_THROW(graph_attention_backward(g, feat, fs, fd, attn, dout, opt, eg, dfeat, dfs, dfd_bad), Error);
  // A graph whose transpose does not belong to it.
  AttentionGraph broken = g;
  broken.edge_of = Tensor::empty({nnz + 1}, DType::I64);
  EXPECT_THROW(graph_attention_forward(broken, feat, fs, fd, opt, attn, out), Error);
}

TEST(GpuParityGraphAttention, MatchesCpuReferenceOnFreshGraphs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  struct P {
    int64_t n;
    int max_deg;
    int64_t hub;
    int64_t C;
  };
  // Smaller (still awkward) shapes on the emulated device, which runs one fiber per GPU thread.
  const std::vector<P> cases =
      cuda_available() ? std::vector<P>{{1, 0, -1, 8},   {1000, 12, 17, 37},       {5000, 20, -1, 1}, {20000, 8, 3, 64},
                                        {100000, 10, 99999, 16}, {3000, 6, 5, 300}, {0, 0, -1, 4}}
                       : std::vector<P>{{1, 0, -1, 8}, {301, 12, 17, 37}, {503, 20, -1, 1}, {701, 10, 700, 16},
                                        {101, 6, 5, 300}, {0, 0, -1, 4}};
  for (const P& pc : cases) {
    for (bool scale : {true, false}) {
      SCOPED_TRACE("n=" + std::to_string(pc.n) + " C=" + std::to_string(pc.C) + (scale ? " scaled" : " plain"));
      AttentionGraph g = AttentionGraph::build(with_values(random_graph(pc.n, pc.max_deg, seed, pc.hub)));
      const int64_t n = g.nodes(), C = pc.C, nnz = g.edges();
      GraphAttentionOptions opt;
      opt.scale_logits_by_adj = scale;
      Tensor feat = test::random_tensor({n, C}, seed + 1), fs = test::random_tensor({n}, seed + 2, -5, 5),
             fd = test::random_tensor({n}, seed + 3, -5, 5), dout = test::random_tensor({n, C}, seed + 4);
      GatRef ref = cpu_reference(g, feat, fs, fd, dout, opt);

      AttentionGraph gg = g.to(G);
      Tensor gfeat = feat.to(G), gfs = fs.to(G), gfd = fd.to(G),
             gdout = dout.to(G);
      auto cuda_empty = [&](const Shape& s) { return Tensor::full(s, NAN, DType::F32, G); };
      Tensor attn = cuda_empty({nnz}), out = cuda_empty({n, C}), eg = cuda_empty({nnz}), dfeat = cuda_empty({n, C}),
             dfs = cuda_empty({n}), dfd = cuda_empty({n});
      graph_attention_forward(gg, gfeat, gfs, gfd, opt, attn, out);
      graph_attention_backward(gg, gfeat, gfs, gfd, attn, gdout, opt, eg, dfeat, dfs, dfd);
      EXPECT_TRUE(test::all_close(attn, ref.attn, 1e-6, 1e-4));
      EXPECT_TRUE(test::all_close(out, ref.out, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(dfeat, ref.dfeat, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(dfs, ref.df_src, 1e-4, 1e-3));
      EXPECT_TRUE(test::all_close(dfd, ref.df_dst, 1e-4, 1e-3));
      // No atomics: a second run gives the same bits.
      Tensor dfeat2 = cuda_empty({n, C}), dfs2 = cuda_empty({n}), dfd2 = cuda_empty({n});
      graph_attention_backward(gg, gfeat, gfs, gfd, attn, gdout, opt, eg, dfeat2, dfs2, dfd2);
      EXPECT_TRUE(test::all_close(dfeat2, dfeat, 0, 0));
      EXPECT_TRUE(test::all_close(dfs2, dfs, 0, 0));
      EXPECT_TRUE(test::all_close(dfd2, dfd, 0, 0));
    }
  }
}
