// Sparse x dense product for CSR matrices: C = A B (A [M, K] CSR with values, B [K, N] dense, C [M, N]),
// optionally accumulating into C. Used where a plain SpMM is all that is needed: AnomalyDAE's X W1 for
// sparse attributes and X^T W3 (through the transpose, built once). CPU reference (f32, f64, OpenMP over
// rows) in spmm.cpp; cuSPARSE (cusparseSpMM) in spmm.cu.
#pragma once
#include "runtime/csr.h"
#include "runtime/tensor.h"

namespace ad {

void spmm(const CsrMatrix& a, const Tensor& b, Tensor& c, bool accumulate = false);

}  // namespace ad
