// Causal dilated 1-D convolution kernels, layout [B, T, C] (channels last), w [K, C_in, C_out].
//
// Forward and backward-data are the same computation with the roles swapped, so one tiled kernel
// (ConvTileKernel) does both:  out[b,t,j] = sum_{k,i} W(k,i,j) * in[b, t + shift_k, i]
//   forward:        in = x,  out = y,  i = c_in,  j = c_out, shift_k = -(K-1-k)*d, W = w[k,i,j]
//   backward data:  in = dy, out = dx, i = c_out, j = c_in,  shift_k = +(K-1-k)*d, W = w[k,j,i]
// A block owns a tile of 32 time steps x 32 output channels of one batch row (threads 32 x 8, each
// thread 4 time steps of one channel). It walks the input channels in chunks: it stages, for every
// tap k, the 32 shifted input rows it needs (zero outside [0, T), so causal padding costs nothing)
// and the K x chunk x 32 weight slice in shared memory, then every thread does K*chunk*4 FMAs from
// shared memory. In the inner loop a warp reads one broadcast input value and 32 consecutive
// weights, so there are no bank conflicts. Rows for different taps are staged separately, which is
// what makes any dilation work (for d >= 32 they do not even overlap). The chunk shrinks with K so
// the staging stays within 48 KiB.
//
// Weight gradient: dw[k,c,o] = sum_{b,t} x[b, t-(K-1-k)d, c] * dy[b,t,o] is a reduction over B*T,
// which is long (thousands of rows) while the channel counts are small (DC-VAE: tens), so a block
// per (k, c_in tile, c_out tile) alone would leave most of the GPU idle. Hybrid: the B*T rows are
// split into slices so the grid has a few hundred blocks; a block reduces its slice in registers
// over 32-row chunks staged in shared memory (x rows shifted for its tap, dy rows). With a single slice
// it adds its 32x32 result into dw directly; with several, each block stores its partial in a workspace
// [slice][K*C_in*C_out + C_out] and ConvWeightGradFinishKernel adds the slices into dw in slice order.
// (Float atomics here made dw depend on the order blocks finish: training did not repeat exactly.)
// The bias gradient sum_{b,t} dy rides along in the blocks of tap 0 / c_in tile 0, which stage those
// dy rows anyway.
//
// Large shapes (C_out >= 128, C_in >= 64, T >= 256: the measured 3x loss to cuDNN was C 256, T 1024, B 32):
// ConvTileWideKernel, the same staging with register blocking. A block owns 64 time steps x 64 output
// channels (threads 16 x 16); each thread keeps a 4 x 4 block of outputs in registers (time rows ty + 16r,
// channels tx + 16c), so each staged (tap, input channel) costs it 4 + 4 shared loads for 16 FMAs instead of
// 5 for 4. Strided rather than contiguous 4 x 4 blocks keep a warp's weight reads on 16 consecutive words
// and its input reads on two broadcast words: no bank conflicts. Below those sizes the 32 x 32 kernel stays
// (it fills the GPU better at small C and T). The wide path's speed is unmeasured on a GPU so far.
//
// Larger still (C_in and C_out >= 64, one of them >= 128, B*T >= 4096; provisional, unmeasured) all three passes
// leave these kernels for im2col + cuBLAS (dilated_conv1d_gemm.cuh; TF32 tensor cores with the `tf32` switch).
// The entry points (dilated_conv1d.cu) choose by shape; ConvPath (dilated_conv1d.h) forces one path.
#pragma once
#include "kernels/dilated_conv1d.h"
#include "kernels/launch.h"

namespace ad {

namespace conv1d_detail {
constexpr int kTile = 32;       // time steps per block and channels per block (= blockDim.x)
constexpr int kRowThreads = 8;  // blockDim.y; each thread handles kTile / kRowThreads rows
constexpr int kRowsPerThread = kTile / kRowThreads;
constexpr int kWideTile = 64;     // ConvTileWideKernel: time steps and output channels per block
constexpr int kWideThreads = 16;  // blockDim.x = blockDim.y
constexpr int kWideRegs = kWideTile / kWideThreads;  // 4 x 4 outputs per thread
}  // namespace conv1d_detail

struct ConvTileArgs {
  int64_t batch, steps, n_in, n_out, ksize, dilation;
  int64_t sign;      // -1 forward (look back), +1 backward data (look ahead)
  int64_t wi, wj;    // weight strides for the i and j roles (the k stride is C_in*C_out)
  int64_t chunk;     // input channels staged per pass
  int64_t time_tiles;
};

// Stages one input-channel chunk [i0, i0 + chunk) for a tile of `tile` time steps from t0 and `tile` output
// channels from j0 of batch row b: xs [K][tile rows][chunk] the shifted input rows (zero outside [0, T): the
// causal padding), ws [K][chunk][tile] the weight slice. The block's threads share the work; no barrier.
AD_HD inline void conv_stage_chunk(const ConvTileArgs& a, const float* in, const float* w, float* xs, float* ws,
                                   int64_t b, int64_t t0, int64_t j0, int64_t i0, int64_t tile, int tid,
                                   int nthreads) {
  const int64_t K = a.ksize, CI = a.chunk, wk = a.n_in * a.n_out;
  for (int64_t e = tid; e < K * tile * CI; e += nthreads) {
    const int64_t ci = e % CI, row = (e / CI) % tile, k = e / (CI * tile);
    const int64_t ts = t0 + row + a.sign * (K - 1 - k) * a.dilation, i = i0 + ci;
    xs[e] = (ts >= 0 && ts < a.steps && i < a.n_in) ? in[(b * a.steps + ts) * a.n_in + i] : 0.f;
  }
  for (int64_t e = tid; e < K * CI * tile; e += nthreads) {
    const int64_t jj = e % tile, ci = (e / tile) % CI, k = e / (tile * CI);
    const int64_t i = i0 + ci, j = j0 + jj;
    ws[e] = (i < a.n_in && j < a.n_out) ? w[k * wk + i * a.wi + j * a.wj] : 0.f;
  }
}

struct ConvTileKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, ConvTileArgs a, const float* in, const float* w, const float* bias, float* out) {
    using namespace conv1d_detail;
    const int tx = int(ctx.thread_idx().x), ty = int(ctx.thread_idx().y);
    const int tid = ty * kTile + tx, nthreads = kTile * kRowThreads;
    const int64_t b = int64_t(ctx.block_idx().x) / a.time_tiles;
    const int64_t t0 = (int64_t(ctx.block_idx().x) % a.time_tiles) * kTile;
    const int64_t j0 = int64_t(ctx.block_idx().y) * kTile;
    const int64_t K = a.ksize, CI = a.chunk;
    float* xs = shared_array<float>(ctx, size_t(K * kTile * CI));  // [K][kTile rows][CI]
    float* ws = shared_array<float>(ctx, size_t(K * CI * kTile));  // [K][CI][kTile out channels]
    float acc[kRowsPerThread];
    for (int r = 0; r < kRowsPerThread; ++r) acc[r] = 0.f;

    for (int64_t i0 = 0; i0 < a.n_in; i0 += CI) {
      conv_stage_chunk(a, in, w, xs, ws, b, t0, j0, i0, kTile, tid, nthreads);
      ctx.sync();
      const int64_t cn = a.n_in - i0 < CI ? a.n_in - i0 : CI;
      for (int64_t k = 0; k < K; ++k)
        for (int64_t ci = 0; ci < cn; ++ci) {
          const float wv = ws[(k * CI + ci) * kTile + tx];
          for (int r = 0; r < kRowsPerThread; ++r) acc[r] += xs[(k * kTile + ty + r * kRowThreads) * CI + ci] * wv;
        }
      ctx.sync();
    }
    const int64_t j = j0 + tx;
    if (j >= a.n_out) return;
    const float bj = bias ? bias[j] : 0.f;
    for (int r = 0; r < kRowsPerThread; ++r) {
      const int64_t t = t0 + ty + r * kRowThreads;
      if (t < a.steps) out[(b * a.steps + t) * a.n_out + j] = acc[r] + bj;
    }
  }
};

// The register-blocked variant of ConvTileKernel for large C and T (see the top of the file).
struct ConvTileWideKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, ConvTileArgs a, const float* in, const float* w, const float* bias, float* out) {
    using namespace conv1d_detail;
    constexpr int R = kWideRegs, TW = kWideTile, NT = kWideThreads;
    const int tx = int(ctx.thread_idx().x), ty = int(ctx.thread_idx().y);
    const int tid = ty * NT + tx, nthreads = NT * NT;
    const int64_t b = int64_t(ctx.block_idx().x) / a.time_tiles;
    const int64_t t0 = (int64_t(ctx.block_idx().x) % a.time_tiles) * TW;
    const int64_t j0 = int64_t(ctx.block_idx().y) * TW;
    const int64_t K = a.ksize, CI = a.chunk;
    float* xs = shared_array<float>(ctx, size_t(K * TW * CI));  // [K][TW rows][CI]
    float* ws = shared_array<float>(ctx, size_t(K * CI * TW));  // [K][CI][TW out channels]
    float acc[R][R];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < R; ++c) acc[r][c] = 0.f;

    for (int64_t i0 = 0; i0 < a.n_in; i0 += CI) {
      conv_stage_chunk(a, in, w, xs, ws, b, t0, j0, i0, TW, tid, nthreads);
      ctx.sync();
      const int64_t cn = a.n_in - i0 < CI ? a.n_in - i0 : CI;
      for (int64_t k = 0; k < K; ++k)
        for (int64_t ci = 0; ci < cn; ++ci) {
          float xv[R], wv[R];
          for (int r = 0; r < R; ++r) xv[r] = xs[(k * TW + ty + r * NT) * CI + ci];
          for (int c = 0; c < R; ++c) wv[c] = ws[(k * CI + ci) * TW + tx + c * NT];
          for (int r = 0; r < R; ++r)
            for (int c = 0; c < R; ++c) acc[r][c] += xv[r] * wv[c];
        }
      ctx.sync();
    }
    for (int c = 0; c < R; ++c) {
      const int64_t j = j0 + tx + c * NT;
      if (j >= a.n_out) continue;
      const float bj = bias ? bias[j] : 0.f;
      for (int r = 0; r < R; ++r) {
        const int64_t t = t0 + ty + r * NT;
        if (t < a.steps) out[(b * a.steps + t) * a.n_out + j] = acc[r][c] + bj;
      }
    }
  }
};

struct ConvWeightGradArgs {
  Conv1dShape s;
  int64_t rows_per_slice;  // multiple of kTile
  int64_t slices;
};

struct ConvWeightGradKernel {
  // partial: the workspace when a.slices > 1 (slice s at partial + s * (K*C_in*C_out + C_out)).
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, ConvWeightGradArgs a, const float* x, const float* dy, float* dw, float* db,
                        float* partial) {
    using namespace conv1d_detail;
    const Conv1dShape& s = a.s;
    const int tx = int(ctx.thread_idx().x), ty = int(ctx.thread_idx().y);
    const int tid = ty * kTile + tx, nthreads = kTile * kRowThreads;
    const int64_t o0 = int64_t(ctx.block_idx().x) * kTile, c0 = int64_t(ctx.block_idx().y) * kTile;
    const int64_t k = int64_t(ctx.block_idx().z) % s.ksize, slice = int64_t(ctx.block_idx().z) / s.ksize;
    const int64_t shift = (s.ksize - 1 - k) * s.dilation, rows = s.batch * s.steps;
    const int64_t n_begin = slice * a.rows_per_slice;
    const int64_t n_end = n_begin + a.rows_per_slice < rows ? n_begin + a.rows_per_slice : rows;
    const bool does_bias = db != nullptr && k == 0 && ctx.block_idx().y == 0 && ty == 0;
    float* xs = shared_array<float>(ctx, kTile * kTile);   // [row][c]
    float* dys = shared_array<float>(ctx, kTile * kTile);  // [row][o]
    float acc[kRowsPerThread], bacc = 0.f;
    for (int m = 0; m < kRowsPerThread; ++m) acc[m] = 0.f;

    for (int64_t n0 = n_begin; n0 < n_end; n0 += kTile) {
      for (int e = tid; e < kTile * kTile; e += nthreads) {
        const int64_t n = n0 + e / kTile, cc = e % kTile;
        float xv = 0.f, dv = 0.f;
        if (n < n_end) {
          const int64_t t = n % s.steps;
          if (t - shift >= 0 && c0 + cc < s.cin) xv = x[(n - shift) * s.cin + c0 + cc];  // same batch row
          if (o0 + cc < s.cout) dv = dy[n * s.cout + o0 + cc];
        }
        xs[e] = xv;
        dys[e] = dv;
      }
      ctx.sync();
      for (int r = 0; r < kTile; ++r) {
        const float dv = dys[r * kTile + tx];
        for (int m = 0; m < kRowsPerThread; ++m) acc[m] += xs[r * kTile + ty + m * kRowThreads] * dv;
        if (does_bias) bacc += dv;
      }
      ctx.sync();
    }
    const int64_t o = o0 + tx;
    if (o >= s.cout) return;
    const int64_t wsize = s.ksize * s.cin * s.cout;
    float* slice_dw = a.slices == 1 ? nullptr : partial + slice * (wsize + s.cout);
    for (int m = 0; m < kRowsPerThread; ++m) {
      const int64_t c = c0 + ty + m * kRowThreads;
      if (c >= s.cin) continue;
      const int64_t e = (k * s.cin + c) * s.cout + o;
      if (a.slices == 1) dw[e] += acc[m];
      else slice_dw[e] = acc[m];
    }
    if (does_bias) {
      if (a.slices == 1) db[o] += bacc;
      else slice_dw[wsize + o] = bacc;
    }
  }
};

// dw[e] += sum over slices of partial[slice][e], slices in order (and db from the bias column).
struct ConvWeightGradFinishKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* partial, int64_t slices, int64_t wsize, int64_t cout, float* dw,
                        float* db) {
    const int64_t e = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x;
    const int64_t stride = wsize + cout;
    if (e >= stride || (e >= wsize && !db)) return;
    float sum = 0.f;
    for (int64_t sl = 0; sl < slices; ++sl) sum += partial[sl * stride + e];
    if (e < wsize) dw[e] += sum;
    else db[e - wsize] += sum;
  }
};

// Input channels staged per pass: up to 32, fewer for large K so K * chunk * 2 * tile floats fit in 48 KiB.
inline int64_t conv_tile_chunk(int64_t ksize, int64_t tile = conv1d_detail::kTile) {
  int64_t c = (48 * 1024 / 4) / (ksize * 2 * tile);
  return c < 1 ? 1 : (c > 32 ? 32 : c);
}

// Which tile kernel a forward / backward-data pass runs (Auto: by shape, see the top of the file).
enum class ConvTilePath { Auto, Narrow, Wide };
inline bool conv_tile_wide(int64_t steps, int64_t n_in, int64_t n_out, ConvTilePath path) {
  if (path != ConvTilePath::Auto) return path == ConvTilePath::Wide;
  return n_out >= 128 && n_in >= 64 && steps >= 256;
}

template <class L>
void launch_conv_tile(L& l, int64_t batch, int64_t steps, int64_t n_in, int64_t n_out, int64_t ksize,
                      int64_t dilation, int64_t sign, int64_t wi, int64_t wj, const float* in, const float* w,
                      const float* bias, float* out, ConvTilePath path = ConvTilePath::Auto) {
  using namespace conv1d_detail;
  if (batch * steps * n_out == 0) return;
  const bool wide = conv_tile_wide(steps, n_in, n_out, path);
  const int64_t tile = wide ? kWideTile : kTile;
  const int64_t chunk = conv_tile_chunk(ksize, tile);
  const int64_t tt = (steps + tile - 1) / tile;
  ConvTileArgs a{batch, steps, n_in, n_out, ksize, dilation, sign, wi, wj, chunk, tt};
  const Dim3 grid{unsigned(tt * batch), unsigned((n_out + tile - 1) / tile)};
  const size_t shared = size_t(2 * ksize * tile * chunk) * sizeof(float) + 16;
  if (wide)
    l.template launch<ConvTileWideKernel>(LaunchConfig{grid, {unsigned(kWideThreads), unsigned(kWideThreads)}, shared},
                                          a, in, w, bias, out);
  else
    l.template launch<ConvTileKernel>(LaunchConfig{grid, {unsigned(kTile), unsigned(kRowThreads)}, shared}, a, in, w,
                                      bias, out);
}

template <class L>
void launch_dilated_conv1d_forward(L& l, const Conv1dShape& s, const float* x, const float* w, const float* bias,
                                   float* y, ConvTilePath path = ConvTilePath::Auto) {
  launch_conv_tile(l, s.batch, s.steps, s.cin, s.cout, s.ksize, s.dilation, -1, s.cout, 1, x, w, bias, y, path);
}

template <class L>
void launch_dilated_conv1d_backward_data(L& l, const Conv1dShape& s, const float* dy, const float* w, float* dx,
                                         ConvTilePath path = ConvTilePath::Auto) {
  launch_conv_tile(l, s.batch, s.steps, s.cout, s.cin, s.ksize, s.dilation, +1, 1, s.cout, dy, w, nullptr, dx, path);
}

// How finely the weight gradient slices B*T (`target_blocks` sets it).
inline ConvWeightGradArgs conv_weight_grad_plan(const Conv1dShape& s, int64_t target_blocks = 512) {
  using namespace conv1d_detail;
  const int64_t rows = s.batch * s.steps;
  const int64_t ot = (s.cout + kTile - 1) / kTile, ct = (s.cin + kTile - 1) / kTile;
  const int64_t chunks = (rows + kTile - 1) / kTile;
  int64_t slices = target_blocks / (ot * (ct < 1 ? 1 : ct) * s.ksize);
  slices = slices < 1 ? 1 : (slices > chunks ? chunks : slices);
  if (slices < 1) slices = 1;
  if (slices * s.ksize > 65535) slices = 65535 / s.ksize;
  const int64_t rows_per_slice = (chunks + slices - 1) / slices * kTile;
  slices = rows_per_slice > 0 ? (rows + rows_per_slice - 1) / rows_per_slice : 1;
  return ConvWeightGradArgs{s, rows_per_slice, slices < 1 ? 1 : slices};
}
// Floats of workspace launch_dilated_conv1d_backward_params needs (0 with a single slice).
inline int64_t conv_weight_grad_workspace(const Conv1dShape& s, int64_t target_blocks = 512) {
  const ConvWeightGradArgs a = conv_weight_grad_plan(s, target_blocks);
  return a.slices > 1 ? a.slices * (s.ksize * s.cin * s.cout + s.cout) : 0;
}

// dw (and db when not null) accumulate; `partial` holds conv_weight_grad_workspace(s, target_blocks) floats.
template <class L>
void launch_dilated_conv1d_backward_params(L& l, const Conv1dShape& s, const float* x, const float* dy, float* dw,
                                           float* db, float* partial, int64_t target_blocks = 512) {
  using namespace conv1d_detail;
  const int64_t rows = s.batch * s.steps;
  if (rows == 0 || s.cout == 0) return;
  const int64_t ot = (s.cout + kTile - 1) / kTile, ct = (s.cin + kTile - 1) / kTile;
  const ConvWeightGradArgs a = conv_weight_grad_plan(s, target_blocks);
  LaunchConfig cfg{{unsigned(ot), unsigned(ct < 1 ? 1 : ct), unsigned(s.ksize * a.slices)},
                   {unsigned(kTile), unsigned(kRowThreads)},
                   2 * kTile * kTile * sizeof(float)};
  l.template launch<ConvWeightGradKernel>(cfg, a, x, dy, dw, db, partial);
  if (a.slices == 1) return;
  const int64_t wsize = s.ksize * s.cin * s.cout;
  l.template launch<ConvWeightGradFinishKernel>(LaunchConfig{{blocks_for(wsize + s.cout, 256)}, {256}, 0},
                                                static_cast<const float*>(partial), a.slices, wsize, s.cout, dw, db);
}

}  // namespace ad
