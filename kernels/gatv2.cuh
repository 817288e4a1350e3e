// GATv2 kernels with the max over heads (math in graph_attention.h; MUAD's layer), load-balanced from the
// degree distribution with the single-head kernels' split (graph_attention.cuh: GatSplitPlan, built once per
// graph in AttentionGraph; its segments, lane groups, reductions and segment sums are used from there). The
// old shape, a block per row, gave MUAD's service graphs (<= a dozen in-edges, 4 heads) a 256-thread block
// and ~10 barriers per row with most threads idle, and would have serialised a hub row on H threads. Now:
//   - light rows (degree <= light_degree, 32 by default; empty rows too): a group of `lanes` lanes of one
//     warp per row (the smallest power of two >= D, at most 32), no block barriers. The lanes stride over a
//     head's D channels, so each logit (and each d_attn) is a butterfly over the group (GatLaneGroup::reduce)
//     that leaves the same bits in every lane: every lane keeps the row's softmax statistics itself. The
//     per-edge values the other lanes need (attn, de) go through the output arrays, written by lane k % lanes
//     for edge k, with a warp_sync of the group before anyone else reads them.
//   - heavy rows: segments of at most segment_edges (256) nonzeros, a block per segment. Pass 1 writes the
//     segment's logits into attn (scratch until pass 2), then per head its max m_s and sum of p = exp(l - m_s)
//     (leaving p in attn) and the per-channel sums of p src_j; pass 2 merges a row's segments in segment order
//     (gat_merge_softmax per head: attn = p exp(m_s - m) / total) and the row's first segment block writes
//     out and arg. The backward's per-segment partials (the row sums of attn d_attn per head, ddst,
//     datt_rows, dsrc) are folded per row in segment order (GatSegmentSumKernel).
// Inside a segment block thread t is lane t % lanes of group t / lanes: a group per (edge, head) pair for
// the D-channel dot products (gat_reduce_lanes), lanes over the H*D channels and groups over the edges for
// the aggregations (gat_reduce_groups), all threads over the edges for the per-head softmax and row sums
// (block_reduce). The column gathers (dsrc, through adj_t) take their own split the same way.
// No atomics: every sum has a fixed order, so the results are the same bits on every run.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/graph_attention.cuh"
#include "kernels/shared_size.h"
#include "kernels/dispatch.h"

namespace ad {

struct Gatv2Params {
  int64_t heads = 1, head_dim = 0;
  float slope = 0.2f;
  unsigned lanes = 1;  // set by the launchers
};

// ---- forward ------------------------------------------------------------------------------------------
// Light rows, a lane group per row: per head the logits (group sums over D), softmax into attn; then per
// channel d the max over heads of sum_j attn^h_ij src_j[h, d] into out and arg.
struct Gatv2LightForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* src, const float* dst, const float* att,
                        float* attn, float* out, int32_t* arg) {
    const GatLaneGroup grp(ctx, p.lanes);
    if (grp.index >= g.rows.lights) return;  // whole groups leave; no block barriers here
    const int64_t i = g.rows.light[grp.index], H = p.heads, D = p.head_dim, HD = H * D;
    const int64_t beg = g.row_ptr[i], deg = g.row_ptr[i + 1] - beg;
    const float* di = dst + i * HD;
    for (int64_t h = 0; h < H; ++h) {
      float m = -INFINITY;
      for (int64_t k = 0; k < deg; ++k) {
        const float* sj = src + int64_t(g.col[beg + k]) * HD;
        float part = 0.f;
        for (int64_t c = h * D + grp.lane; c < (h + 1) * D; c += grp.width)
          part += att[c] * gat_leaky(sj[c] + di[c], p.slope);
        const float e = grp.reduce(ctx, part, SumOp{});
        m = fmaxf(m, e);
        if (k % grp.width == grp.lane) attn[(beg + k) * H + h] = e;  // this lane reads it back below
      }
      float s = 0.f;
      for (int64_t k = grp.lane; k < deg; k += grp.width) {
        float* a = attn + (beg + k) * H + h;
        s += (*a = expf(*a - m));
      }
      const float inv = 1.f / grp.reduce(ctx, s, SumOp{});  // unused when deg == 0
      for (int64_t k = grp.lane; k < deg; k += grp.width) attn[(beg + k) * H + h] *= inv;
    }
    grp.sync(ctx);  // every lane reads every edge's attn below
    for (int64_t d = grp.lane; d < D; d += grp.width) {
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

// Heavy rows, pass 1, a block per segment: logits into attn, then per head ws_max[s*H+h] = m_s,
// ws_sum[s*H+h] = sum p with p = exp(l - m_s) left in attn, and ws_acc[s*HD+c] = sum p src_j[c].
struct Gatv2HeavyForwardPartialKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* src, const float* dst,
                        const float* att, float* attn, float* ws_max, float* ws_sum, float* ws_acc) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* buf = shared_array<float>(ctx, nt);
    const unsigned lanes = p.lanes, lane = t % lanes, grp = t / lanes, groups = nt / lanes;
    const int64_t s = ctx.block_idx().x, H = p.heads, D = p.head_dim, HD = H * D;
    const GatSegment seg = gat_segment(g.rows, g.row_ptr, s);
    const int64_t len = seg.e1 - seg.e0, pairs = len * H;
    const float* di = dst + seg.row * HD;
    float* a = attn + seg.e0 * H;  // the segment's [len, H] block of attn
    for (int64_t q0 = 0; q0 < pairs; q0 += groups) {  // a group per (edge, head) pair q = k * H + h
      const int64_t q = q0 + grp;
      float part = 0.f;
      if (q < pairs) {
        const int64_t h = q % H;
        const float* sj = src + int64_t(g.col[seg.e0 + q / H]) * HD;
        for (int64_t c = h * D + lane; c < (h + 1) * D; c += lanes) part += att[c] * gat_leaky(sj[c] + di[c], p.slope);
      }
      part = gat_reduce_lanes(ctx, buf, part, lanes);
      if (lane == 0 && q < pairs) a[q] = part;
    }
    ctx.sync();  // publish the logits
    for (int64_t h = 0; h < H; ++h) {
      float m = -INFINITY;
      for (int64_t k = t; k < len; k += nt) m = fmaxf(m, a[k * H + h]);
      m = block_reduce(ctx, buf, m, MaxOp{});
      float sum = 0.f;
      for (int64_t k = t; k < len; k += nt) sum += (a[k * H + h] = expf(a[k * H + h] - m));
      sum = block_reduce(ctx, buf, sum, SumOp{});  // its barriers also publish p
      if (t == 0) {
        ws_max[s * H + h] = m;
        ws_sum[s * H + h] = sum;
      }
    }
    for (int64_t c0 = 0; c0 < HD; c0 += lanes) {
      const int64_t c = c0 + lane, h = c / D;
      float acc = 0.f;
      if (c < HD)
        for (int64_t k = grp; k < len; k += groups) acc += a[k * H + h] * src[int64_t(g.col[seg.e0 + k]) * HD + c];
      acc = gat_reduce_groups(ctx, buf, acc, lanes);
      if (grp == 0 && c < HD) ws_acc[s * HD + c] = acc;
    }
  }
};

// Heavy rows, pass 2, a block per segment: per head the row's softmax merged from pass 1 in segment order,
// attn = p exp(m_s - m) / total for the segment's edges; the row's first segment also writes out and arg
// from sum_s exp(m_s - m) ws_acc[s] / total.
struct Gatv2HeavyForwardFinishKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* ws_max, const float* ws_sum,
                        const float* ws_acc, float* attn, float* out, int32_t* arg) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t s = ctx.block_idx().x, H = p.heads, D = p.head_dim, HD = H * D;
    const GatSegment seg = gat_segment(g.rows, g.row_ptr, s);
    for (int64_t h = 0; h < H; ++h) {
      float m, total;
      gat_merge_softmax(g.rows, seg.heavy, ws_max, ws_sum, m, total, H, h);
      const float scale = expf(ws_max[s * H + h] - m) / total;
      for (int64_t e = seg.e0 + t; e < seg.e1; e += nt) attn[e * H + h] *= scale;
    }
    const int64_t s0 = g.rows.heavy_seg_ptr[seg.heavy], s1 = g.rows.heavy_seg_ptr[seg.heavy + 1];
    if (s != s0) return;
    for (int64_t d = t; d < D; d += nt) {
      float best = 0.f;
      int32_t besth = 0;
      for (int64_t h = 0; h < H; ++h) {
        float m, total;
        gat_merge_softmax(g.rows, seg.heavy, ws_max, ws_sum, m, total, H, h);
        float acc = 0.f;
        for (int64_t q = s0; q < s1; ++q) acc += ws_acc[q * HD + h * D + d] * expf(ws_max[q * H + h] - m);
        const float o = acc / total;
        if (h == 0 || o > best) {  // the first head wins ties, as a max pool does
          best = o;
          besth = int32_t(h);
        }
      }
      out[seg.row * D + d] = best;
      arg[seg.row * D + d] = besth;
    }
  }
};

// ---- backward ------------------------------------------------------------------------------------------
// Part 1, light rows, a lane group per row: per head d_attn (group sums over the channels the head won),
// the row sum of attn d_attn, de into edge_grad; then per channel ddst_i and datt_rows_i.
struct Gatv2LightBackwardRowKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* src, const float* dst, const float* att,
                        const float* attn, const int32_t* arg, const float* dout, float* edge_grad, float* datt_rows,
                        float* ddst) {
    const GatLaneGroup grp(ctx, p.lanes);
    if (grp.index >= g.rows.lights) return;  // whole groups leave; no block barriers here
    const int64_t i = g.rows.light[grp.index], H = p.heads, D = p.head_dim, HD = H * D;
    const int64_t beg = g.row_ptr[i], deg = g.row_ptr[i + 1] - beg;
    const int32_t* arg_i = arg + i * D;
    const float *dout_i = dout + i * D, *di = dst + i * HD;
    for (int64_t h = 0; h < H; ++h) {
      float rs = 0.f;  // sum_k attn d_attn, the same bits in every lane
      for (int64_t k = 0; k < deg; ++k) {
        const float* sj = src + int64_t(g.col[beg + k]) * HD + h * D;
        float part = 0.f;
        for (int64_t d = grp.lane; d < D; d += grp.width)
          if (arg_i[d] == h) part += dout_i[d] * sj[d];
        const float da = grp.reduce(ctx, part, SumOp{});
        rs += attn[(beg + k) * H + h] * da;
        if (k % grp.width == grp.lane) edge_grad[(beg + k) * H + h] = da;  // this lane reads it back below
      }
      for (int64_t k = grp.lane; k < deg; k += grp.width) {
        const int64_t e = (beg + k) * H + h;
        edge_grad[e] = attn[e] * (edge_grad[e] - rs);
      }
    }
    grp.sync(ctx);  // every lane reads every edge's de below
    for (int64_t c = grp.lane; c < HD; c += grp.width) {
      const int64_t h = c / D;
      float a = 0.f, b = 0.f;
      for (int64_t k = 0; k < deg; ++k) {
        const float de = edge_grad[(beg + k) * H + h];
        const float u = src[int64_t(g.col[beg + k]) * HD + c] + di[c];
        a += de * att[c] * gat_leaky_grad(u, p.slope);
        b += de * gat_leaky(u, p.slope);
      }
      ddst[i * HD + c] = a;
      datt_rows[i * HD + c] = b;
    }
  }
};

// Part 1, heavy rows, pass 1, a block per segment: d_attn into edge_grad (a group per (edge, head) pair),
// ws_rs[s*H+h] = the segment's sum of attn d_attn for head h.
struct Gatv2HeavyBackwardDotKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* src, const float* attn,
                        const int32_t* arg, const float* dout, float* edge_grad, float* ws_rs) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* buf = shared_array<float>(ctx, nt);
    const unsigned lanes = p.lanes, lane = t % lanes, grp = t / lanes, groups = nt / lanes;
    const int64_t s = ctx.block_idx().x, H = p.heads, D = p.head_dim, HD = H * D;
    const GatSegment seg = gat_segment(g.rows, g.row_ptr, s);
    const int64_t len = seg.e1 - seg.e0, pairs = len * H;
    const int32_t* arg_i = arg + seg.row * D;
    const float* dout_i = dout + seg.row * D;
    const float* a = attn + seg.e0 * H;
    float* eg = edge_grad + seg.e0 * H;
    for (int64_t q0 = 0; q0 < pairs; q0 += groups) {
      const int64_t q = q0 + grp;
      float part = 0.f;
      if (q < pairs) {
        const int64_t h = q % H;
        const float* sj = src + int64_t(g.col[seg.e0 + q / H]) * HD + h * D;
        for (int64_t d = lane; d < D; d += lanes)
          if (arg_i[d] == h) part += dout_i[d] * sj[d];
      }
      part = gat_reduce_lanes(ctx, buf, part, lanes);
      if (lane == 0 && q < pairs) eg[q] = part;
    }
    ctx.sync();  // publish d_attn
    for (int64_t h = 0; h < H; ++h) {
      float rs = 0.f;
      for (int64_t k = t; k < len; k += nt) rs += a[k * H + h] * eg[k * H + h];
      rs = block_reduce(ctx, buf, rs, SumOp{});
      if (t == 0) ws_rs[s * H + h] = rs;
    }
  }
};

// Part 1, heavy rows, pass 2, a block per segment: per head the row sum folded from ws_rs in segment order,
// de into edge_grad; ws_dd[s*HD+c], ws_da[s*HD+c] = the segment's shares of ddst_i and datt_rows_i.
struct Gatv2HeavyBackwardEdgeKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* src, const float* dst, const float* att,
                        const float* attn, const float* ws_rs, float* edge_grad, float* ws_dd, float* ws_da) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* buf = shared_array<float>(ctx, nt);
    const unsigned lanes = p.lanes, lane = t % lanes, grp = t / lanes, groups = nt / lanes;
    const int64_t s = ctx.block_idx().x, H = p.heads, D = p.head_dim, HD = H * D;
    const GatSegment seg = gat_segment(g.rows, g.row_ptr, s);
    const int64_t len = seg.e1 - seg.e0, s0 = g.rows.heavy_seg_ptr[seg.heavy], s1 = g.rows.heavy_seg_ptr[seg.heavy + 1];
    const float* di = dst + seg.row * HD;
    float* eg = edge_grad + seg.e0 * H;
    for (int64_t h = 0; h < H; ++h) {
      float rs = 0.f;
      for (int64_t q = s0; q < s1; ++q) rs += ws_rs[q * H + h];
      for (int64_t k = t; k < len; k += nt) eg[k * H + h] = attn[(seg.e0 + k) * H + h] * (eg[k * H + h] - rs);
    }
    ctx.sync();  // publish de
    for (int64_t c0 = 0; c0 < HD; c0 += lanes) {
      const int64_t c = c0 + lane, h = c / D;
      float da = 0.f, db = 0.f;
      if (c < HD)
        for (int64_t k = grp; k < len; k += groups) {
          const float de = eg[k * H + h];
          const float u = src[int64_t(g.col[seg.e0 + k]) * HD + c] + di[c];
          da += de * att[c] * gat_leaky_grad(u, p.slope);
          db += de * gat_leaky(u, p.slope);
        }
      da = gat_reduce_groups(ctx, buf, da, lanes);
      db = gat_reduce_groups(ctx, buf, db, lanes);
      if (grp == 0 && c < HD) {
        ws_dd[s * HD + c] = da;
        ws_da[s * HD + c] = db;
      }
    }
  }
};

// dsrc_j[c] summed over the in-edges k of column j (row j of adj_t) in [k0, k1) with stride `step`, in order.
AD_HD inline float gatv2_dsrc_sum(const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst,
                                  const float* att, const float* attn, const int32_t* arg, const float* dout,
                                  const float* edge_grad, int64_t j, int64_t c, int64_t k0, int64_t k1, int64_t step) {
  const int64_t H = p.heads, D = p.head_dim, HD = H * D, h = c / D, d = c % D;
  float acc = 0.f;
  for (int64_t k = k0; k < k1; k += step) {
    const int64_t e = g.edge_of[k], i = g.t_col[k];
    const float u = src[j * HD + c] + dst[i * HD + c];
    acc += edge_grad[e * H + h] * att[c] * gat_leaky_grad(u, p.slope);
    if (arg[i * D + d] == h) acc += attn[e * H + h] * dout[i * D + d];
  }
  return acc;
}

// Part 2, light columns, a lane group per column j: dsrc_j, lanes over the H*D channels, edges in order.
struct Gatv2LightBackwardColumnKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* src, const float* dst, const float* att,
                        const float* attn, const int32_t* arg, const float* dout, const float* edge_grad,
                        float* dsrc) {
    const GatLaneGroup grp(ctx, p.lanes);
    if (grp.index >= g.cols.lights) return;
    const int64_t j = g.cols.light[grp.index], HD = p.heads * p.head_dim;
    for (int64_t c = grp.lane; c < HD; c += grp.width)
      dsrc[j * HD + c] = gatv2_dsrc_sum(g, p, src, dst, att, attn, arg, dout, edge_grad, j, c, g.t_row_ptr[j],
                                        g.t_row_ptr[j + 1], 1);
  }
};

// Part 2, heavy columns, a block per segment of adj_t: ws_src[s*HD+c] = the segment's share of dsrc_j[c]
// (lanes over channels, groups over edges).
struct Gatv2HeavyBackwardColumnPartialKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, Gatv2Params p, const float* src, const float* dst, const float* att,
                        const float* attn, const int32_t* arg, const float* dout, const float* edge_grad,
                        float* ws_src) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* buf = shared_array<float>(ctx, nt);
    const unsigned lanes = p.lanes, lane = t % lanes, grp = t / lanes, groups = nt / lanes;
    const int64_t s = ctx.block_idx().x, HD = p.heads * p.head_dim;
    const GatSegment seg = gat_segment(g.cols, g.t_row_ptr, s);
    for (int64_t c0 = 0; c0 < HD; c0 += lanes) {
      const int64_t c = c0 + lane;
      float acc = c < HD ? gatv2_dsrc_sum(g, p, src, dst, att, attn, arg, dout, edge_grad, seg.row, c, seg.e0 + grp,
                                          seg.e1, groups)
                         : 0.f;
      acc = gat_reduce_groups(ctx, buf, acc, lanes);
      if (grp == 0 && c < HD) ws_src[s * HD + c] = acc;
    }
  }
};

// ---- launch ---------------------------------------------------------------------------------------------
// Floats of workspace the forward and the backward need (per segment: per-head statistics and H*D sums).
inline int64_t gatv2_workspace(const GatGraphView& g, int64_t heads, int64_t head_dim) {
  const int64_t HD = heads * head_dim;
  const int64_t fwd = g.rows.segments * (2 * heads + HD);
  const int64_t bwd = g.rows.segments * (heads + 2 * HD) + g.cols.segments * HD;
  return fwd > bwd ? fwd : bwd;
}

// Segment blocks' lanes per group: the smallest power of two >= D, at most a warp (and the block).
inline unsigned gatv2_segment_lanes(int64_t head_dim, unsigned threads) {
  return gat_lanes(head_dim, threads < kWarpSize ? threads : kWarpSize);
}

// `ws` holds gatv2_workspace(g, H, D) floats. `threads` (a power of two: a multiple of 32, or 1..16)
// overrides the segment blocks' size; tests use it, and small splits, to reach every path cheaply.
template <class L>
void launch_gatv2_forward(L& l, const GatGraphView& g, Gatv2Params p, const float* src, const float* dst,
                          const float* att, float* attn, float* out, int32_t* arg, float* ws, unsigned threads = 0) {
  const int64_t H = p.heads, D = p.head_dim, S = g.rows.segments;
  if (g.rows.lights > 0) {
    p.lanes = gat_lanes(D, kWarpSize);
    l.template launch<Gatv2LightForwardKernel>(gat_light_config(g.rows.lights, p.lanes), g, p, src, dst, att, attn,
                                               out, arg);
  }
  if (S == 0) return;
  const unsigned nt = gat_threads(H * D, threads);
  p.lanes = gatv2_segment_lanes(D, nt);
  float *ws_max = ws, *ws_sum = ws + S * H, *ws_acc = ws + 2 * S * H;
  l.template launch<Gatv2HeavyForwardPartialKernel>(gat_config(S, nt), g, p, src, dst, att, attn, ws_max, ws_sum,
                                                    ws_acc);
  l.template launch<Gatv2HeavyForwardFinishKernel>(LaunchConfig{{unsigned(S)}, {nt}, 0}, g, p,
                                                   static_cast<const float*>(ws_max), static_cast<const float*>(ws_sum),
                                                   static_cast<const float*>(ws_acc), attn, out, arg);
}

// datt (the column sums of datt_rows) is left to the caller (elementwise column sums).
template <class L>
void launch_gatv2_backward(L& l, const GatGraphView& g, Gatv2Params p, const float* src, const float* dst,
                           const float* att, const float* attn, const int32_t* arg, const float* dout,
                           float* edge_grad, float* datt_rows, float* dsrc, float* ddst, float* ws,
                           unsigned threads = 0) {
  const int64_t H = p.heads, D = p.head_dim, HD = H * D, S = g.rows.segments, SC = g.cols.segments;
  const unsigned nt = gat_threads(HD, threads);
  // Part 1 (rows).
  if (g.rows.lights > 0) {
    p.lanes = gat_lanes(D, kWarpSize);
    l.template launch<Gatv2LightBackwardRowKernel>(gat_light_config(g.rows.lights, p.lanes), g, p, src, dst, att,
                                                   attn, arg, dout, edge_grad, datt_rows, ddst);
  }
  if (S > 0) {
    float *ws_rs = ws, *ws_dd = ws + S * H, *ws_da = ws + S * H + S * HD;
    p.lanes = gatv2_segment_lanes(D, nt);
    l.template launch<Gatv2HeavyBackwardDotKernel>(gat_config(S, nt), g, p, src, attn, arg, dout, edge_grad, ws_rs);
    l.template launch<Gatv2HeavyBackwardEdgeKernel>(gat_config(S, nt), g, p, src, dst, att, attn,
                                                    static_cast<const float*>(ws_rs), edge_grad, ws_dd, ws_da);
    l.template launch<GatSegmentSumKernel>(LaunchConfig{{unsigned(g.rows.heavies)}, {nt}, 0}, g.rows,
                                           static_cast<const float*>(ws_dd), HD, ddst);
    l.template launch<GatSegmentSumKernel>(LaunchConfig{{unsigned(g.rows.heavies)}, {nt}, 0}, g.rows,
                                           static_cast<const float*>(ws_da), HD, datt_rows);
  }
  // Part 2 (columns, through the transpose); its workspace follows part 1's.
  if (g.cols.lights > 0) {
    p.lanes = gat_lanes(HD, kWarpSize);
    l.template launch<Gatv2LightBackwardColumnKernel>(gat_light_config(g.cols.lights, p.lanes), g, p, src, dst, att,
                                                      attn, arg, dout, static_cast<const float*>(edge_grad), dsrc);
  }
  if (SC > 0) {
    float* ws_src = ws + S * (H + 2 * HD);
    p.lanes = gat_lanes(HD, nt);
    l.template launch<Gatv2HeavyBackwardColumnPartialKernel>(gat_config(SC, nt), g, p, src, dst, att, attn, arg, dout,
                                                             static_cast<const float*>(edge_grad), ws_src);
    l.template launch<GatSegmentSumKernel>(LaunchConfig{{unsigned(g.cols.heavies)}, {nt}, 0}, g.cols,
                                           static_cast<const float*>(ws_src), HD, dsrc);
  }
}

AD_DEVICE_BACKENDS(
void gatv2_forward(const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst, const float* att,
                   float* attn, float* out, int32_t* arg);
void gatv2_backward(const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst, const float* att,
                    const float* attn, const int32_t* arg, const float* dout, float* edge_grad, float* datt_rows,
                    float* dsrc, float* ddst);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
