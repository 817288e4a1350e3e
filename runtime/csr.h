// CsrMatrix: a sparse matrix in compressed-sparse-row form (row_ptr i64 [rows+1], col i32 [nnz],
// optional val f32/f64 [nnz]); column indices sorted and unique within each row. Used for graph
// adjacencies (attention over neighbours, structure targets) and sparse node attributes (SpMM).
// Built on the CPU; moved to the GPU explicitly with to(Device), like a Tensor.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor.h"

namespace ad {

struct CsrMatrix {
  int64_t rows = 0, cols = 0;
  Tensor row_ptr;  // I64 [rows + 1]
  Tensor col;      // I32 [nnz]
  Tensor val;      // F32 or F64 [nnz]; undefined for a pattern-only matrix

  int64_t nnz() const { return col.defined() ? col.numel() : 0; }
  bool has_values() const { return val.defined(); }
  Device device() const { return row_ptr.device(); }
  CsrMatrix to(Device device) const;
  CsrMatrix to_dtype(DType dtype) const;  // values only; CPU
  // Throws unless row_ptr is monotone from 0 to nnz and columns are sorted, unique and in range (CPU).
  void validate(const char* op) const;
  std::string describe() const;  // "csr[5x7, nnz 9, f32]@cpu"
};

// From (row, col, value) triplets in any order; duplicates are summed. CPU, f32 values
// (or pattern-only when `values` is empty).
CsrMatrix csr_from_triplets(int64_t rows, int64_t cols, const std::vector<int64_t>& r,
                            const std::vector<int64_t>& c, const std::vector<double>& values,
                            DType dtype = DType::F32);
// From a dense CPU [rows, cols] matrix, keeping the nonzeros.
CsrMatrix csr_from_dense(const Tensor& dense);
// A scipy.sparse CSR matrix of shape rows x cols saved as three .npy files, validated in full before
// use: indptr an integer [rows+1] array starting at 0, never decreasing, ending at nnz; indices an
// integer [nnz] array in [0, cols); data a finite [nnz] array. Duplicate (row, col) entries are summed
// and columns sorted, as scipy's sum_duplicates does. Errors name the file and the index.
CsrMatrix load_csr_npy(const std::string& indptr_path, const std::string& indices_path, const std::string& data_path,
                       int64_t rows, int64_t cols);
// Dense CPU [rows, cols] copy (zeros where absent; ones for a pattern-only matrix).
Tensor csr_to_dense(const CsrMatrix& m);
// Transpose (CPU); values follow. `edge_of` (optional) receives, for each nonzero of the transpose,
// the index of the same nonzero in `m`, so per-edge arrays can be gathered in transposed order.
CsrMatrix csr_transpose(const CsrMatrix& m, std::vector<int64_t>* edge_of = nullptr);

}  // namespace ad
