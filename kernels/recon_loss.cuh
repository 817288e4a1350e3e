// Reconstruction-error kernels (recon_loss.h).
//
// Dense: one block per row, threads stride over the D columns; the forward reduces S_i with block_reduce,
// the backward needs no reduction (err_i comes from the forward).
//
// CSR target (sparse attributes): the dense kernels' layout (one block per row, thread t on columns
// t, t + nt, ...), with the target row rebuilt chunk by chunk (nt columns) in shared memory from the sorted
// CSR row: a chunk holds at most nt entries, so thread t places entry cursor + t when it falls in the chunk,
// and the thread holding the chunk's last entry advances the cursor. Each thread then reads its own column's
// target: the dense kernels' terms in their order (the same bits), reading pred once and no N x D target.
//
// Structure (p_ij = sigmoid(z_i . z_j) against the CSR pattern, never forming N x N), flash-attention-like:
// a block owns a tile of kRowTile rows and walks the column tiles (kColTile columns) covering the union of
// its rows' ranges. Per column tile:
//   * thread r < kRowTile, owner of row r, advances a pointer through its sorted CSR row (positioned once
//     by binary search at the row's range start) and writes the tile's hits as kColTile/32 bit words;
//   * z rows of the row tile and of the column tile are staged through shared memory in chunks of kKChunk
//     features (transposed, padded against bank conflicts); each of the 256 threads computes a 4 x 4
//     micro-tile of dot products (rows ty + 16 a, columns tx + 16 b: conflict-free shared reads);
//   * forward: masked sigmoid / target / weight into per-thread row partials of S_i; at the end the 16
//     partials of each row are summed through shared memory in a fixed order (deterministic, no atomics);
//   * backward: g_ij = (c_i + c_j) k_ij goes to shared memory and a second tile product accumulates
//     dz_i += sum_j g_ij z_j for one chunk of kOutChunk output features held in registers; grid.y splits H
//     into such chunks (the dot products are recomputed per chunk; one chunk when H <= 64).
// Rows of a tile may have different ranges (block-diagonal batches): j outside row i's own range is
// masked. Ranges are clamped to [0, N] (an inverted range counts as empty).
// Shared memory: forward 22,544 bytes, backward 35,344 bytes (below the 48 KB default limit).
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/launch.h"
#include "kernels/recon_loss.h"
#include "kernels/reduce.cuh"
#include "kernels/dispatch.h"

namespace ad {

// The weighting as the kernels see it.
struct ReconParams {
  int indicator = 0;  // 0: Linear, 1: Indicator
  float pos = 1.f, neg = 1.f;
  int take_sqrt = 1;
};

inline ReconParams recon_params(const ReconWeighting& w) {
  return ReconParams{w.kind == ReconWeighting::Indicator ? 1 : 0, float(w.pos), float(w.neg), w.take_sqrt ? 1 : 0};
}

AD_HD inline float recon_weight(const ReconParams& w, float t) {
  if (w.indicator) return t > 0.f ? w.pos : w.neg;
  float b = 1.f + (w.pos - 1.f) * t;
  return b * b;
}

// dL/dS_i from err_i and derr_i (0 for RowNorm at S_i = 0).
AD_HD inline float recon_row_coef(const ReconParams& w, float err, float derr) {
  if (!w.take_sqrt) return derr;
  return err > 0.f ? derr / (2.f * err) : 0.f;
}

AD_HD inline float recon_sigmoid(float s) { return 1.f / (1.f + expf(-s)); }

// ---- dense ----------------------------------------------------------------
struct DenseReconForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* pred, const float* target, float* err, int64_t d, ReconParams w) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    int64_t row = ctx.block_idx().x, off = row * d;
    float s = 0.f;
    for (int64_t c = t; c < d; c += nt) {
      float tg = target[off + c], e = pred[off + c] - tg;
      s += recon_weight(w, tg) * e * e;
    }
    s = block_reduce(ctx, buf, s, SumOp{});
    if (t == 0) err[row] = w.take_sqrt ? sqrtf(s) : s;
  }
};

struct DenseReconBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* pred, const float* target, const float* err, const float* derr,
                        float* dpred, int64_t d, ReconParams w) {
    unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    int64_t row = ctx.block_idx().x, off = row * d;
    float c2 = 2.f * recon_row_coef(w, err[row], derr[row]);
    for (int64_t c = t; c < d; c += nt) {
      float tg = target[off + c];
      dpred[off + c] = c2 * recon_weight(w, tg) * (pred[off + c] - tg);
    }
  }
};

inline LaunchConfig dense_recon_config(int64_t rows, int64_t d) {
  unsigned t = pow2_threads(d, 32, 256);
  return LaunchConfig{{unsigned(rows)}, {t}, t * sizeof(float)};
}

template <class L>
void launch_dense_recon_forward(L& l, const float* pred, const float* target, float* err, int64_t n, int64_t d,
                                ReconParams w) {
  l.template launch<DenseReconForwardKernel>(dense_recon_config(n, d), pred, target, err, d, w);
}
template <class L>
void launch_dense_recon_backward(L& l, const float* pred, const float* target, const float* err, const float* derr,
                                 float* dpred, int64_t n, int64_t d, ReconParams w) {
  LaunchConfig cfg = dense_recon_config(n, d);
  cfg.shared_bytes = 0;
  l.template launch<DenseReconBackwardKernel>(cfg, pred, target, err, derr, dpred, d, w);
}

// ---- CSR target ----------------------------------------------------------------
struct CsrTargetArgs {
  const int64_t* row_ptr;
  const int32_t* col;
  const float* val;
};

// One chunk [c0, c0 + nt) of the row's target: returns t_{row, c0 + thread} (0 where absent). `tgt` holds nt
// floats, `cursor` the row's first entry not yet placed (thread 0 sets it to row_ptr[row] before the first
// chunk). Two barriers: after the zeroing (which also publishes the cursor) and after the scatter; the cursor
// moves after the second, once every thread has read it.
template <class Ctx>
AD_HD inline float csr_target_chunk(Ctx& ctx, const CsrTargetArgs& a, int64_t end, int64_t c0, float* tgt,
                                    int64_t* cursor) {
  const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
  tgt[t] = 0.f;
  ctx.sync();
  const int64_t e = *cursor + t, stop = c0 + nt;
  const bool in = e < end && int64_t(a.col[e]) < stop;
  if (in) tgt[a.col[e] - c0] = a.val[e];
  const bool last = in && (e + 1 == end || int64_t(a.col[e + 1]) >= stop);
  ctx.sync();
  if (last) *cursor = e + 1;
  return tgt[t];
}

struct CsrReconForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* pred, CsrTargetArgs a, float* err, int64_t d, ReconParams w) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* buf = shared_array<float>(ctx, nt);
    float* tgt = shared_array<float>(ctx, nt);
    int64_t* cursor = shared_array<int64_t>(ctx, 1);
    const int64_t row = ctx.block_idx().x, off = row * d, end = a.row_ptr[row + 1];
    if (t == 0) *cursor = a.row_ptr[row];
    float s = 0.f;
    for (int64_t c0 = 0; c0 < d; c0 += nt) {
      const float tg = csr_target_chunk(ctx, a, end, c0, tgt, cursor);
      const int64_t c = c0 + t;
      if (c < d) {
        float e = pred[off + c] - tg;
        s += recon_weight(w, tg) * e * e;
      }
    }
    s = block_reduce(ctx, buf, s, SumOp{});
    if (t == 0) err[row] = w.take_sqrt ? sqrtf(s) : s;
  }
};

struct CsrReconBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* pred, CsrTargetArgs a, const float* err, const float* derr,
                        float* dpred, int64_t d, ReconParams w) {
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* tgt = shared_array<float>(ctx, nt);
    int64_t* cursor = shared_array<int64_t>(ctx, 1);
    const int64_t row = ctx.block_idx().x, off = row * d, end = a.row_ptr[row + 1];
    if (t == 0) *cursor = a.row_ptr[row];
    const float c2 = 2.f * recon_row_coef(w, err[row], derr[row]);
    for (int64_t c0 = 0; c0 < d; c0 += nt) {
      const float tg = csr_target_chunk(ctx, a, end, c0, tgt, cursor);
      const int64_t c = c0 + t;
      if (c < d) dpred[off + c] = c2 * recon_weight(w, tg) * (pred[off + c] - tg);
    }
  }
};

// The dense kernels' block size (the same sums); shared: buf (forward only), tgt, cursor, 16-byte aligned each.
inline LaunchConfig csr_recon_config(int64_t rows, int64_t d, bool forward) {
  LaunchConfig cfg = dense_recon_config(rows, d);
  const size_t floats = (cfg.block.x * sizeof(float) + 15) / 16 * 16;
  cfg.shared_bytes = (forward ? 2 : 1) * floats + 16;
  return cfg;
}

template <class L>
void launch_csr_recon_forward(L& l, const float* pred, const int64_t* row_ptr, const int32_t* col, const float* val,
                              float* err, int64_t n, int64_t d, ReconParams w) {
  l.template launch<CsrReconForwardKernel>(csr_recon_config(n, d, true), pred, CsrTargetArgs{row_ptr, col, val}, err,
                                           d, w);
}
template <class L>
void launch_csr_recon_backward(L& l, const float* pred, const int64_t* row_ptr, const int32_t* col, const float* val,
                               const float* err, const float* derr, float* dpred, int64_t n, int64_t d,
                               ReconParams w) {
  l.template launch<CsrReconBackwardKernel>(csr_recon_config(n, d, false), pred, CsrTargetArgs{row_ptr, col, val},
                                            err, derr, dpred, d, w);
}

// ---- structure: shared tile machinery --------------------------------------
constexpr int kRowTile = 64;                   // rows per block
constexpr int kColTile = 64;                   // columns per tile step
constexpr int kKChunk = 32;                    // features staged per step of the dot products
constexpr int kOutChunk = 64;                  // output features per block in the backward (grid.y)
constexpr unsigned kReconThreads = 256;        // 16 x 16 threads, 4 x 4 micro-tiles
constexpr int kMicro = 4;
constexpr int kTileLd = kRowTile + 1;          // padded leading dim of the transposed z chunks
constexpr int kHitWords = kColTile / 32;       // hit bits per row and tile
static_assert(kRowTile == kColTile && kRowTile == 16 * kMicro, "micro-tile layout assumes 64 x 64 tiles");

struct ReconTileArgs {
  const float* z;
  int64_t n, h;
  const int64_t* row_ptr;
  const int32_t* col;
  const int64_t* ranges;  // [n, 2] or nullptr (all of [0, n))
};

// Per-block state in shared memory and the row-owner's CSR cursor (registers of thread r < kRowTile).
struct ReconTileState {
  int64_t* lo;     // [kRowTile] row ranges (empty for rows past n)
  int64_t* hi;
  int64_t* span;   // [2] union of the ranges: [span[0], span[1])
  uint32_t* hit;   // [kRowTile * kHitWords]
  float* zi;       // [kKChunk * kTileLd]  z chunk of the row tile, transposed
  float* zj;       // [kKChunk * kTileLd]  z chunk of the column tile, transposed
  int64_t cur = 0, end = 0;  // CSR cursor of the owned row
};

template <class Ctx> AD_HD inline void recon_tile_alloc(Ctx& ctx, ReconTileState& s) {
  s.lo = shared_array<int64_t>(ctx, kRowTile);
  s.hi = shared_array<int64_t>(ctx, kRowTile);
  s.span = shared_array<int64_t>(ctx, 2);
  s.hit = shared_array<uint32_t>(ctx, kRowTile * kHitWords);
  s.zi = shared_array<float>(ctx, 2 * kKChunk * kTileLd);
  s.zj = s.zi + kKChunk * kTileLd;
}
constexpr size_t recon_tile_shared_bytes() {
  return (kRowTile * 8 + 15) / 16 * 16 * 2 + 16 + (kRowTile * kHitWords * 4 + 15) / 16 * 16 +
         (2 * kKChunk * kTileLd * 4 + 15) / 16 * 16;
}

// Ranges, their union and the CSR cursors. Ends with a barrier.
template <class Ctx> AD_HD inline void recon_tile_begin(Ctx& ctx, const ReconTileArgs& a, int64_t row0, ReconTileState& s) {
  unsigned t = ctx.thread_idx().x;
  if (t < unsigned(kRowTile)) {
    int64_t i = row0 + t, lo = 0, hi = 0;
    if (i < a.n) {
      lo = a.ranges ? a.ranges[2 * i] : 0;
      hi = a.ranges ? a.ranges[2 * i + 1] : a.n;
      lo = lo < 0 ? 0 : (lo > a.n ? a.n : lo);
      hi = hi < lo ? lo : (hi > a.n ? a.n : hi);
      // Cursor: first CSR entry of row i with column >= lo (binary search; columns sorted).
      int64_t b = a.row_ptr[i], e = a.row_ptr[i + 1];
      while (b < e) {
        int64_t m = b + (e - b) / 2;
        if (int64_t(a.col[m]) < lo) b = m + 1;
        else e = m;
      }
      s.cur = b;
      s.end = a.row_ptr[i + 1];
    }
    s.lo[t] = lo;
    s.hi[t] = hi;
  }
  ctx.sync();
  if (t == 0) {
    int64_t mn = a.n, mx = 0;
    for (int r = 0; r < kRowTile; ++r)
      if (s.lo[r] < s.hi[r]) {
        mn = s.lo[r] < mn ? s.lo[r] : mn;
        mx = s.hi[r] > mx ? s.hi[r] : mx;
      }
    s.span[0] = mn;
    s.span[1] = mx;
  }
  ctx.sync();
}

// Hit bits of the column tile [j0, j0 + kColTile) and the dot products acc[a][b] = z_i . z_j for
// i = row0 + ty + 16 a, j = j0 + tx + 16 b. Starts after a barrier that follows every read of the
// previous tile's hit bits and shared z chunks; ends with the hit bits visible (after a barrier).
template <class Ctx>
AD_HD inline void recon_tile_dots(Ctx& ctx, const ReconTileArgs& a, int64_t row0, int64_t j0, ReconTileState& s,
                                  float acc[kMicro][kMicro]) {
  unsigned t = ctx.thread_idx().x, tx = t % 16, ty = t / 16;
  if (t < unsigned(kRowTile)) {
    uint32_t w[kHitWords];
    for (int q = 0; q < kHitWords; ++q) w[q] = 0u;
    int64_t stop = j0 + kColTile < s.hi[t] ? j0 + kColTile : s.hi[t];
    while (s.cur < s.end && int64_t(a.col[s.cur]) < stop) {
      int64_t c = int64_t(a.col[s.cur]) - j0;  // >= 0: the cursor never falls behind the tile
      w[c / 32] |= 1u << (c % 32);
      ++s.cur;
    }
    for (int q = 0; q < kHitWords; ++q) s.hit[t * kHitWords + q] = w[q];
  }
  for (int p = 0; p < kMicro; ++p)
    for (int q = 0; q < kMicro; ++q) acc[p][q] = 0.f;
  for (int64_t k0 = 0; k0 < a.h; k0 += kKChunk) {
    // Stage: element e -> (row m, feature k); consecutive threads read consecutive features.
    for (unsigned e = t; e < unsigned(kRowTile * kKChunk); e += kReconThreads) {
      int m = int(e / kKChunk), k = int(e % kKChunk);
      int64_t kk = k0 + k, i = row0 + m, j = j0 + m;
      s.zi[k * kTileLd + m] = (i < a.n && kk < a.h) ? a.z[i * a.h + kk] : 0.f;
      s.zj[k * kTileLd + m] = (j < a.n && kk < a.h) ? a.z[j * a.h + kk] : 0.f;
    }
    ctx.sync();
    int kn = a.h - k0 < kKChunk ? int(a.h - k0) : kKChunk;
    for (int k = 0; k < kn; ++k) {
      float zr[kMicro], zc[kMicro];
      for (int p = 0; p < kMicro; ++p) zr[p] = s.zi[k * kTileLd + ty + 16 * p];
      for (int q = 0; q < kMicro; ++q) zc[q] = s.zj[k * kTileLd + tx + 16 * q];
      for (int p = 0; p < kMicro; ++p)
        for (int q = 0; q < kMicro; ++q) acc[p][q] += zr[p] * zc[q];
    }
    ctx.sync();
  }
  if (a.h == 0) ctx.sync();  // the hit bits must be visible either way
}

AD_HD inline bool recon_hit(const ReconTileState& s, int r, int c) {
  return (s.hit[r * kHitWords + c / 32] >> (c % 32)) & 1u;
}

// ---- structure forward -------------------------------------------------------
struct StructureReconForwardKernel {
  template <class Ctx> AD_HD static void run(Ctx& ctx, ReconTileArgs a, ReconParams w, float* err) {
    ReconTileState s;
    recon_tile_alloc(ctx, s);
    float* red = shared_array<float>(ctx, kRowTile * 17);
    unsigned t = ctx.thread_idx().x, tx = t % 16, ty = t / 16;
    int64_t row0 = int64_t(ctx.block_idx().x) * kRowTile;
    recon_tile_begin(ctx, a, row0, s);
    float part[kMicro];
    for (int p = 0; p < kMicro; ++p) part[p] = 0.f;
    int64_t jb = s.span[0], je = s.span[1];
    for (int64_t j0 = jb; j0 < je; j0 += kColTile) {
      float acc[kMicro][kMicro];
      recon_tile_dots(ctx, a, row0, j0, s, acc);
      for (int p = 0; p < kMicro; ++p) {
        int r = ty + 16 * p;
        int64_t lo = s.lo[r], hi = s.hi[r];
        for (int q = 0; q < kMicro; ++q) {
          int c = tx + 16 * q;
          int64_t j = j0 + c;
          if (j < lo || j >= hi) continue;
          float tg = recon_hit(s, r, c) ? 1.f : 0.f;
          float e = recon_sigmoid(acc[p][q]) - tg;
          part[p] += recon_weight(w, tg) * e * e;
        }
      }
      ctx.sync();  // hit bits are rewritten by the next tile
    }
    for (int p = 0; p < kMicro; ++p) red[(ty + 16 * p) * 17 + tx] = part[p];
    ctx.sync();
    if (t < unsigned(kRowTile) && row0 + t < a.n) {
      float sum = 0.f;
      for (int q = 0; q < 16; ++q) sum += red[t * 17 + q];
      err[row0 + t] = w.take_sqrt ? sqrtf(sum) : sum;
    }
  }
};

// ---- structure backward --------------------------------------------------------
// c_i = dL/dS_i.
struct ReconRowCoefKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* err, const float* derr, float* coef, int64_t n, ReconParams w) {
    int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x;
    if (i < n) coef[i] = recon_row_coef(w, err[i], derr[i]);
  }
};

struct StructureReconBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, ReconTileArgs a, ReconParams w, const float* coef, float* dz) {
    ReconTileState s;
    recon_tile_alloc(ctx, s);
    float* g = shared_array<float>(ctx, kRowTile * kTileLd);  // g[r][c] = (c_i + c_j) k_ij
    float* ci = shared_array<float>(ctx, kRowTile);
    float* cj = shared_array<float>(ctx, kColTile);
    // z of the column tile for this block's output features [h0, h0 + kOutChunk): zo[c][f], aliasing the
    // staging buffers (used only between the dot products of consecutive tiles).
    float* zo = s.zi;
    static_assert(kColTile * (kOutChunk + 1) <= 2 * kKChunk * kTileLd, "zo must fit the staging buffers");
    constexpr int kOutLd = kOutChunk + 1;
    unsigned t = ctx.thread_idx().x, tx = t % 16, ty = t / 16;
    int64_t row0 = int64_t(ctx.block_idx().x) * kRowTile, h0 = int64_t(ctx.block_idx().y) * kOutChunk;
    recon_tile_begin(ctx, a, row0, s);
    if (t < unsigned(kRowTile)) ci[t] = row0 + t < a.n ? coef[row0 + t] : 0.f;
    float out[kMicro][kMicro];
    for (int p = 0; p < kMicro; ++p)
      for (int q = 0; q < kMicro; ++q) out[p][q] = 0.f;
    int64_t jb = s.span[0], je = s.span[1];
    for (int64_t j0 = jb; j0 < je; j0 += kColTile) {
      if (t < unsigned(kColTile)) cj[t] = j0 + t < a.n ? coef[j0 + t] : 0.f;
      float acc[kMicro][kMicro];
      recon_tile_dots(ctx, a, row0, j0, s, acc);  // its barriers also publish ci, cj
      for (int p = 0; p < kMicro; ++p) {
        int r = ty + 16 * p;
        int64_t lo = s.lo[r], hi = s.hi[r];
        for (int q = 0; q < kMicro; ++q) {
          int c = tx + 16 * q;
          int64_t j = j0 + c;
          float v = 0.f;
          if (j >= lo && j < hi) {
            float tg = recon_hit(s, r, c) ? 1.f : 0.f;
            float pr = recon_sigmoid(acc[p][q]);
            v = (ci[r] + cj[c]) * 2.f * recon_weight(w, tg) * (pr - tg) * pr * (1.f - pr);
          }
          g[r * kTileLd + c] = v;
        }
      }
      for (unsigned e = t; e < unsigned(kColTile * kOutChunk); e += kReconThreads) {
        int c = int(e / kOutChunk), f = int(e % kOutChunk);
        int64_t j = j0 + c, ff = h0 + f;
        zo[c * kOutLd + f] = (j < a.n && ff < a.h) ? a.z[j * a.h + ff] : 0.f;
      }
      ctx.sync();
      for (int c = 0; c < kColTile; ++c) {
        float gr[kMicro], zc[kMicro];
        for (int p = 0; p < kMicro; ++p) gr[p] = g[(ty + 16 * p) * kTileLd + c];
        for (int q = 0; q < kMicro; ++q) zc[q] = zo[c * kOutLd + tx + 16 * q];
        for (int p = 0; p < kMicro; ++p)
          for (int q = 0; q < kMicro; ++q) out[p][q] += gr[p] * zc[q];
      }
      ctx.sync();  // g, zo, hit bits and cj are rewritten by the next tile
    }
    for (int p = 0; p < kMicro; ++p) {
      int64_t i = row0 + ty + 16 * p;
      if (i >= a.n) continue;
      for (int q = 0; q < kMicro; ++q) {
        int64_t f = h0 + tx + 16 * q;
        if (f < a.h) dz[i * a.h + f] = out[p][q];
      }
    }
  }
};

constexpr size_t structure_recon_forward_shared_bytes() {
  return recon_tile_shared_bytes() + (kRowTile * 17 * 4 + 15) / 16 * 16;
}
constexpr size_t structure_recon_backward_shared_bytes() {
  return recon_tile_shared_bytes() + (kRowTile * kTileLd * 4 + 15) / 16 * 16 + (kRowTile * 4 + 15) / 16 * 16 +
         (kColTile * 4 + 15) / 16 * 16;
}
static_assert(structure_recon_backward_shared_bytes() <= 48 * 1024, "structure backward shared memory > 48 KB");

template <class L>
void launch_structure_recon_forward(L& l, const float* z, int64_t n, int64_t h, const int64_t* row_ptr,
                                    const int32_t* col, const int64_t* ranges, ReconParams w, float* err) {
  ReconTileArgs a{z, n, h, row_ptr, col, ranges};
  LaunchConfig cfg{{blocks_for(n, kRowTile)}, {kReconThreads}, structure_recon_forward_shared_bytes()};
  l.template launch<StructureReconForwardKernel>(cfg, a, w, err);
}

// `coef` is a workspace of n floats.
template <class L>
void launch_structure_recon_backward(L& l, const float* z, int64_t n, int64_t h, const int64_t* row_ptr,
                                     const int32_t* col, const int64_t* ranges, ReconParams w, const float* err,
                                     const float* derr, float* coef, float* dz) {
  l.template launch<ReconRowCoefKernel>(LaunchConfig{{blocks_for(n, 256)}, {256}, 0}, err, derr, coef, n, w);
  ReconTileArgs a{z, n, h, row_ptr, col, ranges};
  LaunchConfig cfg{{blocks_for(n, kRowTile), blocks_for(h, kOutChunk)}, {kReconThreads},
                   structure_recon_backward_shared_bytes()};
  l.template launch<StructureReconBackwardKernel>(cfg, a, w, static_cast<const float*>(coef), dz);
}

AD_DEVICE_BACKENDS(
void dense_recon_error_forward(const float* pred, const float* target, float* err, int64_t n, int64_t d,
                               ReconParams w);
void dense_recon_error_backward(const float* pred, const float* target, const float* err, const float* derr,
                                float* dpred, int64_t n, int64_t d, ReconParams w);
void csr_recon_error_forward(const float* pred, const int64_t* row_ptr, const int32_t* col, const float* val,
                             float* err, int64_t n, int64_t d, ReconParams w);
void csr_recon_error_backward(const float* pred, const int64_t* row_ptr, const int32_t* col, const float* val,
                              const float* err, const float* derr, float* dpred, int64_t n, int64_t d,
                              ReconParams w);
void structure_recon_error_forward(const float* z, int64_t n, int64_t h, const int64_t* row_ptr, const int32_t* col,
                                   const int64_t* ranges, ReconParams w, float* err);
void structure_recon_error_backward(const float* z, int64_t n, int64_t h, const int64_t* row_ptr, const int32_t* col,
                                    const int64_t* ranges, ReconParams w, const float* err, const float* derr,
                                    float* dz);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
