// Sparse single-head graph attention over a CSR adjacency (AnomalyDAE's structure encoder):
//   e_ij   = a_ij * (f_src[i] + f_dst[j])   (scale_logits_by_adj, the official code's form; a_ij = adj value)
//          =         f_src[i] + f_dst[j]    (plain GAT form)
//   attn_ij = softmax_j over the row's nonzeros of LeakyReLU_slope(e_ij)
//   out_i   = sum_j attn_ij * feat_j         (no bias: the layer adds it)
// for the nonzeros (i, j) of `adj`. The forward keeps only attn ([nnz]) for the backward; no E x C message
// array is ever formed. The backward is split so every sum is a gather (deterministic, no atomics):
//   per row i:    d_attn_ij = dout_i . feat_j;  de_ij = attn_ij (d_attn_ij - sum_k attn_ik d_attn_ik) * leaky'(e_ij)
//                 df_src_i = sum_j de_ij * s_ij                       (s_ij = a_ij, or 1 in the plain form)
//   per column j (through the transpose):  dfeat_j = sum_i attn_ij dout_i;  df_dst_j = sum_i de_ij * s_ij
// CPU reference (f32, f64) in graph_attention.cpp; CUDA kernels in graph_attention.cuh/.cu.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/csr.h"
#include "runtime/tensor.h"

namespace ad {

struct GraphAttentionOptions {
  double negative_slope = 0.2;
  bool scale_logits_by_adj = true;
};

// The adjacency plus what the backward's column gathers need: the transpose's pattern and, for each of
// its nonzeros, the index of the same edge in `adj` (edge_of, I64 [nnz]). Build once per graph (CPU),
// then move with to(Device).
struct AttentionGraph {
  CsrMatrix adj;    // N x N with values (f32; f64 allowed on the CPU)
  CsrMatrix adj_t;  // transpose pattern (row j lists the i with j in N(i))
  Tensor edge_of;   // I64 [nnz]
  static AttentionGraph build(const CsrMatrix& adj);
  AttentionGraph to(Device device) const;
  int64_t nodes() const { return adj.rows; }
  int64_t edges() const { return adj.nnz(); }
};

// feat [N, C], f_src [N], f_dst [N] -> attn [nnz], out [N, C] (allocated by the caller).
void graph_attention_forward(const AttentionGraph& g, const Tensor& feat, const Tensor& f_src, const Tensor& f_dst,
                             const GraphAttentionOptions& opt, Tensor& attn, Tensor& out);
// dout [N, C] -> dfeat [N, C] (overwritten, the aggregation's part only), df_src [N], df_dst [N].
// `edge_grad` is scratch of [nnz] elements (same dtype/device as feat).
void graph_attention_backward(const AttentionGraph& g, const Tensor& feat, const Tensor& f_src, const Tensor& f_dst,
                              const Tensor& attn, const Tensor& dout, const GraphAttentionOptions& opt,
                              Tensor& edge_grad, Tensor& dfeat, Tensor& df_src, Tensor& df_dst);

}  // namespace ad
