#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>

#include "kernels/csr_cache.h"
#include "kernels/spmm.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {

// Random M x K sparse matrix with about density * M * K nonzeros in [-1, 1); every 5th row is empty.
CsrMatrix random_sparse(int64_t m, int64_t k, double density, uint64_t seed, DType dtype = DType::F32) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(0, 1), v(-1, 1);
  std::vector<int64_t> r, c;
  std::vector<double> vals;
  for (int64_t i = 0; i < m; ++i) {
    if (i % 5 == 2) continue;
    for (int64_t j = 0; j < k; ++j)
      if (u(gen) < density) {
        r.push_back(i);
        c.push_back(j);
        vals.push_back(v(gen));
      }
  }
  CsrMatrix a = csr_from_triplets(m, k, r, c, vals, dtype);
  if (!a.has_values()) a.val = Tensor::empty({0}, dtype);  // no nonzeros: an empty value array
  return a;
}

// C = A B (+ C0) by dense triple loops in double.
Tensor dense_product(const CsrMatrix& a, const Tensor& b, const Tensor* c0) {
  const int64_t m = a.rows, k = a.cols, n = b.size(1);
  std::vector<double> ad = csr_to_dense(a).to_vector(), bd = b.to_vector();
  std::vector<double> out(size_t(m * n), 0.0);
  if (c0) out = c0->to_vector();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += ad[i * k + p] * bd[p * n + j];
      out[i * n + j] += s;
    }
  return Tensor::from_vector(out, {m, n}, b.dtype());
}

struct MKN {
  int64_t m, k, n;
  double density;
};
const MKN kShapes[] = {{1, 1, 1, 1.0}, {7, 5, 3, 0.4}, {40, 33, 17, 0.1}, {65, 200, 1, 0.05},
                       {30, 20, 9, 0.0}, {0, 4, 3, 0.5}, {5, 0, 4, 0.5}, {6, 4, 0, 0.5}};

}  // namespace

TEST(Spmm, CpuMatchesDenseProduct) {
  for (DType dt : {DType::F32, DType::F64}) {
    for (const MKN& s : kShapes) {
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(std::string(dtype_name(dt)) + " " + std::to_string(s.m) + "x" + std::to_string(s.k) + "x" +
                     std::to_string(s.n) + (accumulate ? " accumulate" : ""));
        CsrMatrix a = random_sparse(s.m, s.k, s.density, 100 + s.m, dt);
        Tensor b = test::random_tensor({s.k, s.n}, 7, -1, 1, dt);
        Tensor c0 = test::random_tensor({s.m, s.n}, 8, -1, 1, dt);
        // Without accumulation the old C must not matter, NaN included.
        Tensor c = accumulate ? c0.clone() : Tensor::full({s.m, s.n}, NAN, dt);
        spmm(a, b, c, accumulate);
        Tensor want = dense_product(a, b, accumulate ? &c0 : nullptr);
        double tol = dt == DType::F32 ? 1e-5 : 1e-12;
        EXPECT_TRUE(test::all_close(c, want, tol, tol));
      }
    }
  }
}

TEST(Spmm, KnownValues) {
  // [[1 0 2], [0 0 0], [0 3 0]] x [[1 2], [3 4], [5 6]] = [[11 14], [0 0], [9 12]]
  CsrMatrix a = csr_from_triplets(3, 3, {0, 0, 2}, {0, 2, 1}, {1, 2, 3});
  Tensor b = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor c = Tensor::full({3, 2}, 1.0);
  spmm(a, b, c, true);
  auto v = c.to_vector();
  const double want[] = {12, 15, 1, 1, 10, 13};
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(v[i], want[i]) << i;
  spmm(a, b, c);
  v = c.to_vector();
  const double want0[] = {11, 14, 0, 0, 9, 12};
  for (int i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(v[i], want0[i]) << i;
}

TEST(Spmm, TransposeGivesXtW) {
  // X^T W through the transpose built once: compare with the dense X^T W.
  CsrMatrix x = random_sparse(30, 12, 0.2, 5);
  CsrMatrix xt = csr_transpose(x);
  Tensor w = test::random_tensor({30, 6}, 9);
  Tensor c = Tensor::empty({12, 6});
  spmm(xt, w, c);
  EXPECT_TRUE(test::all_close(c, dense_product(xt, w, nullptr), 1e-5, 1e-5));
}

TEST(Spmm, BadShapesThrow) {
  CsrMatrix a = random_sparse(6, 5, 0.5, 1);
  Tensor b = test::random_tensor({5, 3}, 2), c = Tensor::empty({6, 3});
  EXPECT_NO_THROW(spmm(a, b, c));
  Tensor b_bad = test::random_tensor({4, 3}, 2);
  EXPECT_THROW(spmm(a, b_bad, c), Error);
  Tensor c_rows = Tensor::empty({5, 3}), c_cols = Tensor::empty({6, 4});
  EXPECT_THROW(spmm(a, b, c_rows), Error);
  EXPECT_THROW(spmm(a, b, c_cols), Error);
  Tensor b1 = test::random_tensor({5}, 2);
  EXPECT_THROW(spmm(a, b1, c), Error);
  Tensor b64 = test::random_tensor({5, 3}, 2, -1, 1, DType::F64);
  EXPECT_THROW(spmm(a, b64, c), Error);
  Tensor c64 = Tensor::empty({6, 3}, DType::F64);
  EXPECT_THROW(spmm(a.to_dtype(DType::F64), b64, c), Error);
  EXPECT_NO_THROW(spmm(a.to_dtype(DType::F64), b64, c64));
  CsrMatrix pattern = csr_from_triplets(6, 5, {0, 1}, {1, 2}, {});
  EXPECT_THROW(spmm(pattern, b, c), Error);
}

TEST(GpuParitySpmm, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  // Smaller (still awkward) shapes on the emulated device, which runs one fiber per GPU thread.
  const std::vector<MKN> shapes =
      cuda_available() ? std::vector<MKN>{{1, 1, 1, 1.0},        {1000, 500, 64, 0.02}, {100000, 2000, 16, 0.002},
                                          {3000, 3000, 1, 0.01}, {500, 300, 300, 0.05}, {200, 100, 8, 0.0},
                                          {0, 10, 4, 0.5},       {10, 10, 0, 0.5}}
                       : std::vector<MKN>{{1, 1, 1, 1.0},     {301, 200, 37, 0.02}, {3001, 500, 5, 0.002},
                                          {200, 100, 8, 0.0}, {0, 10, 4, 0.5},      {10, 10, 0, 0.5}};
  for (const MKN& s : shapes) {
    for (bool accumulate : {false, true}) {
      SCOPED_TRACE(std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n) +
                   (accumulate ? " accumulate" : ""));
      CsrMatrix a = random_sparse(s.m, s.k, s.density, seed);
      Tensor b = test::random_tensor({s.k, s.n}, seed + 1), c0 = test::random_tensor({s.m, s.n}, seed + 2);
      Tensor c = c0.clone();
      spmm(a, b, c, accumulate);
      // Twice with the same device matrix and fresh dense buffers: the second call runs on the cached
      // descriptors and buffer, re-pointed at the new B and C.
      CsrMatrix ga = a.to(G);
      for (int call = 0; call < 2; ++call) {
        SCOPED_TRACE("call " + std::to_string(call));
        Tensor gc = accumulate ? c0.to(G) : Tensor::full({s.m, s.n}, NAN, DType::F32, G);
        spmm(ga, b.to(G), gc, accumulate);
        EXPECT_TRUE(test::all_close(gc, c, 1e-5, 1e-4));
      }
    }
  }
}

// The per-graph cache behind the GPU SpMM (kernels/csr_cache.h), on CPU matrices: one build per live
// matrix, shared by copies of it, rebuilt once its buffers are freed (even when a new matrix reuses the
// addresses), least recently used evicted past the capacity.
TEST(CsrDerivedCache, OneBuildPerLiveMatrixRebuiltAfterFree) {
  struct Entry {
    int64_t nnz;
  };
  CsrDerivedCache<Entry> cache(2);
  auto make_for = [](const CsrMatrix& m) { return [&m] { return std::make_unique<Entry>(Entry{m.nnz()}); }; };
  CsrMatrix a = random_sparse(20, 9, 0.3, 1), b = random_sparse(20, 9, 0.3, 2);
  EXPECT_EQ(cache.get(a, make_for(a)).nnz, a.nnz());
  cache.get(a, make_for(a));
  CsrMatrix a_copy = a;  // same buffers
  cache.get(a_copy, make_for(a_copy));
  EXPECT_EQ(cache.builds(), 1u);
  cache.get(b, make_for(b));
  EXPECT_EQ(cache.builds(), 2u);
  {
    CsrMatrix c = random_sparse(20, 9, 0.3, 3);
    cache.get(c, make_for(c));  // capacity 2: evicts a (least recently used)
    EXPECT_EQ(cache.builds(), 3u);
    EXPECT_EQ(cache.size(), 2u);
  }
  // c's buffers are gone: its entry is dropped at the next lookup, and a new matrix built in their place
  // (possibly at the same addresses) gets a fresh entry rather than c's.
  CsrMatrix d = random_sparse(20, 9, 0.3, 3);
  EXPECT_EQ(cache.get(d, make_for(d)).nnz, d.nnz());
  EXPECT_EQ(cache.builds(), 4u);
  EXPECT_EQ(cache.size(), 2u);  // b and d
  cache.get(a, make_for(a));    // a was evicted: built again
  EXPECT_EQ(cache.builds(), 5u);
}
