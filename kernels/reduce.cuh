// Reduction kernels. block_reduce() is the block-wide reduction every reduction here (and softmax, the
// losses, graph attention, the dense reconstruction error) uses: each thread contributes one value, every
// thread gets the result. It reduces each warp with register shuffles first and only then goes through
// shared memory, so it costs two barriers whatever the block size. Block sizes: multiples of 32, or a power
// of two below 32 (one partial warp).
#pragma once
#include <cmath>

#include "kernels/elementwise.cuh"  // ColumnSumKernel, pointwise_config
#include "kernels/launch.h"
#include "kernels/reduce.h"

namespace ad {

struct SumOp {
  AD_HD float operator()(float a, float b) const { return a + b; }
};
struct MaxOp {
  AD_HD float operator()(float a, float b) const { return a > b ? a : b; }
};

// Reduces v over all threads of the block (a multiple of 32 threads): a butterfly of shfl_xor within each
// warp (every lane ends with its warp's total), lane 0 of each warp stores it in buf[warp], one barrier,
// then every thread combines the warp totals in warp order. Every step has a fixed order, so the result
// is bitwise the same on every run and in every thread. `buf` needs one float per warp (callers may pass
// more). Ends with a barrier after everyone has read buf, so it may be reused at once.
template <class Ctx, class Op>
AD_HD inline float block_reduce(Ctx& ctx, float* buf, float v, Op op, int call_line = __builtin_LINE()) {
  BarrierScope<Ctx> scope(ctx, call_line);
  const Dim3 d = ctx.block_dim();
  const unsigned threads = d.x * d.y * d.z, width = threads < kWarpSize ? threads : kWarpSize;
  const unsigned warps = (threads + kWarpSize - 1) / kWarpSize;
  const unsigned mask = width == kWarpSize ? kFullWarp : (1u << width) - 1u;  // a block below 32: its lanes
  for (int offset = int(width) / 2; offset > 0; offset /= 2) v = op(v, ctx.shfl_xor(mask, v, offset));
  if (ctx.lane_id() == 0) buf[ctx.warp_id()] = v;
  ctx.sync();
  float r = buf[0];
  for (unsigned w = 1; w < warps; ++w) r = op(r, buf[w]);
  ctx.sync();
  return r;
}

// Smallest power of two >= n, clamped to [lo, hi].
inline unsigned pow2_threads(int64_t n, unsigned lo = 32, unsigned hi = 256) {
  unsigned t = lo;
  while (t < hi && int64_t(t) < n) t *= 2;
  return t;
}

// One block per row: out[row] = scale * sum_c x[row, c].
struct RowSumKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, float* out, int64_t rows, int64_t cols, float scale) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    int64_t row = ctx.block_idx().x;
    const float* xr = x + row * cols;
    float s = 0.f;
    for (int64_t c = ctx.thread_idx().x; c < cols; c += ctx.block_dim().x) s += xr[c];
    s = block_reduce(ctx, buf, s, SumOp{});
    if (ctx.thread_idx().x == 0) out[row] = scale * s;
  }
};

// Pass 1 of the total sum: each block reduces a grid-stride slice into partial[block].
struct SumPartialKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, float* partial, int64_t n, bool square) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    float s = 0.f;
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride)
      s += square ? x[i] * x[i] : x[i];
    s = block_reduce(ctx, buf, s, SumOp{});
    if (ctx.thread_idx().x == 0) partial[ctx.block_idx().x] = s;
  }
};

// Pass 2: one block sums the partials into out[0].
struct SumFinalKernel {
  template <class Ctx> AD_HD static void run(Ctx& ctx, const float* partial, float* out, int64_t m, float scale) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    float s = 0.f;
    for (int64_t i = ctx.thread_idx().x; i < m; i += ctx.block_dim().x) s += partial[i];
    s = block_reduce(ctx, buf, s, SumOp{});
    if (ctx.thread_idx().x == 0) out[0] = scale * s;
  }
};

// dx[i] = scale * dout[i % cols] (axis 0), dout[i / cols] (axis 1) or dout[0] (axis -1).
struct BroadcastKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* dout, float* dx, int64_t rows, int64_t cols, int axis, float scale) {
    int64_t n = rows * cols;
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride)
      dx[i] = scale * dout[axis == 0 ? i % cols : axis == 1 ? i / cols : 0];
  }
};

constexpr unsigned kSumThreads = 256;
// Blocks of pass 1 (and the workspace size in floats the caller provides): at least 1, at most 1024.
inline unsigned sum_all_blocks(int64_t n) {
  unsigned b = blocks_for(n, kSumThreads);
  return b < 1 ? 1 : (b > 1024 ? 1024 : b);
}

// axis 0: `partial` holds column_sum_workspace(rows, cols) floats (elementwise.cuh); unused otherwise.
template <class L>
void launch_sum_axis(L& l, const float* x, float* out, float* partial, int64_t rows, int64_t cols, int axis,
                     float scale) {
  if (axis == 0) {
    launch_column_sums(l, x, out, partial, rows, cols, scale, false);
  } else {
    unsigned t = pow2_threads(cols);
    l.template launch<RowSumKernel>(LaunchConfig{{unsigned(rows)}, {t}, t * sizeof(float)}, x, out, rows, cols,
                                    scale);
  }
}

template <class L>
void launch_broadcast(L& l, const float* dout, float* dx, int64_t rows, int64_t cols, int axis, float scale) {
  l.template launch<BroadcastKernel>(pointwise_config(rows * cols), dout, dx, rows, cols, axis, scale);
}

// `partial` holds sum_all_blocks(n) floats.
template <class L>
void launch_sum_all(L& l, const float* x, float* partial, float* out, int64_t n, bool square, float scale) {
  unsigned b = sum_all_blocks(n);
  l.template launch<SumPartialKernel>(LaunchConfig{{b}, {kSumThreads}, kSumThreads * sizeof(float)}, x, partial, n,
                                      square);
  l.template launch<SumFinalKernel>(LaunchConfig{{1}, {kSumThreads}, kSumThreads * sizeof(float)}, partial, out,
                                    int64_t(b), scale);
}

}  // namespace ad
