#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>

#include "kernels/gatv2.cuh"
#include "kernels/graph_attention.cuh"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {

// Random directed graph on n nodes with adjacency values in [0.5, 1.5): node i gets up to max_deg
// out-neighbours, except every 7th node (no out-edges) and targets that are 5 mod 11 (no in-edges) are
// skipped. hub >= 0 adds a node linked to and from every node (degree n, above any block size when n > 256).
CsrMatrix random_graph(int64_t n, int max_deg, uint64_t seed, int64_t hub = -1, bool self_loops = true) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> node(0, std::max<int64_t>(n - 1, 0));
  std::uniform_int_distribution<int> deg(0, max_deg);
  std::uniform_real_distribution<double> val(0.5, 1.5);
  std::vector<int64_t> r, c;
  std::vector<double> v;
  auto add = [&](int64_t i, int64_t j) {
    r.push_back(i);
    c.push_back(j);
    v.push_back(val(gen));
  };
  for (int64_t i = 0; i < n; ++i) {
    if (i % 7 == 3) continue;
    if (self_loops && i % 3 == 0) add(i, i);
    for (int d = deg(gen); d > 0; --d) {
      int64_t j = node(gen);
      if (j % 11 != 5 && j != i) add(i, j);
    }
  }
  if (hub >= 0)
    for (int64_t j = 0; j < n; ++j) {
      add(hub, j);
      if (j != hub) add(j, hub);
    }
  // Duplicates are summed by csr_from_triplets; values stay positive.
  return csr_from_triplets(n, n, r, c, v);
}

struct GatCase {
  std::string name;
  CsrMatrix adj;
  int64_t channels;
  unsigned threads;  // 0: the launcher's default segment block
  GatSplitOptions split;
};

// A trace-like graph: every node has out-degree 0..3 (n % 4), targets spread; no hubs.
CsrMatrix low_degree_graph(int64_t n) {
  std::vector<int64_t> r, c;
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < i % 4; ++d) {
      r.push_back(i);
      c.push_back((i * 7 + d * 13 + 1) % n);
      v.push_back(0.5 + 0.1 * double(d));
    }
  return csr_from_triplets(n, n, r, c, v);
}

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

// Registers every index array of an AttentionGraph (and its splits) with the emulation.
struct RegisteredGraph {
  std::vector<std::unique_ptr<test::RegisteredMemory>> parts;
  explicit RegisteredGraph(const AttentionGraph& g) {
    auto add = [&](const Tensor& t, const char* name) { parts.push_back(std::make_unique<test::RegisteredMemory>(t, name)); };
    add(g.adj.row_ptr, "adj.row_ptr");
    add(g.adj.col, "adj.col");
    add(g.adj_t.row_ptr, "adj_t.row_ptr");
    add(g.adj_t.col, "adj_t.col");
    add(g.edge_of, "edge_of");
    for (const GatSplitPlan* p : {&g.row_split, &g.col_split}) {
      add(p->light_rows, "split.light_rows");
      add(p->heavy_rows, "split.heavy_rows");
      add(p->heavy_seg_ptr, "split.heavy_seg_ptr");
      add(p->seg_heavy, "split.seg_heavy");
    }
  }
};

// Adjacency values are needed when scaling; a pattern-only matrix (no triplets) gets an empty value array.
CsrMatrix with_values(CsrMatrix m) {
  if (!m.has_values()) m.val = Tensor::empty({m.nnz()}, DType::F32);
  return m;
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

// ---- GATv2 with max over heads ----------------------------------------------------------------------------
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
  unsigned threads;
};

std::vector<Gatv2Case> gatv2_cases() {
  return {{"random n=60 H=4 D=5", random_graph(60, 6, 11), 4, 5, 0},
          {"random n=45 H=3 D=37", random_graph(45, 8, 12), 3, 37, 0},
          {"random n=30 H=1 D=1", random_graph(30, 5, 13), 1, 1, 0},
          {"random n=25 H=4 D=70 threads=32", random_graph(25, 9, 14), 4, 70, 32},
          {"hub n=300 H=2 D=3", random_graph(300, 2, 16, 7), 2, 3, 0},
          {"hub n=300 H=5 D=7 threads=1", random_graph(300, 1, 17, 123), 5, 7, 1},
          {"single node self loop", csr_from_triplets(1, 1, {0}, {0}, {1.0}), 4, 3, 0},
          {"single node no edges", csr_from_triplets(1, 1, {}, {}, {}), 2, 3, 0},
          {"no nodes", csr_from_triplets(0, 0, {}, {}, {}), 4, 3, 0}};
}

}  // namespace

TEST(EmulatedGatv2, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    for (const Gatv2Case& gc : gatv2_cases()) {
      SCOPED_TRACE(gc.name);
      AttentionGraph g = AttentionGraph::build(gc.adj);
      test::RegisteredMemory r_rows(g.adj.row_ptr, "adj.row_ptr"), r_cols(g.adj.col, "adj.col"),
          r_trows(g.adj_t.row_ptr, "adj_t.row_ptr"), r_tcols(g.adj_t.col, "adj_t.col"), r_edge(g.edge_of, "edge_of");
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
      std::vector<int32_t> arg(size_t(n * D) + 1, -7);  // +1: a canary past the end
      test::RegisteredMemory r_arg(arg.data(), size_t(n * D) * sizeof(int32_t), "arg"),
          r_ref_arg(ref.arg, "reference arg");
      GatGraphView v = gat_view(g, false);
      Gatv2Params p;
      p.heads = H;
      p.head_dim = D;
      p.slope = 0.3f;
      EmulatedLauncher l;
      launch_gatv2_forward(l, v, p, gsrc.data(), gdst.data(), gatt.data(), gattn.data(), gout.data(), arg.data(),
                           gc.threads);
      // The backward reads the reference's arg so that a near-tie decided differently in f32 cannot diverge.
      const int32_t* ref_arg = ref.arg.data<int32_t>();
      int mismatched_arg = 0;
      for (int64_t k = 0; k < n * D; ++k) mismatched_arg += arg[size_t(k)] != ref_arg[k];
      EXPECT_EQ(mismatched_arg, 0);
      EXPECT_EQ(arg.back(), -7);
      launch_gatv2_backward(l, v, p, gsrc.data(), gdst.data(), gatt.data(), gattn.data(), ref_arg, gdout.data(),
                            gedge.data(), grows.data(), gdsrc.data(), gddst.data(), gc.threads);
      EXPECT_TRUE(test::all_close(gattn.tensor({nnz, H}), ref.attn, 1e-6, 1e-4));
      EXPECT_TRUE(test::all_close(gout.tensor({n, D}), ref.out, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gedge.tensor({nnz, H}), ref.edge_grad, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(grows.tensor({n, HD}), ref.datt_rows, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gdsrc.tensor({n, HD}), ref.dsrc, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gddst.tensor({n, HD}), ref.ddst, 1e-5, 1e-4));
      for (auto* b : {&gattn, &gout, &gedge, &grows, &gdsrc, &gddst}) EXPECT_TRUE(b->check_canaries());
    }  });

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
  };
  // Smaller (still awkward) shapes on the emulated device, which runs one fiber per GPU thread.
  const std::vector<P> cases =
      cuda_available() ? std::vector<P>{{1, 0, -1, 4, 64}, {600, 8, -1, 4, 64}, {5000, 20, 17, 3, 37}, {0, 0, -1, 2, 3}}
                       : std::vector<P>{{1, 0, -1, 4, 64}, {200, 8, -1, 4, 64}, {1001, 20, 17, 3, 37}, {0, 0, -1, 2, 3}};
  for (const P& pc : cases) {
    SCOPED_TRACE("n=" + std::to_string(pc.n) + " H=" + std::to_string(pc.H) + " D=" + std::to_string(pc.D));
    AttentionGraph g = AttentionGraph::build(random_graph(pc.n, pc.max_deg, seed, pc.hub));
    const int64_t n = g.nodes(), HD = pc.H * pc.D;
    Gatv2Options opt;
    opt.heads = pc.H;
    Tensor src = test::random_tensor({n, HD}, seed + 1), dst = test::random_tensor({n, HD}, seed + 2),
           att = test::random_tensor({HD}, seed + 3), dout = test::random_tensor({n, pc.D}, seed + 4);
    Gatv2Ref ref = gatv2_reference(g, src, dst, att, dout, opt);
    Gatv2Ref gr{ref.attn.to(G), ref.out.to(G), ref.arg.to(G), ref.edge_grad.to(G), ref.datt_rows.to(G),
                ref.dsrc.to(G), ref.ddst.to(G), ref.datt.to(G)};
    AttentionGraph gg = g.to(G);
    Tensor garg = Tensor::empty({n, pc.D}, DType::I32, G);
    gatv2_forward(gg, src.to(G), dst.to(G), att.to(G), opt, gr.attn, gr.out, garg);
    // Backward from the reference's arg (a near-tie may be decided differently in f32).
    gatv2_backward(gg, src.to(G), dst.to(G), att.to(G), gr.attn, ref.arg.to(G), dout.to(G), opt, gr.edge_grad,
                   gr.datt_rows, gr.dsrc, gr.ddst, gr.datt);
    EXPECT_TRUE(test::all_close(gr.attn, ref.attn, 1e-6, 1e-4));
    EXPECT_TRUE(test::all_close(gr.out, ref.out, 1e-5, 1e-4));
    EXPECT_TRUE(test::all_close(gr.dsrc, ref.dsrc, 1e-4, 1e-3));
    EXPECT_TRUE(test::all_close(gr.ddst, ref.ddst, 1e-4, 1e-3));
    EXPECT_TRUE(test::all_close(gr.datt, ref.datt, 1e-3, 1e-3));
  }
}
