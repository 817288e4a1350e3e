// Centre-distance kernels (see centre_distance.h for the maths and the layout).
//
// Forward: one thread per output (b, k, h) loops over the D dimensions; D is small (tens to hundreds) and
// B*K*H large, so this keeps every thread busy without a reduction tree.
// Backward: one thread per gradient element. dz[b,h,d] sums over the K centres and dc[k,h,d] over the B
// items in index order inside one thread, so the result does not depend on scheduling and no float atomics
// are needed. Half-cosine first writes three per-pair coefficients (pass 1), because its gradient needs the
// pair's dot product and both norms, which would otherwise be recomputed D times:
//   dz[b,h,:] = sum_k alpha[b,k,h] c[k,h,:] + beta[b,k,h] z[b,h,:]
//   dc[k,h,:] = sum_b alpha[b,k,h] z[b,h,:] + gamma[b,k,h] c[k,h,:]
// Squared Euclidean needs no pass 1: its gradient is 2 g (z - c), formed as a difference (no cancellation).
#pragma once
#include <cmath>

#include "kernels/activation.cuh"  // pointwise_config
#include "kernels/centre_distance.h"
#include "kernels/launch.h"

namespace ad {

// z.c, |z|^2 and |c|^2 of one (item, centre, head) pair, in index order.
struct PairStats {
  float dot = 0.f, zz = 0.f, cc = 0.f;
};
AD_HD inline PairStats pair_stats(const float* zr, const float* cr, int64_t D) {
  PairStats p;
  for (int64_t d = 0; d < D; ++d) {
    p.dot += zr[d] * cr[d];
    p.zz += zr[d] * zr[d];
    p.cc += cr[d] * cr[d];
  }
  return p;
}

struct CentreDistanceForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, CentreDistance kind, const float* z, const float* c, float* out, int64_t B,
                        int64_t K, int64_t H, int64_t D) {
    const int64_t n = B * K * H;
    const int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride) {
      const int64_t h = i % H, k = (i / H) % K, b = i / (H * K);
      const float* zr = z + (b * H + h) * D;
      const float* cr = c + (k * H + h) * D;
      if (kind == CentreDistance::SquaredEuclidean) {
        float s = 0.f;
        for (int64_t d = 0; d < D; ++d) {
          const float diff = zr[d] - cr[d];
          s += diff * diff;
        }
        out[i] = s;
      } else {
        const PairStats p = pair_stats(zr, cr, D);
        const float eps = float(kCosineEps);
        const float nz = fmaxf(sqrtf(p.zz), eps), nc = fmaxf(sqrtf(p.cc), eps);
        out[i] = 0.5f * (1.f - p.dot / (nz * nc));
      }
    }
  }
};

// Pass 1 of the half-cosine backward: coef = [alpha | beta | gamma], each [B, K, H].
struct HalfCosinePairCoefKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* z, const float* c, const float* dout, float* coef, int64_t B,
                        int64_t K, int64_t H, int64_t D) {
    const int64_t n = B * K * H;
    const int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride) {
      const int64_t h = i % H, k = (i / H) % K, b = i / (H * K);
      const float* zr = z + (b * H + h) * D;
      const float* cr = c + (k * H + h) * D;
      const PairStats p = pair_stats(zr, cr, D);
      const float dot = p.dot, eps = float(kCosineEps);
      const float lz = sqrtf(p.zz), lc = sqrtf(p.cc);
      const float nz = fmaxf(lz, eps), nc = fmaxf(lc, eps);
      const float g = dout[i];
      // out = (1 - dot / (nz nc)) / 2; the norm terms vanish where the norm is clamped.
      coef[i] = -0.5f * g / (nz * nc);
      coef[n + i] = lz > eps ? 0.5f * g * dot / (nz * nz * nz * nc) : 0.f;
      coef[2 * n + i] = lc > eps ? 0.5f * g * dot / (nc * nc * nc * nz) : 0.f;
    }
  }
};

// One gradient, dz or dc: one thread per element of the side it writes ("own": z [B, H, D] or c [K, H, D]),
// summing over the other side ("other": the K centres or the B items) in index order. The two gradients are
// mirror images: 2 g (own - other) for SquaredEuclidean; alpha * other + (beta for z, gamma for c) * own for
// HalfCosine (coef is unused for SquaredEuclidean).
struct CentreDistanceGradKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, CentreDistance kind, bool centre_side, const float* z, const float* c,
                        const float* dout, const float* coef, float* grad, int64_t B, int64_t K, int64_t H,
                        int64_t D) {
    const float* own = centre_side ? c : z;
    const float* other = centre_side ? z : c;
    const int64_t own_rows = centre_side ? K : B, other_rows = centre_side ? B : K;
    const int64_t n = own_rows * H * D, pairs = B * K * H;
    const float* own_coef = coef ? coef + (centre_side ? 2 : 1) * pairs : nullptr;
    const int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride) {
      const int64_t d = i % D, h = (i / D) % H, m = i / (D * H);
      const float ov = own[i];
      float s = 0.f;
      for (int64_t l = 0; l < other_rows; ++l) {
        const int64_t p = (centre_side ? l * K + m : m * K + l) * H + h;  // pair (item, centre, head)
        const float xv = other[(l * H + h) * D + d];
        if (kind == CentreDistance::SquaredEuclidean)
          s += 2.f * dout[p] * (ov - xv);
        else
          s += coef[p] * xv + own_coef[p] * ov;
      }
      grad[i] = s;
    }
  }
};

template <class L>
void launch_centre_distance_forward(L& l, CentreDistance kind, const float* z, const float* c, float* out, int64_t B,
                                    int64_t K, int64_t H, int64_t D) {
  const int64_t n = B * K * H;
  if (n == 0) return;
  l.template launch<CentreDistanceForwardKernel>(pointwise_config(n), kind, z, c, out, B, K, H, D);
}

// coef: workspace of 3 * B * K * H floats (only used by HalfCosine; may be null for SquaredEuclidean).
template <class L>
void launch_centre_distance_backward(L& l, CentreDistance kind, const float* z, const float* c, const float* dout,
                                     float* coef, float* dz, float* dc, int64_t B, int64_t K, int64_t H, int64_t D) {
  const int64_t pairs = B * K * H;
  if (kind == CentreDistance::HalfCosine && pairs > 0)
    l.template launch<HalfCosinePairCoefKernel>(pointwise_config(pairs), z, c, dout, coef, B, K, H, D);
  const float* used_coef = kind == CentreDistance::HalfCosine ? coef : nullptr;
  if (B * H * D > 0)
    l.template launch<CentreDistanceGradKernel>(pointwise_config(B * H * D), kind, false, z, c, dout, used_coef, dz,
                                                B, K, H, D);
  if (K * H * D > 0)
    l.template launch<CentreDistanceGradKernel>(pointwise_config(K * H * D), kind, true, z, c, dout, used_coef, dc,
                                                B, K, H, D);
}

}  // namespace ad
