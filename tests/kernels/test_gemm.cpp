#include <gtest/gtest.h>

#include "kernels/gemm.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
// Naive triple loop in double: the reference the BLAS-backed gemm is checked against.
Tensor naive_gemm(bool ta, bool tb, double alpha, const Tensor& A, const Tensor& B, double beta, const Tensor& C0) {
  auto a = A.to_vector(), b = B.to_vector(), c = C0.to_vector();
  int64_t M = C0.size(0), N = C0.size(1), K = ta ? A.size(0) : A.size(1);
  std::vector<double> out(size_t(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) {
        double av = ta ? a[size_t(k * A.size(1) + i)] : a[size_t(i * A.size(1) + k)];
        double bv = tb ? b[size_t(j * B.size(1) + k)] : b[size_t(k * B.size(1) + j)];
        s += av * bv;
      }
      out[size_t(i * N + j)] = alpha * s + (beta == 0 ? 0.0 : beta * c[size_t(i * N + j)]);
    }
  return Tensor::from_vector(out, {M, N}, DType::F64);
}

struct Dims {
  int64_t M, N, K;
};
// The last two are above the threaded-split threshold (2*M*N*K >= 4e6): C split by rows (M >= N), then by
// columns (N > M), into uneven blocks.
const Dims kDims[] = {{1, 1, 1},  {3, 5, 7},  {17, 1, 33},      {1, 19, 4},
                      {64, 65, 63}, {4, 3, 0}, {0, 3, 2}, {301, 67, 101}, {23, 411, 223}};

Shape a_shape(bool ta, const Dims& d) { return ta ? Shape{d.K, d.M} : Shape{d.M, d.K}; }
Shape b_shape(bool tb, const Dims& d) { return tb ? Shape{d.N, d.K} : Shape{d.K, d.N}; }
}  // namespace

TEST(Gemm, MatchesNaiveLoopsForAllTransposesAndDtypes) {
  for (DType dt : {DType::F32, DType::F64})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (const Dims& d : kDims)
          for (double beta : {0.0, 0.5}) {
            SCOPED_TRACE(std::string(dtype_name(dt)) + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) +
                         " M=" + std::to_string(d.M) + " N=" + std::to_string(d.N) + " K=" + std::to_string(d.K) +
                         " beta=" + std::to_string(beta));
            Tensor A = test::random_tensor(a_shape(ta, d), 1, -1, 1, dt);
            Tensor B = test::random_tensor(b_shape(tb, d), 2, -1, 1, dt);
            Tensor C = test::random_tensor({d.M, d.N}, 3, -1, 1, dt);
            Tensor want = naive_gemm(ta, tb, 1.5, A, B, beta, C);
            if (beta == 0) C.fill_(NAN);  // beta == 0 must ignore C entirely
            gemm(ta, tb, 1.5, A, B, beta, C);
            double tol = dt == DType::F32 ? 2e-5 : 1e-12;
            EXPECT_TRUE(test::all_close(C.to_dtype(DType::F64), want, tol, tol));
          }
}

TEST(Gemm, RejectsShapesThatDoNotCompose) {
  Tensor A = Tensor::zeros({3, 4}), B = Tensor::zeros({5, 2}), C = Tensor::zeros({3, 2});
  EXPECT_THROW(gemm(false, false, 1, A, B, 0, C), Error);
  Tensor B2 = Tensor::zeros({4, 2}), C2 = Tensor::zeros({2, 3});
  EXPECT_THROW(gemm(false, false, 1, A, B2, 0, C2), Error);
  Tensor Bd = Tensor::zeros({4, 2}, DType::F64);
  EXPECT_THROW(gemm(false, false, 1, A, Bd, 0, C), Error);
}

TEST(GpuParityGemm, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  ASSERT_FALSE(gemm_tf32()) << "parity tests compare f32 products: TF32 must be off";
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const Dims dims[] = {{1, 1, 1}, {3, 5, 7}, {129, 70, 257}, {512, 384, 300}, {4, 3, 0}, {0, 3, 2}};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (const Dims& d : dims)
        for (double beta : {0.0, 1.0}) {
          SCOPED_TRACE("ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " M=" + std::to_string(d.M) +
                       " N=" + std::to_string(d.N) + " K=" + std::to_string(d.K));
          Tensor A = test::random_tensor(a_shape(ta, d), seed, -1, 1);
          Tensor B = test::random_tensor(b_shape(tb, d), seed + 1, -1, 1);
          Tensor C = test::random_tensor({d.M, d.N}, seed + 2, -1, 1);
          Tensor gA = A.to(G), gB = B.to(G), gC = C.to(G);
          gemm(ta, tb, 0.75, A, B, beta, C);
          gemm(ta, tb, 0.75, gA, gB, beta, gC);
          EXPECT_TRUE(test::all_close(gC, C, 1e-4, 1e-4));
        }
}

namespace {
// Restores the TF32 switch when a test leaves, whatever happens in it.
struct Tf32Scope {
  bool saved = gemm_tf32();
  explicit Tf32Scope(bool on) { set_gemm_tf32(on); }
  ~Tf32Scope() { set_gemm_tf32(saved); }
};
}  // namespace

// Off unless a model's `tf32` setting turns it on; the CPU products do not change with it.
TEST(GemmTf32, OffByDefaultAndIgnoredOnTheCpu) {
  EXPECT_FALSE(gemm_tf32());
  Tensor A = test::random_tensor({37, 19}, 3), B = test::random_tensor({19, 23}, 4);
  Tensor off = Tensor::empty({37, 23}), on = Tensor::empty({37, 23});
  gemm(false, false, 1.0, A, B, 0.0, off);
  {
    Tf32Scope tf32(true);
    EXPECT_TRUE(gemm_tf32());
    gemm(false, false, 1.0, A, B, 0.0, on);
  }
  EXPECT_FALSE(gemm_tf32());
  const std::vector<double> a = off.to_vector(), b = on.to_vector();
  EXPECT_EQ(a, b);
}

// With TF32 on, the GPU product is within TF32's error (10-bit mantissa inputs: ~1e-3 relative per product,
// K = 300 terms of random sign) of the f32 CPU product. Needs the real cuBLAS: the emulated device's stand-in
// multiplies in f32, which would pass without testing anything.
TEST(GpuParityGemm, Tf32WithinItsTolerance) {
  AD_REQUIRE_GPU();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Tensor A = test::random_tensor({129, 300}, seed), B = test::random_tensor({300, 70}, seed + 1);
  Tensor C = Tensor::empty({129, 70});
  gemm(false, false, 1.0, A, B, 0.0, C);
  Tf32Scope tf32(true);
  Tensor gC = Tensor::empty({129, 70}, DType::F32, Device::CUDA);
  gemm(false, false, 1.0, A.to(Device::CUDA), B.to(Device::CUDA), 0.0, gC);
  EXPECT_TRUE(test::all_close(gC, C, 3e-2, 1e-2));
}
