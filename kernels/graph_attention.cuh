// Sparse graph attention kernels (math in graph_attention.h; the GATv2 form's kernels are in gatv2.cuh). No
// atomics: every sum has a fixed order, so results are bitwise reproducible.
//
// Single-head GAT, load-balanced from the degree distribution. A block per row (the old shape) left trace
// graphs of degree 1-3 with most threads idle through ~20 barriers per row and serialised a hub row on one
// block. The rows of adj (forward, backward part 1) and of adj_t (backward part 2, the column gathers) are
// now split once per graph (GatSplitPlan, cached in AttentionGraph), as DGL-style edge-balanced and DF-GNN's
// super-node tiling schedules do, into
//   - light rows (degree <= light_degree, 32 by default, empty rows too): a group of `width` lanes of one
//     warp per row (width = smallest power of two >= C, at most 32), no block barriers: the softmax strides
//     the lanes over the edges and reduces with shfl_xor inside the group; the aggregation gives each lane
//     its channels and walks the row's edges in order;
//   - heavy rows: segments of at most segment_edges (256) nonzeros, a block per segment. A segment writes
//     partials to a workspace (its local max m_s, sum of exp(l - m_s) and sum of exp(l - m_s) feat_j, or the
//     backward's partial sums); a second launch merges each row's segments in segment order (the flash-
//     attention rescaling by exp(m_s - m) for the softmax), so a row's result depends only on the plan.
// Inside a segment block (`threads` = 64..256 by C) thread t is lane t % lanes of group t / lanes: the
// row-wise passes stride all threads over the edges and use block_reduce (reduce.cuh); the aggregation gives
// lane c of every group a strided share of the edges and sums the groups in shared memory
// (gat_reduce_groups); the backward dot products take one edge per group, lanes striding over C
// (gat_reduce_lanes).
// Scratch: edge_grad [nnz] holds d_attn_ij between the two halves of backward part 1, then g_ij = de_ij * s_ij
// (d L / d(f_src_i + f_dst_j)), which part 2 gathers through edge_of for df_dst.
// The split's machinery here (GatSplitView, gat_segment, GatLaneGroup, gat_reduce_groups/lanes,
// gat_merge_softmax, GatSegmentSumKernel, the launch shapes) is also GATv2's (gatv2.cuh).
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/graph_attention.h"
#include "kernels/launch.h"
#include "kernels/reduce.cuh"
#include "kernels/shared_size.h"
#include "kernels/dispatch.h"

namespace ad {

// Raw pointers of a GatSplitPlan.
struct GatSplitView {
  const int32_t* light = nullptr;
  const int32_t* heavy = nullptr;
  const int64_t* heavy_seg_ptr = nullptr;
  const int32_t* seg_heavy = nullptr;
  int64_t lights = 0, heavies = 0, segments = 0, segment_edges = 1;
};

// Raw pointers of an AttentionGraph on one device. `val` may be null when the logits are not scaled.
struct GatGraphView {
  const int64_t* row_ptr = nullptr;
  const int32_t* col = nullptr;
  const float* val = nullptr;
  const int64_t* t_row_ptr = nullptr;
  const int32_t* t_col = nullptr;
  const int64_t* edge_of = nullptr;
  int64_t nodes = 0;
  GatSplitView rows, cols;  // splits of adj's and adj_t's rows
};

struct GatParams {
  int64_t channels = 0;
  float slope = 0.2f;
  bool scale = true;  // scale_logits_by_adj
  unsigned lanes = 1;
};

inline GatSplitView gat_split_view(const GatSplitPlan& p) {
  GatSplitView v;
  v.light = p.light_rows.data<int32_t>();
  v.heavy = p.heavy_rows.data<int32_t>();
  v.heavy_seg_ptr = p.heavy_seg_ptr.data<int64_t>();
  v.seg_heavy = p.seg_heavy.data<int32_t>();
  v.lights = p.lights();
  v.heavies = p.heavies();
  v.segments = p.segments();
  v.segment_edges = p.segment_edges;
  return v;
}

inline GatGraphView gat_view(const AttentionGraph& g, bool with_values) {
  GatGraphView v;
  v.row_ptr = g.adj.row_ptr.data<int64_t>();
  v.col = g.adj.col.data<int32_t>();
  v.val = with_values ? g.adj.val.data<float>() : nullptr;
  v.t_row_ptr = g.adj_t.row_ptr.data<int64_t>();
  v.t_col = g.adj_t.col.data<int32_t>();
  v.edge_of = g.edge_of.data<int64_t>();
  v.nodes = g.nodes();
  v.rows = gat_split_view(g.row_split);
  v.cols = gat_split_view(g.col_split);
  return v;
}

AD_HD inline float gat_leaky(float e, float slope) { return e > 0.f ? e : slope * e; }
AD_HD inline float gat_leaky_grad(float e, float slope) { return e > 0.f ? 1.f : slope; }
// Pre-activation logit of edge e = (i, j).
AD_HD inline float gat_logit(const GatGraphView& g, const GatParams& p, float fs_i, const float* f_dst, int64_t e) {
  float s = p.scale ? g.val[e] : 1.f;
  return s * (fs_i + f_dst[g.col[e]]);
}

// Segment s of a split over the CSR rows `row_ptr`: its row, heavy index and nonzeros [e0, e1).
struct GatSegment {
  int64_t row, heavy, e0, e1;
};
AD_HD inline GatSegment gat_segment(const GatSplitView& sp, const int64_t* row_ptr, int64_t s) {
  GatSegment g;
  g.heavy = sp.seg_heavy[s];
  g.row = sp.heavy[g.heavy];
  g.e0 = row_ptr[g.row] + (s - sp.heavy_seg_ptr[g.heavy]) * sp.segment_edges;
  const int64_t end = row_ptr[g.row + 1];
  g.e1 = g.e0 + sp.segment_edges < end ? g.e0 + sp.segment_edges : end;
  return g;
}

// A group of `width` lanes (a power of two <= 32) inside one warp, for the light rows.
struct GatLaneGroup {
  unsigned width, lane, mask;
  int64_t index;  // global group index = the light row's position in the split
  template <class Ctx> AD_HD GatLaneGroup(Ctx& ctx, unsigned w) : width(w) {
    const unsigned t = ctx.thread_idx().x, warp_lane = ctx.lane_id();
    lane = t % w;
    mask = w == kWarpSize ? kFullWarp : ((1u << w) - 1u) << (warp_lane - lane);
    index = int64_t(ctx.block_idx().x) * (ctx.block_dim().x / w) + t / w;
  }
  // Butterfly over the group's lanes: every lane gets the same bits.
  template <class Ctx, class Op> AD_HD float reduce(Ctx& ctx, float v, Op op) const {
    for (unsigned offset = width / 2; offset > 0; offset /= 2) v = op(v, ctx.shfl_xor(mask, v, int(offset)));
    return v;
  }
  // Orders the group's memory accesses (what one lane wrote before, the others may read after).
  template <class Ctx> AD_HD void sync(Ctx& ctx) const { ctx.warp_sync(mask); }
};

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

// ---- forward ------------------------------------------------------------------------------------------
// Light rows: a lane group per row computes max, sum of exp, attn and out_i = sum_j attn_ij feat_j.
struct GatLightForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* feat, const float* f_src,
                        const float* f_dst, float* attn, float* out) {
    const GatLaneGroup grp(ctx, p.lanes);
    if (grp.index >= g.rows.lights) return;  // whole groups leave; no block barriers here
    const int64_t i = g.rows.light[grp.index], C = p.channels;
    const int64_t beg = g.row_ptr[i], deg = g.row_ptr[i + 1] - beg;
    const float fs = f_src[i];
    float m = -INFINITY;
    for (int64_t k = grp.lane; k < deg; k += grp.width) m = fmaxf(m, gat_leaky(gat_logit(g, p, fs, f_dst, beg + k), p.slope));
    m = grp.reduce(ctx, m, MaxOp{});
    float s = 0.f;
    for (int64_t k = grp.lane; k < deg; k += grp.width) s += expf(gat_leaky(gat_logit(g, p, fs, f_dst, beg + k), p.slope) - m);
    const float inv = 1.f / grp.reduce(ctx, s, SumOp{});  // unused when deg == 0
    for (int64_t k = grp.lane; k < deg; k += grp.width)
      attn[beg + k] = expf(gat_leaky(gat_logit(g, p, fs, f_dst, beg + k), p.slope) - m) * inv;
    // Each lane recomputes the weights it needs rather than reading other lanes' attn writes.
    for (int64_t c = grp.lane; c < C; c += grp.width) {
      float acc = 0.f;
      for (int64_t k = 0; k < deg; ++k) {
        const float a = expf(gat_leaky(gat_logit(g, p, fs, f_dst, beg + k), p.slope) - m) * inv;
        acc += a * feat[int64_t(g.col[beg + k]) * C + c];
      }
      out[i * C + c] = acc;
    }
  }
};

// Heavy rows, pass 1, a block per segment: ws_max[s], ws_sum[s] = the segment's max logit m_s and
// sum exp(l - m_s); ws_acc[s][c] = sum exp(l - m_s) feat_j[c]. Shared: the block's buffer, then the
// segment's exponentials.
struct GatHeavyForwardPartialKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* feat, const float* f_src,
                        const float* f_dst, float* ws_max, float* ws_sum, float* ws_acc) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* buf = shared_array<float>(ctx, nt);
    float* pe = shared_array<float>(ctx, size_t(g.rows.segment_edges));
    const int64_t s = ctx.block_idx().x, C = p.channels;
    const GatSegment seg = gat_segment(g.rows, g.row_ptr, s);
    const int64_t len = seg.e1 - seg.e0;
    const float fs = f_src[seg.row];
    float m = -INFINITY;
    for (int64_t k = t; k < len; k += nt) {
      pe[k] = gat_leaky(gat_logit(g, p, fs, f_dst, seg.e0 + k), p.slope);
      m = fmaxf(m, pe[k]);
    }
    m = block_reduce(ctx, buf, m, MaxOp{});
    float sum = 0.f;
    for (int64_t k = t; k < len; k += nt) sum += (pe[k] = expf(pe[k] - m));
    sum = block_reduce(ctx, buf, sum, SumOp{});  // its barriers also publish pe
    const unsigned lanes = p.lanes, lane = t % lanes, grp = t / lanes, groups = nt / lanes;
    for (int64_t c0 = 0; c0 < C; c0 += lanes) {
      const int64_t c = c0 + lane;
      float acc = 0.f;
      if (c < C)
        for (int64_t k = grp; k < len; k += groups) acc += pe[k] * feat[int64_t(g.col[seg.e0 + k]) * C + c];
      acc = gat_reduce_groups(ctx, buf, acc, lanes);
      if (grp == 0 && c < C) ws_acc[s * C + c] = acc;
    }
    if (t == 0) {
      ws_max[s] = m;
      ws_sum[s] = sum;
    }
  }
};

// The softmax statistics of heavy row h: m = max over its segments, total = sum_s ws_sum[s] exp(m_s - m),
// folded in segment order (every caller gets the same bits). Segment s's statistics sit at [s * stride +
// head] (GATv2 keeps one per head).
AD_HD inline void gat_merge_softmax(const GatSplitView& sp, int64_t h, const float* ws_max, const float* ws_sum,
                                    float& m, float& total, int64_t stride = 1, int64_t head = 0) {
  const int64_t s0 = sp.heavy_seg_ptr[h], s1 = sp.heavy_seg_ptr[h + 1];
  m = -INFINITY;
  for (int64_t s = s0; s < s1; ++s) m = fmaxf(m, ws_max[s * stride + head]);
  total = 0.f;
  for (int64_t s = s0; s < s1; ++s) total += ws_sum[s * stride + head] * expf(ws_max[s * stride + head] - m);
}

// Heavy rows, pass 2, a block per segment: the row's softmax merged from pass 1, attn of the segment's
// edges; the row's first segment also writes out_i = sum_s exp(m_s - m) ws_acc[s] / total.
struct GatHeavyForwardFinishKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* f_src, const float* f_dst,
                        const float* ws_max, const float* ws_sum, const float* ws_acc, float* attn, float* out) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t s = ctx.block_idx().x, C = p.channels;
    const GatSegment seg = gat_segment(g.rows, g.row_ptr, s);
    float m, total;
    gat_merge_softmax(g.rows, seg.heavy, ws_max, ws_sum, m, total);
    const float inv = 1.f / total, fs = f_src[seg.row];
    for (int64_t e = seg.e0 + t; e < seg.e1; e += nt)
      attn[e] = expf(gat_leaky(gat_logit(g, p, fs, f_dst, e), p.slope) - m) * inv;
    const int64_t s0 = g.rows.heavy_seg_ptr[seg.heavy], s1 = g.rows.heavy_seg_ptr[seg.heavy + 1];
    if (s != s0) return;
    for (int64_t c = t; c < C; c += nt) {
      float acc = 0.f;
      for (int64_t q = s0; q < s1; ++q) acc += ws_acc[q * C + c] * expf(ws_max[q] - m);
      out[seg.row * C + c] = acc * inv;
    }
  }
};

// ---- backward ------------------------------------------------------------------------------------------
// Part 1, light rows, a lane group per row: d_attn_ij = dout_i . feat_j (lanes over C, group sum), the row
// sum sum_j attn_ij d_attn_ij, edge_grad_ij = attn_ij (d_attn_ij - sum) leaky'(e_ij) s_ij, df_src_i.
struct GatLightBackwardRowKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* feat, const float* f_src,
                        const float* f_dst, const float* attn, const float* dout, float* edge_grad, float* df_src) {
    const GatLaneGroup grp(ctx, p.lanes);
    if (grp.index >= g.rows.lights) return;  // whole groups leave; no block barriers here
    const int64_t i = g.rows.light[grp.index], C = p.channels;
    const int64_t beg = g.row_ptr[i], deg = g.row_ptr[i + 1] - beg;
    const float* dout_i = dout + i * C;
    float rs = 0.f;  // this lane's edges' share of sum_j attn_ij d_attn_ij
    for (int64_t k = 0; k < deg; ++k) {
      const float* feat_j = feat + int64_t(g.col[beg + k]) * C;
      float part = 0.f;
      for (int64_t c = grp.lane; c < C; c += grp.width) part += dout_i[c] * feat_j[c];
      part = grp.reduce(ctx, part, SumOp{});
      if (k % grp.width == grp.lane) {  // the lane that later reads edge_grad[beg + k] back writes it
        edge_grad[beg + k] = part;
        rs += attn[beg + k] * part;
      }
    }
    rs = grp.reduce(ctx, rs, SumOp{});
    const float fs = f_src[i];
    float acc = 0.f;
    for (int64_t k = grp.lane; k < deg; k += grp.width) {
      const int64_t e = beg + k;
      const float s = p.scale ? g.val[e] : 1.f;
      const float ge = attn[e] * (edge_grad[e] - rs) * gat_leaky_grad(gat_logit(g, p, fs, f_dst, e), p.slope) * s;
      edge_grad[e] = ge;
      acc += ge;
    }
    acc = grp.reduce(ctx, acc, SumOp{});
    if (grp.lane == 0) df_src[i] = acc;
  }
};

// Part 1, heavy rows, pass 1, a block per segment: d_attn_ij into edge_grad (one edge per group, lanes over
// C), ws_rs[s] = the segment's sum of attn_ij d_attn_ij.
struct GatHeavyBackwardDotKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* feat, const float* attn,
                        const float* dout, float* edge_grad, float* ws_rs) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* buf = shared_array<float>(ctx, nt);
    const unsigned lanes = p.lanes, lane = t % lanes, grp = t / lanes, groups = nt / lanes;
    const int64_t s = ctx.block_idx().x, C = p.channels;
    const GatSegment seg = gat_segment(g.rows, g.row_ptr, s);
    const int64_t len = seg.e1 - seg.e0;
    const float* dout_i = dout + seg.row * C;
    float rs = 0.f;  // this group's share (kept by lane 0)
    for (int64_t k0 = 0; k0 < len; k0 += groups) {
      const int64_t k = k0 + grp;
      float part = 0.f;
      if (k < len) {
        const float* feat_j = feat + int64_t(g.col[seg.e0 + k]) * C;
        for (int64_t c = lane; c < C; c += lanes) part += dout_i[c] * feat_j[c];
      }
      part = gat_reduce_lanes(ctx, buf, part, lanes);
      if (lane == 0 && k < len) {
        edge_grad[seg.e0 + k] = part;
        rs += attn[seg.e0 + k] * part;
      }
    }
    rs = block_reduce(ctx, buf, rs, SumOp{});
    if (t == 0) ws_rs[s] = rs;
  }
};

// Part 1, heavy rows, pass 2, a block per segment: the row sum folded from ws_rs in segment order,
// edge_grad_ij as for light rows, ws_df[s] = the segment's share of df_src_i.
struct GatHeavyBackwardEdgeKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* f_src, const float* f_dst,
                        const float* attn, const float* ws_rs, float* edge_grad, float* ws_df) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* buf = shared_array<float>(ctx, nt);
    const int64_t s = ctx.block_idx().x;
    const GatSegment seg = gat_segment(g.rows, g.row_ptr, s);
    float rs = 0.f;
    for (int64_t q = g.rows.heavy_seg_ptr[seg.heavy]; q < g.rows.heavy_seg_ptr[seg.heavy + 1]; ++q) rs += ws_rs[q];
    const float fs = f_src[seg.row];
    float acc = 0.f;
    for (int64_t e = seg.e0 + t; e < seg.e1; e += nt) {
      const float sc = p.scale ? g.val[e] : 1.f;
      const float ge = attn[e] * (edge_grad[e] - rs) * gat_leaky_grad(gat_logit(g, p, fs, f_dst, e), p.slope) * sc;
      edge_grad[e] = ge;
      acc += ge;
    }
    acc = block_reduce(ctx, buf, acc, SumOp{});
    if (t == 0) ws_df[s] = acc;
  }
};

// Part 2, light columns, a lane group per column j (row j of adj_t): df_dst_j = sum_i edge_grad_ij and
// dfeat_j = sum_i attn_ij dout_i, gathered through edge_of, edges in order.
struct GatLightBackwardColumnKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* attn, const float* dout,
                        const float* edge_grad, float* dfeat, float* df_dst) {
    const GatLaneGroup grp(ctx, p.lanes);
    if (grp.index >= g.cols.lights) return;  // whole groups leave; no block barriers here
    const int64_t j = g.cols.light[grp.index], C = p.channels;
    const int64_t beg = g.t_row_ptr[j], deg = g.t_row_ptr[j + 1] - beg;
    float gs = 0.f;
    for (int64_t k = grp.lane; k < deg; k += grp.width) gs += edge_grad[g.edge_of[beg + k]];
    gs = grp.reduce(ctx, gs, SumOp{});
    if (grp.lane == 0) df_dst[j] = gs;
    for (int64_t c = grp.lane; c < C; c += grp.width) {
      float acc = 0.f;
      for (int64_t k = 0; k < deg; ++k) acc += attn[g.edge_of[beg + k]] * dout[int64_t(g.t_col[beg + k]) * C + c];
      dfeat[j * C + c] = acc;
    }
  }
};

// Part 2, heavy columns, pass 1, a block per segment of adj_t: ws_gs[s] = sum edge_grad, ws_acc[s][c] =
// sum attn_ij dout_i[c] over the segment.
struct GatHeavyBackwardColumnPartialKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatGraphView g, GatParams p, const float* attn, const float* dout,
                        const float* edge_grad, float* ws_gs, float* ws_acc) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* buf = shared_array<float>(ctx, nt);
    const int64_t s = ctx.block_idx().x, C = p.channels;
    const GatSegment seg = gat_segment(g.cols, g.t_row_ptr, s);
    const int64_t len = seg.e1 - seg.e0;
    float gs = 0.f;
    for (int64_t k = t; k < len; k += nt) gs += edge_grad[g.edge_of[seg.e0 + k]];
    gs = block_reduce(ctx, buf, gs, SumOp{});
    if (t == 0) ws_gs[s] = gs;
    const unsigned lanes = p.lanes, lane = t % lanes, grp = t / lanes, groups = nt / lanes;
    for (int64_t c0 = 0; c0 < C; c0 += lanes) {
      const int64_t c = c0 + lane;
      float acc = 0.f;
      if (c < C)
        for (int64_t k = grp; k < len; k += groups)
          acc += attn[g.edge_of[seg.e0 + k]] * dout[int64_t(g.t_col[seg.e0 + k]) * C + c];
      acc = gat_reduce_groups(ctx, buf, acc, lanes);
      if (grp == 0 && c < C) ws_acc[s * C + c] = acc;
    }
  }
};

// A block per heavy row h of a split: out[row * width + c] = sum over h's segments, in order, of
// part[s * width + c] (df_src, df_dst, dfeat of the heavy rows and columns).
struct GatSegmentSumKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, GatSplitView sp, const float* part, int64_t width, float* out) {
    const int64_t h = ctx.block_idx().x, row = sp.heavy[h];
    for (int64_t c = ctx.thread_idx().x; c < width; c += ctx.block_dim().x) {
      float acc = 0.f;
      for (int64_t q = sp.heavy_seg_ptr[h]; q < sp.heavy_seg_ptr[h + 1]; ++q) acc += part[q * width + c];
      out[row * width + c] = acc;
    }
  }
};

// ---- launch ---------------------------------------------------------------------------------------------
// Threads per segment block: a power of two in [64, 256] covering C when it can (0 = this default).
inline unsigned gat_threads(int64_t channels, unsigned threads = 0) {
  return threads ? threads : pow2_threads(channels, 64, 256);
}
// Smallest power of two >= C, at most `cap` (a power of two).
inline unsigned gat_lanes(int64_t channels, unsigned cap) {
  unsigned w = 1;
  while (w < cap && int64_t(w) < channels) w *= 2;
  return w;
}
constexpr unsigned kGatLightThreads = 256;  // 8 warps of lane groups per block
inline LaunchConfig gat_light_config(int64_t rows, unsigned width) {
  return LaunchConfig{{blocks_for(rows, kGatLightThreads / width)}, {kGatLightThreads}, 0};
}
inline LaunchConfig gat_config(int64_t blocks, unsigned threads, size_t extra_floats = 0) {
  return LaunchConfig{{unsigned(blocks)}, {threads}, shared_floats(threads) + shared_floats(extra_floats)};
}

// Floats of workspace the forward and backward need for a graph with these splits and C channels.
inline int64_t gat_workspace(const GatGraphView& g, int64_t channels) {
  const int64_t fwd = g.rows.segments * (2 + channels);
  const int64_t bwd = g.rows.segments * 2 + g.cols.segments * (1 + channels);
  return fwd > bwd ? fwd : bwd;
}

// `ws` holds gat_workspace(g, C) floats. `threads` (a power of two: a multiple of 32, or 1..16) overrides the
// segment blocks' size; tests use it, and small splits, to reach every path cheaply.
template <class L>
void launch_graph_attention_forward(L& l, const GatGraphView& g, GatParams p, const float* feat, const float* f_src,
                                    const float* f_dst, float* attn, float* out, float* ws, unsigned threads = 0) {
  const int64_t C = p.channels, S = g.rows.segments;
  if (g.rows.lights > 0) {
    p.lanes = gat_lanes(C, kWarpSize);
    l.template launch<GatLightForwardKernel>(gat_light_config(g.rows.lights, p.lanes), g, p, feat, f_src, f_dst, attn,
                                             out);
  }
  if (S == 0) return;
  const unsigned nt = gat_threads(C, threads);
  p.lanes = gat_lanes(C, nt);
  float *ws_max = ws, *ws_sum = ws + S, *ws_acc = ws + 2 * S;
  l.template launch<GatHeavyForwardPartialKernel>(gat_config(S, nt, size_t(g.rows.segment_edges)), g, p, feat, f_src,
                                                  f_dst, ws_max, ws_sum, ws_acc);
  l.template launch<GatHeavyForwardFinishKernel>(LaunchConfig{{unsigned(S)}, {nt}, 0}, g, p, f_src, f_dst,
                                                 static_cast<const float*>(ws_max), static_cast<const float*>(ws_sum),
                                                 static_cast<const float*>(ws_acc), attn, out);
}

template <class L>
void launch_graph_attention_backward(L& l, const GatGraphView& g, GatParams p, const float* feat, const float* f_src,
                                     const float* f_dst, const float* attn, const float* dout, float* edge_grad,
                                     float* dfeat, float* df_src, float* df_dst, float* ws, unsigned threads = 0) {
  const int64_t C = p.channels, S = g.rows.segments, SC = g.cols.segments;
  const unsigned nt = gat_threads(C, threads);
  // Part 1 (rows).
  if (g.rows.lights > 0) {
    p.lanes = gat_lanes(C, kWarpSize);
    l.template launch<GatLightBackwardRowKernel>(gat_light_config(g.rows.lights, p.lanes), g, p, feat, f_src, f_dst,
                                                 attn, dout, edge_grad, df_src);
  }
  if (S > 0) {
    float *ws_rs = ws, *ws_df = ws + S;
    p.lanes = gat_lanes(C, nt < kWarpSize ? nt : kWarpSize);  // at most a warp per dot product
    l.template launch<GatHeavyBackwardDotKernel>(gat_config(S, nt), g, p, feat, attn, dout, edge_grad, ws_rs);
    l.template launch<GatHeavyBackwardEdgeKernel>(gat_config(S, nt), g, p, f_src, f_dst, attn,
                                                  static_cast<const float*>(ws_rs), edge_grad, ws_df);
    l.template launch<GatSegmentSumKernel>(LaunchConfig{{unsigned(g.rows.heavies)}, {32}, 0}, g.rows,
                                           static_cast<const float*>(ws_df), int64_t(1), df_src);
  }
  // Part 2 (columns, through the transpose); its workspace follows part 1's.
  if (g.cols.lights > 0) {
    p.lanes = gat_lanes(C, kWarpSize);
    l.template launch<GatLightBackwardColumnKernel>(gat_light_config(g.cols.lights, p.lanes), g, p, attn, dout,
                                                    static_cast<const float*>(edge_grad), dfeat, df_dst);
  }
  if (SC > 0) {
    float *ws_gs = ws + 2 * S, *ws_acc = ws + 2 * S + SC;
    p.lanes = gat_lanes(C, nt);
    l.template launch<GatHeavyBackwardColumnPartialKernel>(gat_config(SC, nt), g, p, attn, dout,
                                                           static_cast<const float*>(edge_grad), ws_gs, ws_acc);
    l.template launch<GatSegmentSumKernel>(LaunchConfig{{unsigned(g.cols.heavies)}, {32}, 0}, g.cols,
                                           static_cast<const float*>(ws_gs), int64_t(1), df_dst);
    l.template launch<GatSegmentSumKernel>(LaunchConfig{{unsigned(g.cols.heavies)}, {nt}, 0}, g.cols,
                                           static_cast<const float*>(ws_acc), C, dfeat);
  }
}

AD_DEVICE_BACKENDS(
void graph_attention_forward(const GatGraphView& g, const GatParams& p, const float* feat, const float* f_src,
                             const float* f_dst, float* attn, float* out);
void graph_attention_backward(const GatGraphView& g, const GatParams& p, const float* feat, const float* f_src,
                              const float* f_dst, const float* attn, const float* dout, float* edge_grad,
                              float* dfeat, float* df_src, float* df_dst);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
