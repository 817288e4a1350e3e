// Embedding kernels. Forward: one thread per output element (grid-stride), a gather. Backward: grid.x over
// the distinct ids, grid.y over column tiles; each thread owns one (id, column) and sums that id's rows in
// position order, so no two threads write one element and the sum's order is fixed (see embedding.h).
#pragma once
#include "kernels/embedding.h"
#include "kernels/launch.h"

namespace ad {

struct EmbeddingForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const int32_t* ids, const float* weight, float* out, int64_t n, int64_t dim) {
    const int64_t total = n * dim, stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < total; i += stride)
      out[i] = weight[int64_t(ids[i / dim]) * dim + i % dim];
  }
};

struct EmbeddingBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const int32_t* rows, const int32_t* offsets, const int32_t* positions,
                        const float* dout, float* dweight, int64_t dim) {
    const int64_t g = ctx.block_idx().x;
    const int64_t d = int64_t(ctx.block_idx().y) * ctx.block_dim().x + ctx.thread_idx().x;
    if (d >= dim) return;
    float s = 0.f;
    for (int32_t p = offsets[g]; p < offsets[g + 1]; ++p) s += dout[int64_t(positions[p]) * dim + d];
    dweight[int64_t(rows[g]) * dim + d] += s;
  }
};

template <class L>
void launch_embedding_forward(L& l, const int32_t* ids, const float* weight, float* out, int64_t n, int64_t dim) {
  const unsigned threads = 256, blocks = blocks_for(n * dim, threads);
  l.template launch<EmbeddingForwardKernel>(LaunchConfig{{blocks < 4096u ? blocks : 4096u}, {threads}, 0}, ids,
                                            weight, out, n, dim);
}

template <class L>
void launch_embedding_backward(L& l, const int32_t* rows, const int32_t* offsets, const int32_t* positions,
                               int64_t groups, const float* dout, float* dweight, int64_t dim) {
  const unsigned threads = dim >= 128 ? 128 : 32;
  l.template launch<EmbeddingBackwardKernel>(LaunchConfig{{unsigned(groups), blocks_for(dim, threads)}, {threads}, 0},
                                             rows, offsets, positions, dout, dweight, dim);
}

}  // namespace ad
