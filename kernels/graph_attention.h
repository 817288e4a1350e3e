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
//
// GATv2 form (Brody et al. 2022; DGL's GATv2Conv, used by MUAD), H heads of D channels, max over heads:
//   e^h_ij    = sum_d att[h,d] * LeakyReLU(src[j,h,d] + dst[i,h,d])       (src = W_s x, dst = W_d x: the layer's)
//   attn^h_ij = softmax_j over row i's nonzeros of e^h_ij                   (row i = the edge's target)
//   o^h_i     = sum_j attn^h_ij src[j,h,:];   out_i[d] = max_h o^h_i[d]    (arg_i[d] = the winning head)
// Adjacency values are not read. The max over heads (MUAD's MaxPool1d over the head axis) is fused into the
// aggregation so the [N, H, D] per-head output is never stored; with H = 1 this is plain single-head GATv2.
// Backward, again gathers only: per row i, with g_i[h,d] = dout_i[d] [arg_i[d] == h],
//   d_attn^h_ij = g_i[h,:] . src_j[h,:];   de^h_ij = attn^h_ij (d_attn^h_ij - sum_k attn^h_ik d_attn^h_ik)
//   ddst_i[h,d] = sum_j de^h_ij att[h,d] leaky'(u),   datt_rows_i[h,d] = sum_j de^h_ij leaky(u)   (u = src+dst)
// per column j:  dsrc_j[h,d] = sum_i attn^h_ij g_i[h,d] + de^h_ij att[h,d] leaky'(u);  datt = column sums of
// datt_rows (one extra [N, H*D] scratch instead of atomics, so the result is bitwise reproducible).
// CPU reference (f32, f64) in graph_attention.cpp; CUDA kernels in graph_attention.cuh, gatv2.cuh and
// graph_attention.cu.
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

// How the GPU kernels share one CSR's rows out (GAT's in graph_attention.cuh, GATv2's in gatv2.cuh, with the
// same plan), computed once per graph from the row lengths: rows of at most `light_degree` nonzeros (empty rows included) go to a group of lanes inside a
// warp each; longer rows are cut into segments of at most `segment_edges` nonzeros, a block per segment,
// whose partials are merged per row in segment order (so a hub row with 10^5 edges spreads over hundreds of
// blocks and the result is still the same bits every run).
struct GatSplitOptions {
  int64_t light_degree = 32;
  int64_t segment_edges = 256;
};
struct GatSplitPlan {
  int64_t light_degree = 0, segment_edges = 0;
  Tensor light_rows;     // I32 [L]: rows with degree <= light_degree, ascending
  Tensor heavy_rows;     // I32 [H]: the others, ascending
  Tensor heavy_seg_ptr;  // I64 [H + 1]: heavy row h owns segments [ptr[h], ptr[h+1])
  Tensor seg_heavy;      // I32 [S]: for each segment, its heavy row's index h
  static GatSplitPlan build(const CsrMatrix& m, const GatSplitOptions& opt);
  GatSplitPlan to(Device device) const;
  int64_t lights() const { return light_rows.numel(); }
  int64_t heavies() const { return heavy_rows.numel(); }
  int64_t segments() const { return seg_heavy.numel(); }
};

// The adjacency plus what the backward's column gathers need: the transpose's pattern and, for each of
// its nonzeros, the index of the same edge in `adj` (edge_of, I64 [nnz]), and the GPU kernels' row splits of
// both (the graph's natural cache: they depend on the pattern alone, so they are built here once and move
// with the graph; a graph whose pattern changes is a new AttentionGraph). Build once per graph (CPU), then
// move with to(Device).
struct AttentionGraph {
  CsrMatrix adj;    // N x N with values (f32; f64 allowed on the CPU)
  CsrMatrix adj_t;  // transpose pattern (row j lists the i with j in N(i))
  Tensor edge_of;   // I64 [nnz]
  GatSplitPlan row_split, col_split;  // of adj's rows and of adj_t's rows
  static AttentionGraph build(const CsrMatrix& adj, const GatSplitOptions& split = {});
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

struct Gatv2Options {
  int64_t heads = 1;
  double negative_slope = 0.2;
};

// src, dst [N, H*D], att [H*D] -> attn [nnz, H], out [N, D], arg [N, D] (I32, head of the max), all allocated
// by the caller.
void gatv2_forward(const AttentionGraph& g, const Tensor& src, const Tensor& dst, const Tensor& att,
                   const Gatv2Options& opt, Tensor& attn, Tensor& out, Tensor& arg);
// dout [N, D] -> dsrc, ddst [N, H*D] and datt [H*D] (all overwritten). Scratch: edge_grad [nnz, H] (holds
// de^h_ij afterwards) and datt_rows [N, H*D] (the per-row parts of datt), same dtype/device as src.
void gatv2_backward(const AttentionGraph& g, const Tensor& src, const Tensor& dst, const Tensor& att,
                    const Tensor& attn, const Tensor& arg, const Tensor& dout, const Gatv2Options& opt,
                    Tensor& edge_grad, Tensor& datt_rows, Tensor& dsrc, Tensor& ddst, Tensor& datt);

}  // namespace ad
