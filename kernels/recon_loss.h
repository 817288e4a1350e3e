// Per-row weighted reconstruction errors (AnomalyDAE's attribute and structure terms):
//   S_i = sum_j w(t_ij) * (p_ij - t_ij)^2,   err_i = sqrt(S_i) (RowNorm, the official code) or S_i (RowSquared)
// with the weight w(t) either
//   Linear:    (1 + (pos - 1) * t)^2        the official code's ||(X^ - X) o B||, B = 1 + (eta - 1) X
//   Indicator: t > 0 ? pos : neg            PyGOD's eta/(1+eta), 1/(1+eta) on squared errors
// Dense form (attributes): pred, target [N, D].
// CSR form (sparse attributes): the same error with the target a CSR matrix [N, D] with values (absent
// entries are 0) and pred dense (X^ = Z_V Z_A^T is dense by nature). Each row's target is rebuilt on the fly
// (CPU: scattered into a per-thread dense row; GPU: chunk by chunk in shared memory) instead of splitting S_i
// into a dense part plus a correction on the nonzeros: the same terms in the same order as the dense form, so
// the same bits (CPU; GPU: the same block sums), and no cancellation between a large dense part and its
// correction when a trained row's error is small. Memory O(nnz) for the target, plus one row per CPU thread.
// Structure form: p_ij = sigmoid(z_i . z_j) for j in the row's column range [range[i,0], range[i,1])
// (all of [0, N) when `ranges` is undefined; block-diagonal batches of traces pass each trace's range),
// t_ij = 1 if j is in row i of the CSR pattern `target` (A + I) else 0. Nothing N x N is ever formed:
// the CUDA kernels tile over (i, j), recompute p_ij in the backward and reduce per row.
// Preconditions for the structure backward: `target` symmetric and the ranges forming blocks (j in i's
// range iff i in j's), so dz_i = sum_j (c_i + c_j) k_ij z_j with k symmetric.
// The sqrt backward at S_i = 0 is taken as 0.
// CPU reference (f32, f64) in recon_loss.cpp; CUDA kernels in recon_loss.cuh/.cu.
#pragma once
#include "runtime/csr.h"
#include "runtime/tensor.h"

namespace ad {

struct ReconWeighting {
  enum Kind { Linear, Indicator } kind = Linear;
  double pos = 1.0, neg = 1.0;  // Linear uses pos only
  bool take_sqrt = true;        // RowNorm (true) or RowSquared (false)
};

// pred, target [N, D] -> err [N].
void dense_recon_error_forward(const Tensor& pred, const Tensor& target, const ReconWeighting& w, Tensor& err);
// derr [N] -> dpred [N, D] (overwritten; may be pred itself: each element is read before it is written).
void dense_recon_error_backward(const Tensor& pred, const Tensor& target, const ReconWeighting& w, const Tensor& err,
                                const Tensor& derr, Tensor& dpred);

// pred [N, D], target CSR [N, D] with values of pred's dtype, on pred's device -> err [N].
void csr_recon_error_forward(const Tensor& pred, const CsrMatrix& target, const ReconWeighting& w, Tensor& err);
// derr [N] -> dpred [N, D] (overwritten; may be pred itself, as the dense form).
void csr_recon_error_backward(const Tensor& pred, const CsrMatrix& target, const ReconWeighting& w, const Tensor& err,
                              const Tensor& derr, Tensor& dpred);

// z [N, H], target N x N pattern, ranges I64 [N, 2] or undefined -> err [N].
void structure_recon_error_forward(const Tensor& z, const CsrMatrix& target, const Tensor& ranges,
                                   const ReconWeighting& w, Tensor& err);
// derr [N] -> dz [N, H] (overwritten).
void structure_recon_error_backward(const Tensor& z, const CsrMatrix& target, const Tensor& ranges,
                                    const ReconWeighting& w, const Tensor& err, const Tensor& derr, Tensor& dz);

}  // namespace ad
