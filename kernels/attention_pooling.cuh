// Attention-pooling kernels (math in attention_pooling.h): one block per graph. Graphs are small (a service
// graph has 12 nodes) and C moderate (64), so threads stride over the graph's nodes for the softmax and
// the per-node dot products (block_reduce for the max and the sums), and over channels for the weighted
// sum. The backward keeps dout_b . x_n in dgate between its two passes: each thread rewrites only the
// entries it wrote itself. No atomics: bitwise reproducible. A `threads` override must be a multiple of 32
// (block_reduce works warp by warp).
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/attention_pooling.h"
#include "kernels/launch.h"
#include "kernels/reduce.cuh"
#include "kernels/shared_size.h"

namespace ad {

struct AttentionPoolForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* gate, const int64_t* graph_ptr, float* weight,
                        float* out, int64_t C) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t b = ctx.block_idx().x, beg = graph_ptr[b], end = graph_ptr[b + 1];
    float m = -INFINITY;
    for (int64_t n = beg + t; n < end; n += nt) m = fmaxf(m, gate[n]);
    m = block_reduce(ctx, buf, m, MaxOp{});
    float s = 0.f;
    for (int64_t n = beg + t; n < end; n += nt) s += expf(gate[n] - m);
    s = block_reduce(ctx, buf, s, SumOp{});
    for (int64_t n = beg + t; n < end; n += nt) weight[n] = expf(gate[n] - m) / s;
    ctx.sync();  // the weights are visible to the whole block
    for (int64_t c = t; c < C; c += nt) {
      float acc = 0.f;
      for (int64_t n = beg; n < end; ++n) acc += weight[n] * x[n * C + c];
      out[b * C + c] = acc;
    }
  }
};

struct AttentionPoolBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* weight, const int64_t* graph_ptr, const float* dout,
                        float* dx, float* dgate, int64_t C) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t b = ctx.block_idx().x, beg = graph_ptr[b], end = graph_ptr[b + 1];
    const float* db = dout + b * C;
    float rs = 0.f;
    for (int64_t n = beg + t; n < end; n += nt) {
      float dot = 0.f;
      for (int64_t c = 0; c < C; ++c) dot += db[c] * x[n * C + c];
      dgate[n] = dot;
      rs += weight[n] * dot;
    }
    rs = block_reduce(ctx, buf, rs, SumOp{});
    for (int64_t n = beg + t; n < end; n += nt) dgate[n] = weight[n] * (dgate[n] - rs);
    for (int64_t q = t; q < (end - beg) * C; q += nt) {
      const int64_t n = beg + q / C, c = q % C;
      dx[n * C + c] = weight[n] * db[c];
    }
  }
};

template <class L>
void launch_attention_pool_forward(L& l, const float* x, const float* gate, const int64_t* graph_ptr, float* weight,
                                   float* out, int64_t graphs, int64_t C, unsigned threads = 0) {
  const unsigned nt = threads ? threads : pow2_threads(C, 32, 128);
  l.template launch<AttentionPoolForwardKernel>(LaunchConfig{{unsigned(graphs)}, {nt}, shared_floats(nt)}, x, gate,
                                                graph_ptr, weight, out, C);
}

template <class L>
void launch_attention_pool_backward(L& l, const float* x, const float* weight, const int64_t* graph_ptr,
                                    const float* dout, float* dx, float* dgate, int64_t graphs, int64_t C,
                                    unsigned threads = 0) {
  const unsigned nt = threads ? threads : pow2_threads(C, 32, 128);
  l.template launch<AttentionPoolBackwardKernel>(LaunchConfig{{unsigned(graphs)}, {nt}, shared_floats(nt)}, x,
                                                 weight, graph_ptr, dout, dx, dgate, C);
}

}  // namespace ad
