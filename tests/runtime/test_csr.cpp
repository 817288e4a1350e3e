#include <gtest/gtest.h>

#include "runtime/csr.h"
#include "tests/support/helpers.h"

using namespace ad;

TEST(Csr, FromTripletsSortsAndSumsDuplicates) {
  CsrMatrix m = csr_from_triplets(3, 4, {2, 0, 0, 2, 0}, {1, 3, 0, 1, 3}, {1, 2, 3, 4, 5});
  m.validate("test");
  EXPECT_EQ(m.nnz(), 3);
  std::vector<double> dense = csr_to_dense(m).to_vector();
  std::vector<double> want = {3, 0, 0, 7, 0, 0, 0, 0, 0, 5, 0, 0};
  EXPECT_EQ(dense, want);
}

TEST(Csr, DenseRoundTripAndTransposeWithEdgeMap) {
  Tensor d = Tensor::from_vector({0, 1, 2, 0, 0, 0, 3, 0, 4}, {3, 3});
  CsrMatrix m = csr_from_dense(d);
  EXPECT_EQ(csr_to_dense(m).to_vector(), d.to_vector());
  std::vector<int64_t> edge_of;
  CsrMatrix t = csr_transpose(m, &edge_of);
  t.validate("test");
  EXPECT_EQ(csr_to_dense(t).to_vector(), std::vector<double>({0, 0, 3, 1, 0, 0, 2, 0, 4}));
  ASSERT_EQ(edge_of.size(), size_t(m.nnz()));
  for (int64_t k = 0; k < t.nnz(); ++k) EXPECT_EQ(t.val.data<float>()[k], m.val.data<float>()[edge_of[k]]);
}

TEST(Csr, ValidateRejectsUnsortedAndOutOfRange) {
  CsrMatrix m = csr_from_triplets(2, 3, {0, 0, 1}, {0, 2, 1}, {});
  m.validate("test");
  m.col.data<int32_t>()[0] = 2;  // row 0 now {2, 2}: not unique
  EXPECT_THROW(m.validate("test"), Error);
  m.col.data<int32_t>()[0] = 5;
  EXPECT_THROW(m.validate("test"), Error);
  EXPECT_THROW(csr_from_triplets(2, 2, {0}, {2}, {}), Error);
}

// csr_from_dense / csr_to_dense in each value type: the dtype kept (f64) or made f32, explicit entries only,
// empty rows and an all-zero matrix, pattern-only matrices densify to ones.
TEST(Csr, DenseConversionsKeepTypesAndEmptyRows) {
  const std::vector<double> v = {0, 1.5, 0, 0, 0, 0, -2, 0, 0.25};
  for (DType dt : {DType::F32, DType::F64, DType::I32}) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<double> want = v;
    if (dt == DType::I32)
      for (double& x : want) x = double(int32_t(x));
    Tensor d = Tensor::from_vector(v, {3, 3}, dt);
    CsrMatrix m = csr_from_dense(d);
    m.validate("test");
    EXPECT_EQ(m.val.dtype(), dt == DType::F64 ? DType::F64 : DType::F32);
    EXPECT_EQ(m.nnz(), dt == DType::I32 ? 2 : 3);  // 1.5 -> 1, 0.25 -> 0 as integers
    EXPECT_EQ(m.row_ptr.to_vector(), (std::vector<double>{0, 1, 1, dt == DType::I32 ? 2.0 : 3.0}));
    Tensor back = csr_to_dense(m);
    EXPECT_EQ(back.dtype(), m.val.dtype());
    EXPECT_EQ(back.to_vector(), want);
  }
  CsrMatrix zero = csr_from_dense(Tensor::zeros({2, 4}));
  EXPECT_EQ(zero.nnz(), 0);
  EXPECT_TRUE(zero.has_values());
  EXPECT_EQ(csr_to_dense(zero).to_vector(), std::vector<double>(8, 0.0));
  CsrMatrix pattern = csr_from_triplets(2, 2, {0, 1}, {1, 0}, {});
  EXPECT_EQ(csr_to_dense(pattern).to_vector(), (std::vector<double>{0, 1, 1, 0}));
  CsrMatrix ints = csr_from_triplets(1, 3, {0}, {2}, {7});
  ints.val = Tensor::from_vector({7}, {1}, DType::I32);
  Tensor di = csr_to_dense(ints);
  EXPECT_EQ(di.dtype(), DType::I32);
  EXPECT_EQ(di.to_vector(), (std::vector<double>{0, 0, 7}));
}
