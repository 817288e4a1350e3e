// AnomalyDAE: whole-network gradient check (every parameter, every loss form and encoder), graph loading
// (shared data when present, IO errors), the synthetic generator, and CPU/GPU parity of a training step.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "kernels/elementwise.h"
#include "layers/optimizer.h"
#include "models/anomalydae/graph_data.h"
#include "models/anomalydae/network.h"
#include "runtime/npy.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;
using namespace ad::anomalydae;

namespace {

AttributedGraph tiny_graph(int64_t n = 40, int64_t d = 12, uint64_t seed = 3) {
  SyntheticGraphSettings y;
  y.nodes = n;
  y.attrs = d;
  y.communities = 3;
  y.avg_degree = 4;
  y.cliques = 1;
  y.clique_size = 5;
  y.attribute_anomalies = 3;
  y.candidates = 10;
  return make_synthetic_graph(y, seed);
}

Settings small_settings(const std::string& form, const std::string& logits, const std::string& encoder) {
  Settings s;
  s.loss_form = form;
  s.attention_logits = logits;
  s.attribute_encoder = encoder;
  s.hidden_dim = 6;
  s.embed_dim = 4;
  s.eta = 3;
  s.theta = 5;
  s.alpha = 0.6;
  return s;
}

// Block ranges for `sizes` consecutive blocks.
Tensor block_ranges(const std::vector<int64_t>& sizes) {
  int64_t n = 0;
  for (int64_t s : sizes) n += s;
  Tensor r = Tensor::empty({n, 2}, DType::I64);
  int64_t start = 0;
  for (int64_t s : sizes) {
    for (int64_t i = start; i < start + s; ++i) r.data<int64_t>()[2 * i] = start, r.data<int64_t>()[2 * i + 1] = start + s;
    start += s;
  }
  return r;
}

std::string temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("ad_test_anomalydae_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST(GradCheckAnomalyDae, WholeNetworkEveryLossFormAndEncoder) {
  struct Case {
    const char* form;
    const char* logits;
    const char* encoder;
    bool blocks;
    bool sparse = false;  // attributes as CSR (the CSR attribute target)
  };
  for (Case c : {Case{"official", "scaled", "transposed", false}, Case{"paper", "plain", "transposed", false},
                 Case{"pygod", "scaled", "mlp", true}, Case{"official", "plain", "mlp", true},
                 Case{"official", "scaled", "transposed", false, true}, Case{"pygod", "plain", "mlp", true, true}}) {
    SCOPED_TRACE(std::string(c.form) + "/" + c.logits + "/" + c.encoder + (c.sparse ? "/csr" : ""));
    AttributedGraph g = tiny_graph(14, 5, 11);
    Tensor ranges;
    if (c.blocks) {
      // Keep only edges inside the blocks, as a trace batch has.
      ranges = block_ranges({6, 1, 7});
      std::vector<int64_t> s, d;
      const int64_t* rp = g.adjacency.row_ptr.data<int64_t>();
      const int32_t* col = g.adjacency.col.data<int32_t>();
      const int64_t* rg = ranges.data<int64_t>();
      for (int64_t i = 0; i < 14; ++i)
        for (int64_t e = rp[i]; e < rp[i + 1]; ++e)
          if (col[e] >= rg[2 * i] && col[e] < rg[2 * i + 1]) s.push_back(i), d.push_back(col[e]);
      g.adjacency = undirected_adjacency(14, s, d);
    }
    Settings st = small_settings(c.form, c.logits, c.encoder);
    GraphInputs in = c.sparse ? make_inputs(g.adjacency, csr_from_dense(g.features), ranges, Device::CPU, DType::F64)
                              : make_inputs(g.adjacency, g.features, ranges, Device::CPU, DType::F64);
    ASSERT_EQ(in.x_dense.defined(), !c.sparse);
    Network net(NetworkConfig::from(st, g.attrs(), g.nodes()), Device::CPU, DType::F64);
    // Random biases: with zero biases an all-zero attribute row (or column, for the transposed encoder) puts
    // a ReLU input exactly on its kink, where finite differences see slope 1/2.
    uint64_t k = 100;
    for (Parameter* p : net.parameters())
      if (p->name.size() > 5 && p->name.substr(p->name.size() - 5) == ".bias")
        p->value.copy_from(test::random_tensor(p->value.shape(), k++, -0.2, 0.2, DType::F64));
    LossConfig lc = LossConfig::from(st);
    test::GradCheckOptions o;
    o.tolerance = 1e-5;
    o.max_probes_per_tensor = 24;
    AD_EXPECT_GRADCHECK(test::grad_check(
        {}, net.parameters(), [&] { return net.forward(in, lc).score; },
        [&](const Tensor& r) {
          net.backward(r);
          return std::vector<Tensor>{};
        },
        o));
  }
}

TEST(AnomalyDae, InputsNormalizeWithSelfLoops) {
  // Path 0-1-2: degrees of A+I are 2, 3, 2.
  GraphInputs in = make_inputs(undirected_adjacency(3, {0, 1}, {1, 2}), Tensor::full({3, 2}, 1.0), Tensor(),
                               Device::CPU, DType::F64);
  Tensor a = csr_to_dense(in.att.adj);
  auto v = a.to_vector();
  EXPECT_NEAR(v[0], 1.0 / 2, 1e-12);
  EXPECT_NEAR(v[1], 1.0 / std::sqrt(6.0), 1e-12);
  EXPECT_NEAR(v[4], 1.0 / 3, 1e-12);
  EXPECT_EQ(v[2], 0.0);
  EXPECT_EQ(csr_to_dense(in.target).to_vector(), std::vector<double>({1, 1, 0, 1, 1, 1, 0, 1, 1}));
}

TEST(AnomalyDae, SyntheticGraphHasTheInjectedAnomalies) {
  SyntheticGraphSettings y;
  y.nodes = 500;
  y.attrs = 20;
  y.cliques = 3;
  y.clique_size = 10;
  y.attribute_anomalies = 30;
  AttributedGraph g = make_synthetic_graph(y, 5);
  g.adjacency.validate("test");
  EXPECT_EQ(std::count(g.labels.begin(), g.labels.end(), 1), 60);
  EXPECT_EQ(std::count(g.kinds.begin(), g.kinds.end(), "structural"), 30);
  // Symmetric, no self loops.
  Tensor a = csr_to_dense(g.adjacency);
  auto v = a.to_vector();
  for (int64_t i = 0; i < 500; ++i) {
    EXPECT_EQ(v[size_t(i * 500 + i)], 0.0);
    for (int64_t j = 0; j < i; ++j) ASSERT_EQ(v[size_t(i * 500 + j)], v[size_t(j * 500 + i)]);
  }
  // Clique members are all connected to each other.
  std::vector<int64_t> clique;
  for (int64_t i = 0; i < 500; ++i)
    if (g.kinds[size_t(i)] == "structural") clique.push_back(i);
  int64_t links = 0;
  for (int64_t a1 : clique)
    for (int64_t b1 : clique) links += v[size_t(a1 * 500 + b1)] != 0;
  EXPECT_GE(links, 3 * 10 * 9);
  // Same seed, same graph.
  AttributedGraph g2 = make_synthetic_graph(y, 5);
  EXPECT_EQ(g2.features.to_vector(), g.features.to_vector());
}

TEST(AnomalyDae, TrainingLowersTheLoss) {
  AttributedGraph g = tiny_graph(60, 10, 4);
  Settings st = small_settings("official", "scaled", "transposed");
  GraphInputs in = make_inputs(g.adjacency, g.features, Tensor(), Device::CPU);
  Network net(NetworkConfig::from(st, g.attrs(), g.nodes()), Device::CPU);
  AdamOptions ao;
  ao.lr = 5e-3;
  Adam opt(net.parameters(), ao);
  LossConfig lc = LossConfig::from(st);
  double first = 0, last = 0;
  for (int epoch = 0; epoch < 150; ++epoch) {
    opt.zero_grad();
    last = net.forward(in, lc).loss.item();
    if (epoch == 0) first = last;
    net.backward();
    opt.step();
  }
  EXPECT_LT(last, 0.8 * first) << "first " << first << " last " << last;
}

// Dense and CSR attributes give the same network bit for bit: the encoders read the same CSR in both, and the
// CSR attribute error walks the dense form's terms in its order. Scores, errors and every parameter after a few
// Adam steps, on a graph with all-zero attribute rows and both encoders.
TEST(AnomalyDae, CsrAttributesGiveTheDenseScoresBitForBit) {
  for (const char* enc : {"transposed", "mlp"}) {
    SCOPED_TRACE(enc);
    AttributedGraph g = tiny_graph(70, 23, 9);
    float* f = g.features.data<float>();
    for (int64_t c = 0; c < 23; ++c) f[5 * 23 + c] = f[6 * 23 + c] = 0.0f;  // rows without nonzeros
    for (int64_t c = 0; c < 23; c += 3) f[7 * 23 + c] = 2.5f;                // non-binary values
    AttributedGraph gs = g;
    set_feature_storage(gs, "csr");
    ASSERT_TRUE(gs.sparse());
    ASSERT_FALSE(gs.features.defined());
    GraphInputs din = make_inputs(g, Device::CPU), sin = make_inputs(gs, Device::CPU);
    ASSERT_TRUE(din.x_dense.defined());
    ASSERT_FALSE(sin.x_dense.defined());
    Settings st = small_settings("official", "scaled", enc);
    Network dn(NetworkConfig::from(st, g.attrs(), g.nodes()), Device::CPU);
    Network sn(NetworkConfig::from(st, gs.attrs(), gs.nodes()), Device::CPU);
    Adam dopt(dn.parameters()), sopt(sn.parameters());
    LossConfig lc = LossConfig::from(st);
    for (int step = 0; step < 3; ++step) {
      Tensor drow = Tensor::empty({3}), srow = Tensor::empty({3});
      NodeErrors de = train_step(dn, dopt, din, lc, drow), se = train_step(sn, sopt, sin, lc, srow);
      EXPECT_TRUE(test::bitwise_equal(se.attribute, de.attribute)) << "step " << step;
      EXPECT_TRUE(test::bitwise_equal(se.score, de.score)) << "step " << step;
      EXPECT_TRUE(test::bitwise_equal(srow, drow)) << "step " << step;
    }
    auto dp = dn.parameters(), sp = sn.parameters();
    for (size_t i = 0; i < dp.size(); ++i) EXPECT_TRUE(test::bitwise_equal(sp[i]->value, dp[i]->value)) << dp[i]->name;
  }
}

// Storage conversions and min-max scaling keep the values, whichever way the attributes are held.
TEST(AnomalyDaeData, FeatureStorageAndMinmaxKeepTheValues) {
  AttributedGraph g = tiny_graph(30, 9, 2);
  float* f = g.features.data<float>();
  for (int64_t i = 0; i < 30; ++i) f[i * 9 + 4] = float(i % 5) * 3.0f;  // counts, with zeros
  for (int64_t i = 0; i < 30; ++i) f[i * 9 + 5] = 7.0f;                 // a constant column
  AttributedGraph s = g;
  set_feature_storage(s, "csr");
  ASSERT_TRUE(s.sparse());
  EXPECT_EQ(s.attrs(), 9);
  EXPECT_TRUE(test::bitwise_equal(csr_to_dense(s.sparse_features), g.features));
  AttributedGraph back = s;
  set_feature_storage(back, "dense");
  EXPECT_FALSE(back.sparse());
  EXPECT_TRUE(test::bitwise_equal(back.features, g.features));
  AttributedGraph same = s;
  set_feature_storage(same, "auto");
  EXPECT_TRUE(same.sparse());
  EXPECT_THROW(set_feature_storage(same, "sparse"), Error);

  // Non-negative attributes: min-max keeps the CSR and gives the dense result's bits.
  // (Scaling works in place: copies of the values, not the shared storage.)
  AttributedGraph gd = g, gs = s;
  gd.features = g.features.clone();
  gs.sparse_features.val = s.sparse_features.val.clone();
  scale_attributes_minmax(gd);
  scale_attributes_minmax(gs);
  ASSERT_TRUE(gs.sparse());
  EXPECT_TRUE(test::bitwise_equal(csr_to_dense(gs.sparse_features), gd.features));
  // A negative value with absent entries: zero would move off zero, so the attributes become dense.
  AttributedGraph gn = g;
  gn.features = g.features.clone();
  gn.features.data<float>()[3 * 9 + 4] = -1.0f;
  AttributedGraph gns = gn;
  set_feature_storage(gns, "csr");
  scale_attributes_minmax(gn);
  scale_attributes_minmax(gns);
  EXPECT_FALSE(gns.sparse());
  EXPECT_TRUE(test::bitwise_equal(gns.features, gn.features));
}

TEST(AnomalyDaeData, LoadsAGraphFolderAndRejectsBadFiles) {
  std::string dir = temp_dir("graph");
  save_npy(dir + "/features.npy", Tensor::from_vector({1, 0, 0, 1, 1, 1}, {3, 2}));
  write(dir + "/edges.csv", "src,dst\n0,1\n1,2\n");
  write(dir + "/labels.csv", "node,label,kind\n0,0,\n1,1,structural\n2,0,\n");
  AttributedGraph g = load_graph_dir(dir);
  EXPECT_EQ(g.nodes(), 3);
  EXPECT_EQ(g.adjacency.nnz(), 4);
  EXPECT_EQ(g.labels, std::vector<int>({0, 1, 0}));
  EXPECT_EQ(g.kinds[1], "structural");

  auto expect_error = [&](const std::string& needle) {
    try {
      load_graph_dir(dir);
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  write(dir + "/edges.csv", "src,dst\n0,1\n1,x\n");
  expect_error("edges.csv:3:2");
  write(dir + "/edges.csv", "src,dst\n0,7\n");
  expect_error("outside [0, 3)");
  write(dir + "/edges.csv", "from,to\n0,1\n");
  expect_error("expected column 1");
  write(dir + "/edges.csv", "src,dst\n0,1\n");
  write(dir + "/labels.csv", "node,label\n0,0\n1,2\n2,0\n");
  expect_error("label must be 0 or 1");
  write(dir + "/labels.csv", "node,label\n0,0\n1,1\n");
  expect_error("node 2 has no label");
  write(dir + "/labels.csv", "node,label\n0,0\n1,1\n2,0\n");
  save_npy(dir + "/features.npy", Tensor::from_vector({1, NAN, 0, 1, 1, 1}, {3, 2}));
  expect_error("NaN");
  std::filesystem::remove(dir + "/features.npy");
  expect_error("neither features.npy");
  std::filesystem::remove_all(dir);
  expect_error("does not exist");
}

// CSR parts load as CSR (nothing dense), with the values of the same matrix saved dense.
TEST(AnomalyDaeData, CsrPartsLoadAsCsr) {
  std::string dir = temp_dir("graph_csr");
  // 3 x 4 with a duplicate entry (summed, as scipy does) and an empty row.
  save_npy(dir + "/features_indptr.npy", Tensor::from_vector({0, 3, 3, 4}, {4}, DType::I64));
  save_npy(dir + "/features_indices.npy", Tensor::from_vector({2, 0, 2, 3}, {4}, DType::I32));
  save_npy(dir + "/features_data.npy", Tensor::from_vector({1, 2, 0.5, 4}, {4}));
  write(dir + "/features_shape.txt", "3 4\n");
  write(dir + "/edges.csv", "src,dst\n0,1\n1,2\n");
  AttributedGraph g = load_graph_dir(dir);
  ASSERT_TRUE(g.sparse());
  EXPECT_FALSE(g.features.defined());
  EXPECT_EQ(g.attrs(), 4);
  EXPECT_EQ(g.sparse_features.nnz(), 3);
  EXPECT_EQ(csr_to_dense(g.sparse_features).to_vector(),
            (std::vector<double>{2, 0, 1.5, 0, 0, 0, 0, 0, 0, 0, 0, 4}));
  GraphInputs in = make_inputs(g, Device::CPU);
  EXPECT_FALSE(in.x_dense.defined());
  EXPECT_EQ(in.attrs, 4);
  std::filesystem::remove_all(dir);
}

TEST(AnomalyDaeData, SharedGraphsLoadWithTheDocumentedSizes) {
  std::string root = test::shared_data_dir() + "/graphs";
  if (!std::filesystem::exists(root + "/inj_cora")) GTEST_SKIP() << "shared data absent: " << root;
  struct Want {
    const char* name;
    int64_t n, e, d, anomalies;
  };
  for (Want w : {Want{"inj_cora", 2708, 5574, 1433, 138}, Want{"books", 1418, 3695, 21, 28},
                 Want{"disney", 124, 335, 28, 6}, Want{"BlogCatalog", 5196, 172790, 8189, 300}}) {
    SCOPED_TRACE(w.name);
    AttributedGraph g = load_graph_dir(root + "/" + w.name);
    EXPECT_EQ(g.nodes(), w.n);
    EXPECT_EQ(g.adjacency.nnz() / 2, w.e);
    EXPECT_EQ(g.attrs(), w.d);
    EXPECT_EQ(g.sparse(), std::string(w.name) == "BlogCatalog");  // the one shipped as CSR parts
    EXPECT_EQ(std::count(g.labels.begin(), g.labels.end(), 1), w.anomalies);
  }
}

TEST(GpuParityAnomalyDae, TrainingStepMatchesCpu) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (const char* enc : {"transposed", "mlp", "transposed/csr"}) {
    AttributedGraph g = tiny_graph(300, 40, seed);
    const bool sparse = std::string(enc) == "transposed/csr";
    if (sparse) set_feature_storage(g, "csr");
    Settings st = small_settings("official", "scaled", sparse ? "transposed" : enc);
    st.hidden_dim = 64;
    st.embed_dim = 32;
    // One graph (block ranges are covered by the golden and gradient tests).
    GraphInputs cin = make_inputs(g, Device::CPU);
    GraphInputs gin = make_inputs(g, G);
    ASSERT_EQ(gin.x_dense.defined(), !sparse);
    Network cn(NetworkConfig::from(st, g.attrs(), g.nodes()), Device::CPU);
    Network gn(NetworkConfig::from(st, g.attrs(), g.nodes()), G);
    LossConfig lc = LossConfig::from(st);
    NodeErrors ce = cn.forward(cin, lc), ge = gn.forward(gin, lc);
    EXPECT_TRUE(test::all_close(ge.score, ce.score, 1e-5, 1e-4)) << enc;
    EXPECT_NEAR(ge.loss.item(), ce.loss.item(), 1e-4 * std::abs(ce.loss.item()));
    cn.zero_grad();
    gn.zero_grad();
    cn.backward();
    gn.backward();
    auto cp = cn.parameters(), gp = gn.parameters();
    for (size_t i = 0; i < cp.size(); ++i)
      EXPECT_TRUE(test::all_close(gp[i]->grad, cp[i]->grad, 1e-5, 1e-3)) << enc << " " << cp[i]->name;
  }
}
