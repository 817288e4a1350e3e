// Sparse graph attention kernels (math in graph_attention.h). One block per row (forward, backward
// part 1) or per column (backward part 2, through the transpose); no atomics, so every sum has a fixed
// order and results are bitwise reproducible.
//
// Block shape: a power-of-two `threads` (64..256 by the channel count), seen as `groups` groups of
// `lanes` threads (lanes = smallest power of two >= C, capped at the block, or at 32 for the backward dot
// products). Thread t is lane t % lanes of group t / lanes:
//   - row-wise passes over the edges (max, sum of exponentials, attn, de) stride all threads over the
//     edges and use block_reduce (reduce.cuh);
//   - the aggregation out_i[c] = sum_j attn_ij feat_j[c] gives lane c of every group a strided share of
//     the row's edges, then sums the groups' partials in shared memory (gat_reduce_groups);
//   - the backward dot products d_attn_ij = dout_i . feat_j take one edge per group, the lanes striding
//     over C, and reduce within the group (gat_reduce_lanes).
// Shared memory: `threads` floats, reused by every reduction. Scratch: edge_grad [nnz] holds d_attn_ij
// between the two halves of backward part 1, then g_ij = de_ij * s_ij (d L / d(f_src_i + f_dst_j)), which
// part 2 gathers through edge_of for df_dst.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/graph_attention.h"
#include "kernels/launch.h"
#include "kernels/reduce.cuh"
#include "kernels/shared_size.h"

namespace ad {

// Raw pointers of an AttentionGraph on one device. `val` may be null when the logits are not scaled.
struct GatGraphView {
  const int64_t* row_ptr = nullptr;
  const int32_t* col = nullptr;
  const float* val = nullptr;
  const int64_t* t_row_ptr = nullptr;
  const int32_t* t_col = nullptr;
  const int64_t* edge_of = nullptr;
  int64_t nodes = 0;
};

struct GatParams {
  int64_t channels = 0;
  float slope = 0.2f;
  bool scale = true;  // scale_logits_by_adj
  unsigned lanes = 1;
};

inline GatGraphView gat_view(const AttentionGraph& g, bool with_values) {
  GatGraphView v;
  v.row_ptr = g.adj.row_ptr.data<int64_t>();
  v.col = g.adj.col.data<int32_t>();
  v.val = with_values ? g.adj.val.data<float>() : nullptr;
  v.t_row_ptr = g.adj_t.row_ptr.data<int64_t>();
  v.t_col = g.adj_t.col.data<int32_t>();
  v.edge_of = g.edge_of.data<int64_t>();
  v.nodes = g.nodes();
  return v;
}

AD_HD inline float gat_leaky(float e, float slope) { return e > 0.f ? e : slope * e; }
AD_HD inline float gat_leaky_grad(float e, float slope) { return e > 0.f ? 1.f : slope; }
// Pre-activation logit of edge e = (i, j).
AD_HD inline float gat_logit(const GatGraphView& g, const GatParams& p, float fs_i, const float* f_dst, int64_t e) {
  float s = p.scale ? g.val[e] : 1.f;
  return s * (fs_i + f_dst[g.col[e]]);
}

// Sums v over the groups of `lanes` threads through buf (block_dim().x floats); the result is returned to
// the threads of group 0 (others get their own partial back). Ends with a barrier.
template <class Ctx> AD_HD inline float gat_reduce_groups(Ctx& ctx, float* buf, float v, unsigned lanes) {
  unsigned t = ctx.thread_idx().x;
  buf[t] = v;
  ctx.sync();
  for (unsigned s = ctx.block_dim().x / 2; s >= lanes; s /= 2) {
    if (t < s) buf[t] += buf[t + s];
    ctx.sync();
  }
  float r = buf[t];
  ctx.sync();
  return r;
}

// Sums v over the `lanes` threads of each group; every thread gets its group's sum. Ends with a barrier.
template <class Ctx> AD_HD inline float gat_reduce_lanes(Ctx& ctx, float* buf, float v, unsigned lanes) {
  unsigned t = ctx.thread_idx().x, lane = t % lanes;
  buf[t] = v;
  ctx.sync();
  for (unsigned s = lanes / 2; s > 0; s /= 2) {
    if (lane < s) buf[t] += buf[t + s];
    ctx.sync();
  }
  float r = buf[t - lane];
  ctx.sync();
  return r;
}

// Forward, one block per row i: max and sum of exp over the row's LeakyReLU logits, attn written, then
// out_i = sum_j attn_ij feat_j (zero for a row without nonzeros).
struct GatForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* feat, const float* f_src,
                        const float* f_dst, float* attn, float* out) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t i = ctx.block_idx().x, C = p.channels;
    const int64_t beg = g.row_ptr[i], deg = g.row_ptr[i + 1] - beg;
    const float fs = f_src[i];

    float m = -INFINITY;
    for (int64_t k = t; k < deg; k += nt) {
      float l = gat_leaky(gat_logit(g, p, fs, f_dst, beg + k), p.slope);
      m = m > l ? m : l;
    }
    m = block_reduce(ctx, buf, m, MaxOp{});
    float s = 0.f;
    for (int64_t k = t; k < deg; k += nt) s += expf(gat_leaky(gat_logit(g, p, fs, f_dst, beg + k), p.slope) - m);
    s = block_reduce(ctx, buf, s, SumOp{});
    const float inv = 1.f / s;  // unused when deg == 0
    for (int64_t k = t; k < deg; k += nt)
      attn[beg + k] = expf(gat_leaky(gat_logit(g, p, fs, f_dst, beg + k), p.slope) - m) * inv;
    ctx.sync();  // the block's attn writes are visible to the whole block

    const unsigned lanes = p.lanes, lane = t % lanes, grp = t / lanes, groups = nt / lanes;
    for (int64_t c0 = 0; c0 < C; c0 += lanes) {
      const int64_t c = c0 + lane;
      float acc = 0.f;
      if (c < C)
        for (int64_t k = grp; k < deg; k += groups) acc += attn[beg + k] * feat[int64_t(g.col[beg + k]) * C + c];
      acc = gat_reduce_groups(ctx, buf, acc, lanes);
      if (grp == 0 && c < C) out[i * C + c] = acc;
    }
  }
};

// Backward part 1, one block per row i: d_attn_ij = dout_i . feat_j (one edge per group), the row sum
// sum_j attn_ij d_attn_ij, then edge_grad_ij = attn_ij (d_attn_ij - sum) leaky'(e_ij) s_ij and
// df_src_i = sum_j edge_grad_ij.
struct GatBackwardRowKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* feat, const float* f_src,
                        const float* f_dst, const float* attn, const float* dout, float* edge_grad, float* df_src) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const unsigned lanes = p.lanes, lane = t % lanes, grp = t / lanes, groups = nt / lanes;
    const int64_t i = ctx.block_idx().x, C = p.channels;
    const int64_t beg = g.row_ptr[i], deg = g.row_ptr[i + 1] - beg;
    const float* dout_i = dout + i * C;

    float rs = 0.f;  // this group's share of sum_j attn_ij d_attn_ij (kept by lane 0)
    for (int64_t k0 = 0; k0 < deg; k0 += groups) {
      const int64_t k = k0 + grp;
      float part = 0.f;
      if (k < deg) {
        const float* feat_j = feat + int64_t(g.col[beg + k]) * C;
        for (int64_t c = lane; c < C; c += lanes) part += dout_i[c] * feat_j[c];
      }
      part = gat_reduce_lanes(ctx, buf, part, lanes);
      if (lane == 0 && k < deg) {
        edge_grad[beg + k] = part;
        rs += attn[beg + k] * part;
      }
    }
    rs = block_reduce(ctx, buf, rs, SumOp{});  // its barriers also publish the edge_grad writes

    const float fs = f_src[i];
    float acc = 0.f;
    for (int64_t k = t; k < deg; k += nt) {
      const int64_t e = beg + k;
      const float s = p.scale ? g.val[e] : 1.f;
      const float ge = attn[e] * (edge_grad[e] - rs) * gat_leaky_grad(gat_logit(g, p, fs, f_dst, e), p.slope) * s;
      edge_grad[e] = ge;
      acc += ge;
    }
    acc = block_reduce(ctx, buf, acc, SumOp{});
    if (t == 0) df_src[i] = acc;
  }
};

// Backward part 2, one block per column j (row j of the transpose): df_dst_j = sum_i edge_grad_ij and
// dfeat_j = sum_i attn_ij dout_i, gathered through edge_of.
struct GatBackwardColumnKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* attn, const float* dout,
                        const float* edge_grad, float* dfeat, float* df_dst) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t j = ctx.block_idx().x, C = p.channels;
    const int64_t beg = g.t_row_ptr[j], deg = g.t_row_ptr[j + 1] - beg;

    float gs = 0.f;
    for (int64_t k = t; k < deg; k += nt) gs += edge_grad[g.edge_of[beg + k]];
    gs = block_reduce(ctx, buf, gs, SumOp{});
    if (t == 0) df_dst[j] = gs;

    const unsigned lanes = p.lanes, lane = t % lanes, grp = t / lanes, groups = nt / lanes;
    for (int64_t c0 = 0; c0 < C; c0 += lanes) {
      const int64_t c = c0 + lane;
      float acc = 0.f;
      if (c < C)
        for (int64_t k = grp; k < deg; k += groups)
          acc += attn[g.edge_of[beg + k]] * dout[int64_t(g.t_col[beg + k]) * C + c];
      acc = gat_reduce_groups(ctx, buf, acc, lanes);
      if (grp == 0 && c < C) dfeat[j * C + c] = acc;
    }
  }
};

// Threads per block: a power of two in [64, 256] covering C when it can (0 = this default).
inline unsigned gat_threads(int64_t channels, unsigned threads = 0) {
  return threads ? threads : pow2_threads(channels, 64, 256);
}
// Smallest power of two >= C, at most `cap` (a power of two).
inline unsigned gat_lanes(int64_t channels, unsigned cap) {
  unsigned w = 1;
  while (w < cap && int64_t(w) < channels) w *= 2;
  return w;
}
inline LaunchConfig gat_config(int64_t blocks, unsigned threads) {
  return LaunchConfig{{unsigned(blocks)}, {threads}, threads * sizeof(float)};
}

// `threads` (a power of two, >= 1) overrides the block size; tests use it to reach every path cheaply.
template <class L>
void launch_graph_attention_forward(L& l, const GatGraphView& g, GatParams p, const float* feat, const float* f_src,
                                    const float* f_dst, float* attn, float* out, unsigned threads = 0) {
  unsigned nt = gat_threads(p.channels, threads);
  p.lanes = gat_lanes(p.channels, nt);
  l.template launch<GatForwardKernel>(gat_config(g.nodes, nt), g, p, feat, f_src, f_dst, attn, out);
}

template <class L>
void launch_graph_attention_backward(L& l, const GatGraphView& g, GatParams p, const float* feat, const float* f_src,
                                     const float* f_dst, const float* attn, const float* dout, float* edge_grad,
                                     float* dfeat, float* df_src, float* df_dst, unsigned threads = 0) {
  unsigned nt = gat_threads(p.channels, threads);
  p.lanes = gat_lanes(p.channels, nt < 32 ? nt : 32);  // at most a warp per dot product
  l.template launch<GatBackwardRowKernel>(gat_config(g.nodes, nt), g, p, feat, f_src, f_dst, attn, dout, edge_grad,
                                          df_src);
  p.lanes = gat_lanes(p.channels, nt);
  l.template launch<GatBackwardColumnKernel>(gat_config(g.nodes, nt), g, p, attn, dout, edge_grad, dfeat, df_dst);
}

// ---- GATv2 with max over heads (math in graph_attention.h) ---------------------------------------------
// Degrees and head counts are small in the models that use it (a service graph: <= 12 in-edges, 4 heads),
// while H*D is the wide axis, so the shapes differ from the single-head kernels above:
//   - per (edge, head) pair one thread sums the D channels of its logit (or of d_attn) sequentially;
//   - per head one thread does the row's softmax (or the row sum of attn * d_attn), sequentially;
//   - per channel one thread gathers over the row's (or column's) edges for every wide output.
// Shared memory: H floats (the backward's row sums). No atomics: bitwise reproducible.
struct Gatv2Params {
  int64_t heads = 1, head_dim = 0;
  float slope = 0.2f;
};

// Raw logits of row i into attn (scratch), then softmax per head in place, then out/arg.
struct Gatv2ForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* src, const float* dst, const float* att,
                        float* attn, float* out, int32_t* arg) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t i = ctx.block_idx().x, H = p.heads, D = p.head_dim, HD = H * D;
    const int64_t beg = g.row_ptr[i], deg = g.row_ptr[i + 1] - beg;
    for (int64_t q = t; q < deg * H; q += nt) {
      const int64_t k = q / H, h = q % H;
      const float* sj = src + int64_t(g.col[beg + k]) * HD + h * D;
      const float* di = dst + i * HD + h * D;
      float e = 0.f;
      for (int64_t d = 0; d < D; ++d) e += att[h * D + d] * gat_leaky(sj[d] + di[d], p.slope);
      attn[(beg + k) * H + h] = e;
    }
    ctx.sync();
    for (int64_t h = t; h < H; h += nt) {
      float m = -INFINITY, s = 0.f;
      for (int64_t k = 0; k < deg; ++k) m = fmaxf(m, attn[(beg + k) * H + h]);
      for (int64_t k = 0; k < deg; ++k) s += (attn[(beg + k) * H + h] = expf(attn[(beg + k) * H + h] - m));
      for (int64_t k = 0; k < deg; ++k) attn[(beg + k) * H + h] /= s;
    }
    ctx.sync();
    for (int64_t d = t; d < D; d += nt) {
      float best = 0.f;
      int32_t besth = 0;
      for (int64_t h = 0; h < H; ++h) {
        float o = 0.f;
        for (int64_t k = 0; k < deg; ++k) o += attn[(beg + k) * H + h] * src[int64_t(g.col[beg + k]) * HD + h * D + d];
        if (h == 0 || o > best) {  // the first head wins ties, as a max pool does
          best = o;
          besth = int32_t(h);
        }
      }
      out[i * D + d] = best;
      arg[i * D + d] = besth;
    }
  }
};

// Backward part 1, one block per row i: edge_grad = de per (edge, head), ddst_i and datt_rows_i.
struct Gatv2BackwardRowKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* src, const float* dst, const float* att,
                        const float* attn, const int32_t* arg, const float* dout, float* edge_grad, float* datt_rows,
                        float* ddst) {
    const int64_t H = p.heads, D = p.head_dim, HD = H * D;
    float* rs = shared_array<float>(ctx, size_t(H));
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t i = ctx.block_idx().x;
    const int64_t beg = g.row_ptr[i], deg = g.row_ptr[i + 1] - beg;
    for (int64_t q = t; q < deg * H; q += nt) {  // d_attn: only the channels this head won
      const int64_t k = q / H, h = q % H;
      const float* sj = src + int64_t(g.col[beg + k]) * HD + h * D;
      float da = 0.f;
      for (int64_t d = 0; d < D; ++d)
        if (arg[i * D + d] == h) da += dout[i * D + d] * sj[d];
      edge_grad[(beg + k) * H + h] = da;
    }
    ctx.sync();
    for (int64_t h = t; h < H; h += nt) {
      float s = 0.f;
      for (int64_t k = 0; k < deg; ++k) s += attn[(beg + k) * H + h] * edge_grad[(beg + k) * H + h];
      rs[h] = s;
    }
    ctx.sync();
    for (int64_t q = t; q < deg * H; q += nt) {
      const int64_t e = (beg + q / H) * H + q % H;
      edge_grad[e] = attn[e] * (edge_grad[e] - rs[q % H]);
    }
    ctx.sync();
    for (int64_t c = t; c < HD; c += nt) {
      const int64_t h = c / D;
      float a = 0.f, b = 0.f;
      for (int64_t k = 0; k < deg; ++k) {
        const float de = edge_grad[(beg + k) * H + h];
        const float u = src[int64_t(g.col[beg + k]) * HD + c] + dst[i * HD + c];
        a += de * att[c] * gat_leaky_grad(u, p.slope);
        b += de * gat_leaky(u, p.slope);
      }
      ddst[i * HD + c] = a;
      datt_rows[i * HD + c] = b;
    }
  }
};

// Backward part 2, one block per column j (row j of the transpose): dsrc_j.
struct Gatv2BackwardColumnKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* src, const float* dst, const float* att,
                        const float* attn, const int32_t* arg, const float* dout, const float* edge_grad,
                        float* dsrc) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t j = ctx.block_idx().x, H = p.heads, D = p.head_dim, HD = H * D;
    const int64_t beg = g.t_row_ptr[j], deg = g.t_row_ptr[j + 1] - beg;
    for (int64_t c = t; c < HD; c += nt) {
      const int64_t h = c / D, d = c % D;
      float acc = 0.f;
      for (int64_t k = 0; k < deg; ++k) {
        const int64_t e = g.edge_of[beg + k], i = g.t_col[beg + k];
        const float u = src[j * HD + c] + dst[i * HD + c];
        acc += edge_grad[e * H + h] * att[c] * gat_leaky_grad(u, p.slope);
        if (arg[i * D + d] == h) acc += attn[e * H + h] * dout[i * D + d];
      }
      dsrc[j * HD + c] = acc;
    }
  }
};

template <class L>
void launch_gatv2_forward(L& l, const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst,
                          const float* att, float* attn, float* out, int32_t* arg, unsigned threads = 0) {
  const unsigned nt = threads ? threads : pow2_threads(p.heads * p.head_dim, 32, 256);
  l.template launch<Gatv2ForwardKernel>(LaunchConfig{{unsigned(g.nodes)}, {nt}, 0}, g, p, src, dst, att, attn, out,
                                        arg);
}

// datt (the column sums of datt_rows) is left to the caller (elementwise column sums).
template <class L>
void launch_gatv2_backward(L& l, const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst,
                           const float* att, const float* attn, const int32_t* arg, const float* dout,
                           float* edge_grad, float* datt_rows, float* dsrc, float* ddst, unsigned threads = 0) {
  const unsigned nt = threads ? threads : pow2_threads(p.heads * p.head_dim, 32, 256);
  l.template launch<Gatv2BackwardRowKernel>(
      LaunchConfig{{unsigned(g.nodes)}, {nt}, shared_floats(size_t(p.heads))}, g, p, src, dst, att, attn, arg, dout,
      edge_grad, datt_rows, ddst);
  l.template launch<Gatv2BackwardColumnKernel>(LaunchConfig{{unsigned(g.nodes)}, {nt}, 0}, g, p, src, dst, att,
                                               attn, arg, dout, edge_grad, dsrc);
}

namespace cuda {
void graph_attention_forward(const GatGraphView& g, const GatParams& p, const float* feat, const float* f_src,
                             const float* f_dst, float* attn, float* out);
void graph_attention_backward(const GatGraphView& g, const GatParams& p, const float* feat, const float* f_src,
                              const float* f_dst, const float* attn, const float* dout, float* edge_grad,
                              float* dfeat, float* df_src, float* df_dst);
void gatv2_forward(const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst, const float* att,
                   float* attn, float* out, int32_t* arg);
void gatv2_backward(const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst, const float* att,
                    const float* attn, const int32_t* arg, const float* dout, float* edge_grad, float* datt_rows,
                    float* dsrc, float* ddst);
}  // namespace cuda

}  // namespace ad
