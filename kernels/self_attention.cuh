// Fused structured self-attention kernels (see self_attention.h for the maths): one block per window.
//
// Forward: the window's tokens H[b] (T x D) go to shared memory once; U = tanh(H W1^T + b1) is computed
// into shared memory (and to global memory for backward), each thread owning one attention unit for up to
// kTimeTile tokens at a time so that one read of a W1 row serves kTimeTile tokens; then the K x T head logits,
// the softmax over time (one thread per head: T is a window length, tens of tokens) and M = attn H.
// Backward: the same window in shared memory, dA = dM H^T, dS through the softmax, dZ = (dS W2) (1 - U^2)
// (written over U in shared memory), and dH = attn^T dM + dZ W1. The parameter gradients are reductions
// over all B x T rows; the launchers leave them to GEMMs and column sums (self_attention.cu), which
// reduce in a fixed order without atomics.
//
// Shared memory per block: T*D + T*A + K*T floats forward, T*D + T*A + 2*K*T + K*D backward
// (GLEAD: 36 KiB and 37 KiB). self_attention_shared_bytes() says how much; callers check it fits.
#pragma once
#include <cmath>

#include "kernels/launch.h"
#include "kernels/self_attention.h"

namespace ad {

inline constexpr int kSelfAttentionTimeTile = 8;
inline constexpr unsigned kSelfAttentionThreads = 256;

struct SelfAttentionForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* H, const float* W1, const float* b1, const float* W2, const float* b2,
                        float* U, float* attn, float* M, int T, int D, int A, int K) {
    float* hs = shared_array<float>(ctx, size_t(T) * D);
    float* us = shared_array<float>(ctx, size_t(T) * A);
    float* ss = shared_array<float>(ctx, size_t(K) * T);
    const int tid = int(ctx.thread_idx().x), nt = int(ctx.block_dim().x);
    const int64_t b = ctx.block_idx().x;
    const float* Hb = H + b * T * D;
    for (int i = tid; i < T * D; i += nt) hs[i] = Hb[i];
    ctx.sync();

    // U: item = (time tile, attention unit); neighbouring threads take neighbouring units.
    const int tiles = (T + kSelfAttentionTimeTile - 1) / kSelfAttentionTimeTile;
    for (int item = tid; item < tiles * A; item += nt) {
      const int a = item % A, t0 = (item / A) * kSelfAttentionTimeTile;
      const int nt_tile = T - t0 < kSelfAttentionTimeTile ? T - t0 : kSelfAttentionTimeTile;
      float acc[kSelfAttentionTimeTile];
      for (int j = 0; j < kSelfAttentionTimeTile; ++j) acc[j] = 0.f;
      const float* w = W1 + int64_t(a) * D;
      for (int d = 0; d < D; ++d) {
        const float wd = w[d];
        for (int j = 0; j < kSelfAttentionTimeTile; ++j)
          if (j < nt_tile) acc[j] += hs[(t0 + j) * D + d] * wd;
      }
      for (int j = 0; j < nt_tile; ++j) {
        const float u = tanhf(acc[j] + b1[a]);
        us[(t0 + j) * A + a] = u;
        if (U) U[(b * T + t0 + j) * A + a] = u;
      }
    }
    ctx.sync();

    // Head logits, stored head-major so the softmax reads a row.
    for (int item = tid; item < T * K; item += nt) {
      const int t = item / K, k = item % K;
      const float* w = W2 + int64_t(k) * A;
      const float* u = us + t * A;
      float s = b2[k];
      for (int a = 0; a < A; ++a) s += u[a] * w[a];
      ss[k * T + t] = s;
    }
    ctx.sync();

    for (int k = tid; k < K; k += nt) {
      float* row = ss + k * T;
      float m = row[0];
      for (int t = 1; t < T; ++t) m = row[t] > m ? row[t] : m;
      float sum = 0.f;
      for (int t = 0; t < T; ++t) {
        row[t] = expf(row[t] - m);
        sum += row[t];
      }
      const float inv = 1.f / sum;
      for (int t = 0; t < T; ++t) {
        row[t] *= inv;
        attn[(b * K + k) * T + t] = row[t];
      }
    }
    ctx.sync();

    for (int item = tid; item < K * D; item += nt) {
      const int k = item / D, d = item % D;
      float m = 0.f;
      for (int t = 0; t < T; ++t) m += ss[k * T + t] * hs[t * D + d];
      M[(b * K + k) * D + d] = m;
    }
  }
};

struct SelfAttentionBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* H, const float* W1, const float* W2, const float* U, const float* attn,
                        const float* dM, float* dH, float* dZ, float* dS, int T, int D, int A, int K) {
    float* hs = shared_array<float>(ctx, size_t(T) * D);
    float* zs = shared_array<float>(ctx, size_t(T) * A);  // U, then dZ in place
    float* as = shared_array<float>(ctx, size_t(K) * T);
    float* ds = shared_array<float>(ctx, size_t(K) * T);  // dA, then dS in place
    float* dms = shared_array<float>(ctx, size_t(K) * D);
    const int tid = int(ctx.thread_idx().x), nt = int(ctx.block_dim().x);
    const int64_t b = ctx.block_idx().x;
    for (int i = tid; i < T * D; i += nt) hs[i] = H[b * T * D + i];
    for (int i = tid; i < T * A; i += nt) zs[i] = U[b * T * A + i];
    for (int i = tid; i < K * T; i += nt) as[i] = attn[b * K * T + i];
    for (int i = tid; i < K * D; i += nt) dms[i] = dM[b * K * D + i];
    ctx.sync();

    for (int item = tid; item < K * T; item += nt) {  // dA[k, t] = dM[k] . H[t]
      const int k = item / T, t = item % T;
      float s = 0.f;
      for (int d = 0; d < D; ++d) s += dms[k * D + d] * hs[t * D + d];
      ds[item] = s;
    }
    ctx.sync();

    for (int k = tid; k < K; k += nt) {  // softmax backward along time, one head per thread
      float dot = 0.f;
      for (int t = 0; t < T; ++t) dot += as[k * T + t] * ds[k * T + t];
      for (int t = 0; t < T; ++t) {
        const float g = as[k * T + t] * (ds[k * T + t] - dot);
        ds[k * T + t] = g;
        dS[(b * T + t) * K + k] = g;
      }
    }
    ctx.sync();

    for (int item = tid; item < T * A; item += nt) {  // dZ = (dS W2) (1 - U^2)
      const int t = item / A, a = item % A;
      float du = 0.f;
      for (int k = 0; k < K; ++k) du += ds[k * T + t] * W2[int64_t(k) * A + a];
      const float u = zs[item];
      const float dz = du * (1.f - u * u);
      zs[item] = dz;
      dZ[b * T * A + item] = dz;
    }
    ctx.sync();

    // dH = attn^T dM + dZ W1; item = (time tile, hidden column) so a W1 element serves kTimeTile tokens and
    // neighbouring threads read neighbouring W1 columns.
    const int tiles = (T + kSelfAttentionTimeTile - 1) / kSelfAttentionTimeTile;
    for (int item = tid; item < tiles * D; item += nt) {
      const int d = item % D, t0 = (item / D) * kSelfAttentionTimeTile;
      const int nt_tile = T - t0 < kSelfAttentionTimeTile ? T - t0 : kSelfAttentionTimeTile;
      float acc[kSelfAttentionTimeTile];
      for (int j = 0; j < kSelfAttentionTimeTile; ++j) {
        float s = 0.f;
        if (j < nt_tile)
          for (int k = 0; k < K; ++k) s += as[k * T + t0 + j] * dms[k * D + d];
        acc[j] = s;
      }
      for (int a = 0; a < A; ++a) {
        const float w = W1[int64_t(a) * D + d];
        for (int j = 0; j < kSelfAttentionTimeTile; ++j)
          if (j < nt_tile) acc[j] += zs[(t0 + j) * A + a] * w;
      }
      for (int j = 0; j < nt_tile; ++j) dH[(b * T + t0 + j) * D + d] = acc[j];
    }
  }
};

inline size_t self_attention_round16(size_t floats) { return (floats * sizeof(float) + 15) / 16 * 16; }

inline size_t self_attention_shared_bytes(const SelfAttentionDims& n, bool backward) {
  const size_t T = size_t(n.time), D = size_t(n.hidden), A = size_t(n.attention), K = size_t(n.heads);
  size_t bytes = self_attention_round16(T * D) + self_attention_round16(T * A) + self_attention_round16(K * T);
  if (backward) bytes += self_attention_round16(K * T) + self_attention_round16(K * D);
  return bytes;
}

inline LaunchConfig self_attention_config(const SelfAttentionDims& n, bool backward) {
  return LaunchConfig{{unsigned(n.batch)}, {kSelfAttentionThreads}, self_attention_shared_bytes(n, backward)};
}

template <class L>
void launch_self_attention_forward(L& l, const SelfAttentionDims& n, const float* H, const float* W1, const float* b1,
                                   const float* W2, const float* b2, float* U, float* attn, float* M) {
  l.template launch<SelfAttentionForwardKernel>(self_attention_config(n, false), H, W1, b1, W2, b2, U, attn, M,
                                                int(n.time), int(n.hidden), int(n.attention), int(n.heads));
}

// The per-window part of backward: dH, dZ [B, T, A] and dS [B, T, K] (the parameter reductions follow).
template <class L>
void launch_self_attention_backward(L& l, const SelfAttentionDims& n, const float* H, const float* W1,
                                    const float* W2, const float* U, const float* attn, const float* dM, float* dH,
                                    float* dZ, float* dS) {
  l.template launch<SelfAttentionBackwardKernel>(self_attention_config(n, true), H, W1, W2, U, attn, dM, dH, dZ, dS,
                                                 int(n.time), int(n.hidden), int(n.attention), int(n.heads));
}

}  // namespace ad
