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
