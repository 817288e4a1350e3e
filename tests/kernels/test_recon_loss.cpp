#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/recon_loss.cuh"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {

// Linear and Indicator, RowNorm and RowSquared.
std::vector<ReconWeighting> all_weightings() {
  std::vector<ReconWeighting> ws;
  for (bool sq : {true, false}) {
    ReconWeighting lin;
    lin.kind = ReconWeighting::Linear;
    lin.pos = 3.0;
    lin.take_sqrt = sq;
    ReconWeighting ind;
    ind.kind = ReconWeighting::Indicator;
    ind.pos = 2.0;
    ind.neg = 0.5;
    ind.take_sqrt = sq;
    ws.push_back(lin);
    ws.push_back(ind);
  }
  return ws;
}

std::string describe(const ReconWeighting& w) {
  return std::string(w.kind == ReconWeighting::Linear ? "linear" : "indicator") + (w.take_sqrt ? "/norm" : "/squared");
}

// A graph for the structure term: symmetric pattern A + I, with ranges either undefined (one graph over
// all N nodes) or block-diagonal (one range per block). `cross` adds symmetric edges between blocks, which
// lie outside the ranges and must be ignored. `empty_block` gives that block's rows empty ranges.
struct Graph {
  int64_t n = 0;
  CsrMatrix target;
  Tensor ranges;  // undefined for a single graph
};

Graph make_graph(const std::vector<int64_t>& blocks, bool with_ranges, uint64_t seed, int deg = 4, int cross = 0,
                 int empty_block = -1) {
  Graph g;
  for (int64_t b : blocks) g.n += b;
  std::mt19937_64 rng(seed);
  std::vector<int64_t> r, c;
  std::vector<double> rv;
  std::vector<int64_t> begin_of(size_t(g.n));
  int64_t b0 = 0;
  for (int64_t b : blocks) {
    for (int64_t i = b0; i < b0 + b; ++i) {
      begin_of[size_t(i)] = b0;
      r.push_back(i);
      c.push_back(i);
      for (int k = 0; k < deg && b > 1; ++k) {
        int64_t j = b0 + int64_t(rng() % uint64_t(b));
        r.push_back(i);
        c.push_back(j);
        r.push_back(j);
        c.push_back(i);
      }
    }
    b0 += b;
  }
  for (int k = 0; k < cross && g.n > 1; ++k) {
    int64_t i = int64_t(rng() % uint64_t(g.n)), j = int64_t(rng() % uint64_t(g.n));
    r.push_back(i);
    c.push_back(j);
    r.push_back(j);
    c.push_back(i);
  }
  g.target = csr_from_triplets(g.n, g.n, r, c, {});
  if (with_ranges) {
    std::vector<double> rg;
    b0 = 0;
    int bi = 0;
    for (int64_t b : blocks) {
      for (int64_t i = 0; i < b; ++i) {
        rg.push_back(double(b0));
        rg.push_back(double(bi == empty_block ? b0 : b0 + b));
      }
      b0 += b;
      ++bi;
    }
    g.ranges = Tensor::from_vector(rg, {g.n, 2}, DType::I64);
  }
  return g;
}

const int64_t* ranges_data(const Graph& g) { return g.ranges.defined() ? g.ranges.data<int64_t>() : nullptr; }
const int32_t* col_data(const CsrMatrix& m) { return m.nnz() > 0 ? m.col.data<int32_t>() : nullptr; }

struct StructCase {
  std::vector<int64_t> blocks;
  bool ranges;
  int64_t h;
  int cross = 0;
  int empty_block = -1;
};

std::string describe(const StructCase& s) {
  std::string b;
  for (int64_t x : s.blocks) b += std::to_string(x) + ",";
  return "blocks=" + b + " ranges=" + std::to_string(s.ranges) + " h=" + std::to_string(s.h) +
         " empty_block=" + std::to_string(s.empty_block);
}

// Keeps z . z in a range where the sigmoid is neither flat nor saturated.
Tensor random_z(int64_t n, int64_t h, uint64_t seed, DType dt = DType::F32, Device d = Device::CPU) {
  double a = 2.0 * std::sqrt(3.0 / double(h > 0 ? h : 1));
  return test::random_tensor({n, h}, seed, -a, a, dt, d);
}


// A sparse attribute target as CSR and the same matrix dense. Row 0 and the last row (of 3 or more) have no entries, row 1 is full (a chunk
// of the GPU kernel holding as many entries as threads), the others have about `density` of their columns;
// every 7th entry is an explicit zero (scipy files may hold them), values are 0/1 and reals.
struct CsrTarget {
  CsrMatrix csr;
  Tensor dense;
};

CsrTarget make_csr_target(int64_t rows, int64_t cols, uint64_t seed, double density, DType dt = DType::F32) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<int64_t> r, c;
  std::vector<double> v, dense(size_t(rows * cols), 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      if (i == 0 || (i == rows - 1 && rows > 2) || (i != 1 && u(rng) >= density)) continue;
      double x = r.size() % 7 == 6 ? 0.0 : (u(rng) < 0.5 ? 1.0 : -0.5 + 2 * u(rng));
      x = double(float(x));
      r.push_back(i);
      c.push_back(j);
      v.push_back(x);
      dense[size_t(i * cols + j)] = x;
    }
  CsrTarget t;
  t.csr = csr_from_triplets(rows, cols, r, c, v, dt);
  if (v.empty()) t.csr.val = Tensor::empty({0}, dt);
  t.dense = Tensor::from_vector(dense, {rows, cols}, dt);
  return t;
}
}  // namespace

// ---- emulated kernels vs CPU reference ---------------------------------------

TEST(EmulatedReconLoss, DenseForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    struct RC {
      int64_t rows, cols;
    };
    for (const RC& s : {RC{1, 1}, RC{3, 7}, RC{2, 33}, RC{4, 257}, RC{2, 700}, RC{65, 10}, RC{0, 5}, RC{3, 0}}) {
      for (const ReconWeighting& w : all_weightings()) {
        SCOPED_TRACE("rows=" + std::to_string(s.rows) + " cols=" + std::to_string(s.cols) + " " + describe(w));
        Tensor pred = test::random_tensor({s.rows, s.cols}, 1, -2, 2);
        // Targets: 0/1 entries and real values (the Linear weight takes any t).
        Tensor target = test::random_tensor({s.rows, s.cols}, 2, -0.5, 1.5);
        {
          float* t = target.data<float>();
          for (int64_t k = 0; k < target.numel(); k += 2) t[k] = t[k] > 0.5f ? 1.f : 0.f;
        }
        Tensor derr = test::random_tensor({s.rows}, 3);
        Tensor err = Tensor::empty({s.rows}), dpred = Tensor::empty(pred.shape());
        dense_recon_error_forward(pred, target, w, err);
        dense_recon_error_backward(pred, target, w, err, derr, dpred);

        test::GuardedBuffer gp(pred), gt(target), gd(derr), ge{size_t(s.rows)}, gdp{size_t(pred.numel())};
        EmulatedLauncher l;
        ReconParams p = recon_params(w);
        launch_dense_recon_forward(l, gp.data(), gt.data(), ge.data(), s.rows, s.cols, p);
        launch_dense_recon_backward(l, gp.data(), gt.data(), ge.data(), gd.data(), gdp.data(), s.rows, s.cols, p);
        EXPECT_TRUE(test::all_close(ge.tensor({s.rows}), err, 1e-6, 1e-5));
        EXPECT_TRUE(test::all_close(gdp.tensor(pred.shape()), dpred, 1e-6, 1e-5));
        EXPECT_TRUE(ge.check_canaries());
        EXPECT_TRUE(gdp.check_canaries());
      }
    }
  });
}

// The CSR kernels against the CPU reference, and bit for bit against the dense kernels on the densified
// target (same terms, same order, same block sums). Columns past the 256-thread chunk and not a multiple of
// it, a row without entries, a full row, explicit zeros, N = 0 and D = 0.
TEST(EmulatedReconLoss, CsrForwardAndBackwardMatchCpuReferenceAndTheDenseKernels) {
  test::for_each_schedule([&] {
    struct RC {
      int64_t rows, cols;
      double density;
    };
    for (const RC& s : {RC{1, 1, 1.0}, RC{3, 7, 0.3}, RC{4, 33, 0.2}, RC{4, 257, 0.05}, RC{3, 700, 0.5},
                        RC{66, 10, 0.3}, RC{0, 5, 0.5}, RC{3, 0, 0.5}}) {
      CsrTarget tg = make_csr_target(s.rows, s.cols, 4, s.density);
      for (const ReconWeighting& w : all_weightings()) {
        SCOPED_TRACE("rows=" + std::to_string(s.rows) + " cols=" + std::to_string(s.cols) + " " + describe(w));
        Tensor pred = test::random_tensor({s.rows, s.cols}, 1, -2, 2);
        Tensor derr = test::random_tensor({s.rows}, 3);
        Tensor err = Tensor::empty({s.rows}), dpred = Tensor::empty(pred.shape());
        csr_recon_error_forward(pred, tg.csr, w, err);
        csr_recon_error_backward(pred, tg.csr, w, err, derr, dpred);

        test::GuardedBuffer gp(pred), gt(tg.dense), gd(derr), ge{size_t(s.rows)}, gdp{size_t(pred.numel())},
            gde{size_t(s.rows)}, gddp{size_t(pred.numel())};
        test::RegisteredMemory r_rows(tg.csr.row_ptr, "row_ptr"), r_cols(tg.csr.col, "col"),
            r_vals(tg.csr.val, "val");
        EmulatedLauncher l;
        ReconParams p = recon_params(w);
        const int64_t* rp = tg.csr.row_ptr.data<int64_t>();
        const int32_t* cols = col_data(tg.csr);
        const float* vals = tg.csr.nnz() ? tg.csr.val.data<float>() : nullptr;
        launch_csr_recon_forward(l, gp.data(), rp, cols, vals, ge.data(), s.rows, s.cols, p);
        launch_csr_recon_backward(l, gp.data(), rp, cols, vals, ge.data(), gd.data(), gdp.data(), s.rows, s.cols, p);
        EXPECT_TRUE(test::all_close(ge.tensor({s.rows}), err, 1e-6, 1e-5));
        EXPECT_TRUE(test::all_close(gdp.tensor(pred.shape()), dpred, 1e-6, 1e-5));
        EXPECT_TRUE(ge.check_canaries());
        EXPECT_TRUE(gdp.check_canaries());
        launch_dense_recon_forward(l, gp.data(), gt.data(), gde.data(), s.rows, s.cols, p);
        launch_dense_recon_backward(l, gp.data(), gt.data(), gde.data(), gd.data(), gddp.data(), s.rows, s.cols, p);
        EXPECT_TRUE(test::bitwise_equal(ge.tensor({s.rows}), gde.tensor({s.rows})));
        EXPECT_TRUE(test::bitwise_equal(gdp.tensor(pred.shape()), gddp.tensor(pred.shape())));
        // In place (dpred = pred, as the network runs them): the same gradient.
        test::GuardedBuffer gin(pred), gind(pred);
        launch_csr_recon_backward(l, gin.data(), rp, cols, vals, ge.data(), gd.data(), gin.data(), s.rows, s.cols, p);
        launch_dense_recon_backward(l, gind.data(), gt.data(), gde.data(), gd.data(), gind.data(), s.rows, s.cols, p);
        EXPECT_TRUE(test::bitwise_equal(gin.tensor(pred.shape()), gdp.tensor(pred.shape())));
        EXPECT_TRUE(test::bitwise_equal(gind.tensor(pred.shape()), gddp.tensor(pred.shape())));
      }
    }
  });
}

TEST(EmulatedReconLoss, StructureForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    const std::vector<StructCase> cases = {
        {{1}, false, 1},                        // N = 1
        {{2}, false, 3},                        // N < tile
        {{70}, false, 5},                       // N not a multiple of the 64-row tile
        {{130}, false, 130},                    // H not a multiple of the 32-feature chunk, 3 column tiles
        {{1, 3, 40, 70}, true, 1},              // block-diagonal: ranges differ within a row tile
        {{1, 3, 40, 70}, true, 5, 12},          // ... with edges between blocks (outside the ranges)
        {{1, 3, 40, 70}, true, 130},            // ... and H > 64 (two output chunks in the backward)
        {{70, 40, 3, 1}, true, 5, 0, 3},        // last block with empty ranges
        {{3, 1, 40, 70, 1}, true, 5, 0, 1},     // an empty range inside a tile
        {{65, 1, 64, 2}, true, 2},              // blocks straddling tile edges
    };
    for (const StructCase& sc : cases) {
      Graph g = make_graph(sc.blocks, sc.ranges, 7, 4, sc.cross, sc.empty_block);
      int64_t n = g.n, h = sc.h;
      Tensor z = random_z(n, h, 11);
      Tensor derr = test::random_tensor({n}, 12);
      for (const ReconWeighting& w : all_weightings()) {
        SCOPED_TRACE(describe(sc) + " " + describe(w));
        // The scalar reference runs in f64 (the f32 CPU path is the blocked SGEMM one, tested below).
        Tensor z64 = z.to_dtype(DType::F64), d64 = derr.to_dtype(DType::F64);
        Tensor e64 = Tensor::empty({n}, DType::F64), dz64 = Tensor::empty(z.shape(), DType::F64);
        structure_recon_error_forward(z64, g.target, g.ranges, w, e64);
        structure_recon_error_backward(z64, g.target, g.ranges, w, e64, d64, dz64);
        Tensor err = e64.to_dtype(DType::F32), dz = dz64.to_dtype(DType::F32);

        test::GuardedBuffer gz(z), gd(derr), ge{size_t(n)}, gc{size_t(n)}, gdz{size_t(z.numel())};
        EmulatedLauncher l;
        ReconParams p = recon_params(w);
        const int64_t* rp = g.target.row_ptr.data<int64_t>();
        test::RegisteredMemory r_rows(g.target.row_ptr, "row_ptr"), r_cols(g.target.col, "col"),
            r_ranges(g.ranges, "ranges");
        launch_structure_recon_forward(l, gz.data(), n, h, rp, col_data(g.target), ranges_data(g), p, ge.data());
        launch_structure_recon_backward(l, gz.data(), n, h, rp, col_data(g.target), ranges_data(g), p, ge.data(),
                                        gd.data(), gc.data(), gdz.data());
        EXPECT_TRUE(test::all_close(ge.tensor({n}), err, 1e-6, 1e-5));
        EXPECT_TRUE(test::all_close(gdz.tensor(z.shape()), dz, 1e-6, 1e-4));
        EXPECT_TRUE(ge.check_canaries());
        EXPECT_TRUE(gc.check_canaries());
        EXPECT_TRUE(gdz.check_canaries());
      }
    }
  });
}

// The f32 CPU path (SGEMM tiles) against the f64 scalar reference, on tile-straddling shapes: N past the
// 1024-row tile, column ranges past the 4096-column tile, ragged block-diagonal ranges, H = 0 and 1.
TEST(ReconLoss, BlockedCpuPathMatchesScalarReference) {
  const std::vector<StructCase> cases = {
      {{1}, false, 1},
      {{1100}, false, 7},                 // two row tiles
      {{4200}, false, 1},                 // two column tiles
      {{1, 3, 40, 1000, 70}, true, 5, 9},  // ranges differ within a tile and across tiles, cross edges
      {{70, 40, 3, 1}, true, 5, 0, 3},    // an empty range
      {{5}, false, 0},                    // H = 0: p = 1/2 everywhere, dz empty
  };
  // Many small blocks (a batch of traces): 400 blocks of 1..16 nodes, several row tiles.
  std::vector<StructCase> all = cases;
  {
    std::mt19937_64 rng(5);
    StructCase traces{{}, true, 8};
    for (int b = 0; b < 400; ++b) traces.blocks.push_back(1 + int64_t(rng() % 16));
    all.push_back(traces);
  }
  for (const StructCase& sc : all) {
    Graph g = make_graph(sc.blocks, sc.ranges, 7, 4, sc.cross, sc.empty_block);
    const int64_t n = g.n, h = sc.h;
    Tensor z = random_z(n, h, 31);
    Tensor derr = test::random_tensor({n}, 32);
    for (const ReconWeighting& w : all_weightings()) {
      SCOPED_TRACE(describe(sc) + " " + describe(w));
      Tensor err = Tensor::empty({n}), dz = Tensor::empty(z.shape());
      structure_recon_error_forward(z, g.target, g.ranges, w, err);
      structure_recon_error_backward(z, g.target, g.ranges, w, err, derr, dz);
      Tensor z64 = z.to_dtype(DType::F64), d64 = derr.to_dtype(DType::F64);
      Tensor e64 = Tensor::empty({n}, DType::F64), dz64 = Tensor::empty(z.shape(), DType::F64);
      structure_recon_error_forward(z64, g.target, g.ranges, w, e64);
      structure_recon_error_backward(z64, g.target, g.ranges, w, e64, d64, dz64);
      EXPECT_TRUE(test::all_close(err, e64.to_dtype(DType::F32), 1e-5, 1e-5));
      if (h > 0) EXPECT_TRUE(test::all_close(dz, dz64.to_dtype(DType::F32), 1e-5, 1e-4));
    }
  }
}

TEST(EmulatedReconLoss, StructureEmptyAndZeroWidth) {
  test::for_each_schedule([&] {
    // N = 0 launches nothing; H = 0 gives p = 1/2 everywhere and no dz elements.
    EmulatedLauncher l;
    ReconParams p = recon_params(ReconWeighting{});
    Graph g0 = make_graph({}, false, 1);
    launch_structure_recon_forward(l, nullptr, 0, 4, g0.target.row_ptr.data<int64_t>(), nullptr, nullptr, p, nullptr);

    Graph g = make_graph({5}, false, 2);
    Tensor z = Tensor::empty({5, 0});
    Tensor err = Tensor::empty({5});
    structure_recon_error_forward(z, g.target, g.ranges, ReconWeighting{}, err);
    test::GuardedBuffer ge{5};
    test::RegisteredMemory r_rows(g.target.row_ptr, "row_ptr"), r_cols(g.target.col, "col");
    launch_structure_recon_forward(l, ge.data() /* never read */, 5, 0, g.target.row_ptr.data<int64_t>(),
                                   col_data(g.target), nullptr, p, ge.data());
    EXPECT_TRUE(test::all_close(ge.tensor({5}), err, 1e-6, 1e-6));
    EXPECT_TRUE(ge.check_canaries());
  });
}

// ---- hand-computed values ------------------------------------------------------

TEST(ReconLoss, DenseKnownValues) {
  Tensor pred = Tensor::from_vector({1, 2, 0.5, 0.5}, {2, 2}), target = Tensor::from_vector({0, 1, 1, 1}, {2, 2});
  Tensor err = Tensor::empty({2});
  ReconWeighting lin;  // Linear, eta = 3: w(0) = 1, w(1) = 9
  lin.pos = 3;
  dense_recon_error_forward(pred, target, lin, err);
  auto v = err.to_vector();
  EXPECT_NEAR(v[0], std::sqrt(10.0), 1e-6);       // 1 * 1 + 9 * 1
  EXPECT_NEAR(v[1], std::sqrt(9 * 0.5), 1e-6);    // 9 * 0.25 * 2
  ReconWeighting ind;
  ind.kind = ReconWeighting::Indicator;
  ind.pos = 2;
  ind.neg = 0.5;
  ind.take_sqrt = false;
  dense_recon_error_forward(pred, target, ind, err);
  v = err.to_vector();
  EXPECT_NEAR(v[0], 2.5, 1e-6);  // 0.5 * 1 + 2 * 1
  EXPECT_NEAR(v[1], 1.0, 1e-6);  // 2 * 0.25 * 2
  // Backward, RowSquared: dpred = derr * 2 w (p - t).
  Tensor derr = Tensor::from_vector({1, -2}, {2}), dpred = Tensor::empty({2, 2});
  dense_recon_error_backward(pred, target, ind, err, derr, dpred);
  auto d = dpred.to_vector();
  EXPECT_NEAR(d[0], 1.0, 1e-6);   // 2 * 0.5 * 1
  EXPECT_NEAR(d[1], 4.0, 1e-6);   // 2 * 2 * 1
  EXPECT_NEAR(d[2], 4.0, 1e-6);   // -2 * 2 * 2 * (-0.5)
  EXPECT_NEAR(d[3], 4.0, 1e-6);
  // RowNorm at S = 0: gradient 0, not NaN.
  Tensor same = Tensor::from_vector({0, 1}, {1, 2}), e1 = Tensor::empty({1}), d1 = Tensor::empty({1, 2});
  dense_recon_error_forward(same, same, lin, e1);
  dense_recon_error_backward(same, same, lin, e1, Tensor::from_vector({1}, {1}), d1);
  EXPECT_EQ(e1.to_vector()[0], 0.0);
  EXPECT_EQ(d1.to_vector(), (std::vector<double>{0, 0}));
}

// The CSR form walks the same terms in the same order as the dense form: the same bits on the CPU, in f32
// (the training path) and f64, for both weightings and norms; both backwards also in place (dpred = pred).
TEST(ReconLoss, CsrMatchesDenseFormBitForBit) {
  for (DType dt : {DType::F32, DType::F64}) {
    CsrTarget tg = make_csr_target(37, 301, 8, 0.1, dt);
    Tensor pred = test::random_tensor({37, 301}, 9, -1, 2, dt), derr = test::random_tensor({37}, 10, -1, 1, dt);
    for (const ReconWeighting& w : all_weightings()) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + describe(w));
      Tensor ec = Tensor::empty({37}, dt), ed = Tensor::empty({37}, dt);
      Tensor dc = Tensor::empty(pred.shape(), dt), dd = Tensor::empty(pred.shape(), dt);
      csr_recon_error_forward(pred, tg.csr, w, ec);
      dense_recon_error_forward(pred, tg.dense, w, ed);
      csr_recon_error_backward(pred, tg.csr, w, ec, derr, dc);
      dense_recon_error_backward(pred, tg.dense, w, ed, derr, dd);
      EXPECT_TRUE(test::bitwise_equal(ec, ed));
      EXPECT_TRUE(test::bitwise_equal(dc, dd));
      Tensor inplace = pred.clone(), inplace_dense = pred.clone();  // dpred = pred
      csr_recon_error_backward(inplace, tg.csr, w, ec, derr, inplace);
      dense_recon_error_backward(inplace_dense, tg.dense, w, ed, derr, inplace_dense);
      EXPECT_TRUE(test::bitwise_equal(inplace, dc));
      EXPECT_TRUE(test::bitwise_equal(inplace_dense, dd));
      EXPECT_GT(ec.to_vector()[0], 0.0);  // row 0 (no entries) still has an error: pred against zeros
    }
  }
}

TEST(ReconLoss, StructureTwoNodesKnownValues) {
  // z = [1, 2] (H = 1), target = I: p = sigmoid([[1, 2], [2, 4]]), t = [[1, 0], [0, 1]], weights 1.
  for (DType dt : {DType::F32, DType::F64}) {
    SCOPED_TRACE(dtype_name(dt));
    double tol = dt == DType::F32 ? 1e-6 : 1e-12;
    Tensor z = Tensor::from_vector({1, 2}, {2, 1}, dt);
    CsrMatrix target = csr_from_triplets(2, 2, {0, 1}, {0, 1}, {});
    ReconWeighting w;
    w.take_sqrt = false;
    Tensor err = Tensor::empty({2}, dt), dz = Tensor::empty({2, 1}, dt);
    structure_recon_error_forward(z, target, Tensor(), w, err);
    auto v = err.to_vector();
    EXPECT_NEAR(v[0], 0.848132980702889, tol);  // (s(1) - 1)^2 + s(2)^2
    EXPECT_NEAR(v[1], 0.7761269963231762, tol);  // s(2)^2 + (s(4) - 1)^2
    // d(S_0 + S_1)/dz, including the diagonal terms p_ii = sigmoid(z_i^2).
    structure_recon_error_backward(z, target, Tensor(), w, err, Tensor::full({2}, 1, dt), dz);
    auto d = dz.to_vector();
    EXPECT_NEAR(d[0], 0.5283159747015721, tol);
    EXPECT_NEAR(d[1], 0.36737069177971154, tol);
    w.take_sqrt = true;
    structure_recon_error_forward(z, target, Tensor(), w, err);
    v = err.to_vector();
    EXPECT_NEAR(v[0], 0.920941355734929, tol);
    EXPECT_NEAR(v[1], 0.8809807014476402, tol);
    // Block-diagonal ranges {0}, {1}: only the diagonal terms remain.
    Tensor ranges = Tensor::from_vector({0, 1, 1, 2}, {2, 2}, DType::I64);
    structure_recon_error_forward(z, target, ranges, w, err);
    v = err.to_vector();
    double s1 = 1 / (1 + std::exp(-1.0)), s4 = 1 / (1 + std::exp(-4.0));
    EXPECT_NEAR(v[0], 1 - s1, tol);
    EXPECT_NEAR(v[1], 1 - s4, tol);
  }
}

TEST(ReconLoss, StructureMatchesDenseFormOnSmallGraph) {
  // The structure term equals the dense term on sigmoid(Z Z^T) vs A + I when the ranges are undefined.
  Graph g = make_graph({9}, false, 5, 2);
  Tensor z = random_z(9, 4, 6, DType::F64);
  std::vector<double> zz = z.to_vector(), pv(81);
  for (int i = 0; i < 9; ++i)
    for (int j = 0; j < 9; ++j) {
      double s = 0;
      for (int k = 0; k < 4; ++k) s += zz[i * 4 + k] * zz[j * 4 + k];
      pv[i * 9 + j] = 1 / (1 + std::exp(-s));
    }
  Tensor p = Tensor::from_vector(pv, {9, 9}, DType::F64), a = csr_to_dense(g.target).to_dtype(DType::F64);
  for (const ReconWeighting& w : all_weightings()) {
    SCOPED_TRACE(describe(w));
    Tensor e1 = Tensor::empty({9}, DType::F64), e2 = Tensor::empty({9}, DType::F64);
    structure_recon_error_forward(z, g.target, Tensor(), w, e1);
    dense_recon_error_forward(p, a, w, e2);
    EXPECT_TRUE(test::all_close(e1, e2, 1e-12, 1e-12));
  }
}

// ---- preconditions -----------------------------------------------------------------

TEST(ReconLoss, ShapeAndPreconditionErrors) {
  ReconWeighting w;
  Tensor pred = Tensor::zeros({2, 3}), err = Tensor::empty({2}), dpred = Tensor::empty({2, 3});
  EXPECT_THROW(dense_recon_error_forward(pred, Tensor::zeros({2, 4}), w, err), Error);
  EXPECT_THROW(dense_recon_error_forward(pred, Tensor::zeros({2, 3}, DType::F64), w, err), Error);
  Tensor err3 = Tensor::empty({3});
  EXPECT_THROW(dense_recon_error_forward(pred, pred, w, err3), Error);
  Tensor flat = Tensor::zeros({6}), err6 = Tensor::empty({6});
  EXPECT_THROW(dense_recon_error_forward(flat, flat, w, err6), Error);
  Tensor ints = Tensor::zeros({2, 3}, DType::I32);
  EXPECT_THROW(dense_recon_error_forward(ints, ints, w, err), Error);
  Tensor dbad = Tensor::empty({3, 2});
  EXPECT_THROW(dense_recon_error_backward(pred, pred, w, err, err, dbad), Error);
  EXPECT_THROW(dense_recon_error_backward(pred, pred, w, err, Tensor::empty({1}), dpred), Error);
  ReconWeighting nan_w;
  nan_w.pos = NAN;
  EXPECT_THROW(dense_recon_error_forward(pred, pred, nan_w, err), Error);

  Graph g = make_graph({4}, false, 1);
  Tensor z = Tensor::zeros({4, 3}), e4 = Tensor::empty({4}), dz = Tensor::empty({4, 3});
  EXPECT_NO_THROW(structure_recon_error_forward(z, g.target, Tensor(), w, e4));
  Graph g5 = make_graph({5}, false, 1);
  EXPECT_THROW(structure_recon_error_forward(z, g5.target, Tensor(), w, e4), Error);  // 5 x 5 target, N = 4
  EXPECT_THROW(structure_recon_error_forward(Tensor::zeros({4}), g.target, Tensor(), w, e4), Error);
  EXPECT_THROW(structure_recon_error_forward(z, g.target, Tensor(), w, err), Error);  // err [2]
  EXPECT_THROW(structure_recon_error_forward(z, g.target, Tensor::zeros({4, 3}, DType::I64), w, e4), Error);
  EXPECT_THROW(structure_recon_error_forward(z, g.target, Tensor::zeros({4, 2}, DType::I32), w, e4), Error);
  Tensor inverted = Tensor::from_vector({0, 4, 0, 4, 3, 2, 0, 4}, {4, 2}, DType::I64);
  EXPECT_THROW(structure_recon_error_forward(z, g.target, inverted, w, e4), Error);
  Tensor past_end = Tensor::from_vector({0, 4, 0, 4, 0, 5, 0, 4}, {4, 2}, DType::I64);
  EXPECT_THROW(structure_recon_error_forward(z, g.target, past_end, w, e4), Error);
  Tensor negative = Tensor::from_vector({-1, 4, 0, 4, 0, 4, 0, 4}, {4, 2}, DType::I64);
  EXPECT_THROW(structure_recon_error_forward(z, g.target, negative, w, e4), Error);
  // Unsorted CSR columns.
  CsrMatrix bad = g.target;
  bad.row_ptr = Tensor::from_vector({0, 2, 2, 2, 2}, {5}, DType::I64);
  bad.col = Tensor::from_vector({1, 0}, {2}, DType::I32);
  EXPECT_THROW(structure_recon_error_forward(z, bad, Tensor(), w, e4), Error);
  Tensor dz_bad = Tensor::empty({4, 2});
  EXPECT_THROW(structure_recon_error_backward(z, g.target, Tensor(), w, e4, e4, dz_bad), Error);
  EXPECT_THROW(structure_recon_error_backward(z, g.target, Tensor(), w, e4, Tensor::empty({4}, DType::F64), dz),
               Error);
  // The message names the op and the shapes.
  try {
    structure_recon_error_forward(z, g5.target, Tensor(), w, e4);
    FAIL() << "no throw";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("structure_recon_error_forward"), std::string::npos) << m;
    EXPECT_NE(m.find("5x5"), std::string::npos) << m;
  }
}

TEST(ReconLoss, CsrShapeAndPreconditionErrors) {
  ReconWeighting w;
  CsrTarget tg = make_csr_target(3, 4, 1, 0.5);
  Tensor pred = Tensor::zeros({3, 4}), err = Tensor::empty({3}), dpred = Tensor::empty({3, 4});
  EXPECT_NO_THROW(csr_recon_error_forward(pred, tg.csr, w, err));
  EXPECT_TRUE(test::error_contains([&] { csr_recon_error_forward(Tensor::zeros({3, 5}), tg.csr, w, err); }, "3x4"));
  EXPECT_THROW(csr_recon_error_forward(Tensor::zeros({3, 4}, DType::F64), tg.csr, w, err), Error);
  CsrMatrix pattern = tg.csr;
  pattern.val = Tensor();
  EXPECT_TRUE(test::error_contains([&] { csr_recon_error_forward(pred, pattern, w, err); }, "values"));
  Tensor err2 = Tensor::empty({2});
  EXPECT_THROW(csr_recon_error_forward(pred, tg.csr, w, err2), Error);
  CsrMatrix unsorted = csr_from_triplets(3, 4, {0, 0}, {1, 2}, {1, 1});
  unsorted.col.data<int32_t>()[0] = 2;
  unsorted.col.data<int32_t>()[1] = 1;
  EXPECT_TRUE(test::error_contains([&] { csr_recon_error_forward(pred, unsorted, w, err); }, "sorted"));
  Tensor dbad = Tensor::empty({4, 3});
  EXPECT_THROW(csr_recon_error_backward(pred, tg.csr, w, err, err, dbad), Error);
  EXPECT_THROW(csr_recon_error_backward(pred, tg.csr, w, err, Tensor::empty({1}), dpred), Error);
  ReconWeighting nan_w;
  nan_w.pos = NAN;
  EXPECT_THROW(csr_recon_error_forward(pred, tg.csr, nan_w, err), Error);
}

// ---- gradient checks (f64, public API) ------------------------------------------------

TEST(GradCheckReconLoss, DenseBackward) {
  for (const ReconWeighting& w : all_weightings()) {
    SCOPED_TRACE(describe(w));
    Tensor pred = test::random_tensor({4, 9}, 21, -1, 2, DType::F64);
    Tensor target = test::random_tensor({4, 9}, 22, 0, 1, DType::F64);
    {
      double* t = target.data<double>();
      for (int64_t k = 0; k < target.numel(); k += 3) t[k] = t[k] > 0.5 ? 1 : 0;
    }
    Tensor err;
    AD_EXPECT_GRADCHECK(test::grad_check(
        {pred}, {},
        [&] {
          err = Tensor::empty({4}, DType::F64);
          dense_recon_error_forward(pred, target, w, err);
          return err;
        },
        [&](const Tensor& derr) {
          Tensor dpred = Tensor::empty(pred.shape(), DType::F64);
          dense_recon_error_backward(pred, target, w, err, derr, dpred);
          return std::vector<Tensor>{dpred};
        }));
  }
}

TEST(GradCheckReconLoss, CsrBackward) {
  CsrTarget tg = make_csr_target(5, 11, 23, 0.3, DType::F64);
  for (const ReconWeighting& w : all_weightings()) {
    SCOPED_TRACE(describe(w));
    Tensor pred = test::random_tensor({5, 11}, 24, -1, 2, DType::F64);
    Tensor err;
    AD_EXPECT_GRADCHECK(test::grad_check(
        {pred}, {},
        [&] {
          err = Tensor::empty({5}, DType::F64);
          csr_recon_error_forward(pred, tg.csr, w, err);
          return err;
        },
        [&](const Tensor& derr) {
          Tensor dpred = Tensor::empty(pred.shape(), DType::F64);
          csr_recon_error_backward(pred, tg.csr, w, err, derr, dpred);
          return std::vector<Tensor>{dpred};
        }));
  }
}

TEST(GradCheckReconLoss, StructureBackward) {
  const std::vector<StructCase> cases = {
      {{2}, false, 1},                  // two nodes, H = 1 (diagonal terms matter)
      {{7}, false, 3},                  // one graph
      {{1, 3, 5}, true, 2},             // block-diagonal
      {{1, 3, 5}, true, 2, 6},          // with edges between blocks, outside the ranges
      {{2, 1, 4}, true, 3, 0, 1},       // an empty range
  };
  for (const StructCase& sc : cases) {
    Graph g = make_graph(sc.blocks, sc.ranges, 31, 2, sc.cross, sc.empty_block);
    for (const ReconWeighting& w : all_weightings()) {
      SCOPED_TRACE(describe(sc) + " " + describe(w));
      Tensor z = random_z(g.n, sc.h, 32, DType::F64);
      Tensor err;
      AD_EXPECT_GRADCHECK(test::grad_check(
          {z}, {},
          [&] {
            err = Tensor::empty({g.n}, DType::F64);
            structure_recon_error_forward(z, g.target, g.ranges, w, err);
            return err;
          },
          [&](const Tensor& derr) {
            Tensor dz = Tensor::empty(z.shape(), DType::F64);
            structure_recon_error_backward(z, g.target, g.ranges, w, err, derr, dz);
            return std::vector<Tensor>{dz};
          }));
    }
  }
}

// ---- GPU parity -------------------------------------------------------------------------

TEST(GpuParityReconLoss, DenseMatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  struct RC {
    int64_t rows, cols;
  };
  // Smaller (still awkward) shapes on the emulated device, which runs one fiber per GPU thread.
  const std::vector<RC> shapes = cuda_available() ? std::vector<RC>{{1, 1}, {20000, 128}, {1000, 3000}, {0, 4}}
                                                  : std::vector<RC>{{1, 1}, {1001, 37}, {13, 3001}, {0, 4}};
  for (const RC& s : shapes) {
    for (const ReconWeighting& w : all_weightings()) {
      SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols) + " " + describe(w));
      Tensor pred = test::random_tensor({s.rows, s.cols}, seed, -1, 2);
      Tensor target = test::random_tensor({s.rows, s.cols}, seed + 1, 0, 1);
      Tensor derr = test::random_tensor({s.rows}, seed + 2);
      Tensor err = Tensor::empty({s.rows}), dpred = Tensor::empty(pred.shape());
      dense_recon_error_forward(pred, target, w, err);
      dense_recon_error_backward(pred, target, w, err, derr, dpred);
      Tensor gp = pred.to(G), gt = target.to(G), gd = derr.to(G);
      Tensor ge = Tensor::empty({s.rows}, DType::F32, G);
      Tensor gdp = Tensor::empty(pred.shape(), DType::F32, G);
      dense_recon_error_forward(gp, gt, w, ge);
      dense_recon_error_backward(gp, gt, w, ge, gd, gdp);
      EXPECT_TRUE(test::all_close(ge, err, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gdp, dpred, 1e-5, 1e-4));
    }
  }
}

TEST(GpuParityReconLoss, CsrMatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  struct RC {
    int64_t rows, cols;
    double density;
  };
  // BlogCatalog-like widths (8,189 attributes, ~1 % dense) on the GPU; smaller awkward shapes emulated.
  const std::vector<RC> shapes = cuda_available()
                                     ? std::vector<RC>{{1, 1, 1.0}, {5196, 8189, 0.01}, {2000, 3001, 0.3}, {0, 4, 0.5}}
                                     : std::vector<RC>{{1, 1, 1.0}, {301, 37, 0.2}, {13, 3001, 0.02}, {0, 4, 0.5}};
  for (const RC& s : shapes) {
    CsrTarget tg = make_csr_target(s.rows, s.cols, seed + 1, s.density);
    CsrMatrix gtarget = tg.csr.to(G);
    Tensor pred = test::random_tensor({s.rows, s.cols}, seed, -1, 2);
    Tensor derr = test::random_tensor({s.rows}, seed + 2);
    Tensor gp = pred.to(G), gd = derr.to(G);
    for (const ReconWeighting& w : all_weightings()) {
      SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.cols) + " " + describe(w));
      Tensor err = Tensor::empty({s.rows}), dpred = Tensor::empty(pred.shape());
      csr_recon_error_forward(pred, tg.csr, w, err);
      csr_recon_error_backward(pred, tg.csr, w, err, derr, dpred);
      Tensor ge = Tensor::empty({s.rows}, DType::F32, G), gdp = Tensor::empty(pred.shape(), DType::F32, G);
      csr_recon_error_forward(gp, gtarget, w, ge);
      csr_recon_error_backward(gp, gtarget, w, ge, gd, gdp);
      EXPECT_TRUE(test::all_close(ge, err, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gdp, dpred, 1e-5, 1e-4));
    }
  }
}

TEST(GpuParityReconLoss, StructureMatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  // Block-diagonal batch of N = 20000 in blocks of random sizes 1..2000 (on the emulated device, which runs one
  // fiber per GPU thread, N = 1000 in blocks of 1..100, and smaller single blocks).
  const bool gpu = cuda_available();
  std::vector<int64_t> big;
  for (int64_t left = gpu ? 20000 : 1000; left > 0;) {
    int64_t b = std::min<int64_t>(left, 1 + int64_t(rng() % (gpu ? 2000 : 100)));
    big.push_back(b);
    left -= b;
  }
  const std::vector<StructCase> cases =
      gpu ? std::vector<StructCase>{{{1}, false, 1}, {{777}, false, 130}, {{3000}, false, 128}, {{5000}, false, 5},
                                    {big, true, 128, 100}}
          : std::vector<StructCase>{{{1}, false, 1}, {{277}, false, 130}, {{301}, false, 5}, {big, true, 128, 100}};
  for (const StructCase& sc : cases) {
    Graph g = make_graph(sc.blocks, sc.ranges, seed + 3, 8, sc.cross);
    int64_t n = g.n;
    Tensor z = random_z(n, sc.h, seed + 4);
    Tensor derr = test::random_tensor({n}, seed + 5);
    CsrMatrix gtarget = g.target.to(G);
    Tensor granges = g.ranges.defined() ? g.ranges.to(G) : Tensor();
    Tensor gz = z.to(G), gd = derr.to(G);
    for (const ReconWeighting& w : {all_weightings()[0], all_weightings()[3]}) {
      SCOPED_TRACE("n=" + std::to_string(n) + " h=" + std::to_string(sc.h) + " " + describe(w));
      Tensor err = Tensor::empty({n}), dz = Tensor::empty(z.shape());
      structure_recon_error_forward(z, g.target, g.ranges, w, err);
      structure_recon_error_backward(z, g.target, g.ranges, w, err, derr, dz);
      Tensor ge = Tensor::empty({n}, DType::F32, G), gdz = Tensor::empty(z.shape(), DType::F32, G);
      structure_recon_error_forward(gz, gtarget, granges, w, ge);
      structure_recon_error_backward(gz, gtarget, granges, w, ge, gd, gdz);
      EXPECT_TRUE(test::all_close(ge, err, 1e-5, 1e-4));
      EXPECT_TRUE(test::all_close(gdz, dz, 1e-4, 1e-3));
      // Deterministic: a second run gives the same bits.
      Tensor ge2 = Tensor::empty({n}, DType::F32, G);
      structure_recon_error_forward(gz, gtarget, granges, w, ge2);
      EXPECT_EQ(ge2.to_vector(), ge.to_vector());
    }
  }
}
