// GATv2 kernels with the max over heads (math in graph_attention.h; MUAD's layer). Shapes and why are below.
// Not load-balanced like the single-head kernels in graph_attention.cuh: MUAD's service graphs have at most a
// dozen in-edges per node, so every row is short and a block per row is kept; a hub row would serialise
// its softmax on H threads.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/graph_attention.cuh"
#include "kernels/shared_size.h"
#include "kernels/dispatch.h"

namespace ad {

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

AD_DEVICE_BACKENDS(
void gatv2_forward(const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst, const float* att,
                   float* attn, float* out, int32_t* arg);
void gatv2_backward(const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst, const float* att,
                    const float* attn, const int32_t* arg, const float* dout, float* edge_grad, float* datt_rows,
                    float* dsrc, float* ddst);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
