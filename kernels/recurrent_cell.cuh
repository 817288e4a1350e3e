// Recurrent cell kernels (see recurrent_cell.h): one thread per (batch row, hidden unit), grid-stride.
// Each thread reads its unit's G gate pre-activations (strided by Hd inside the row, so neighbouring threads
// read neighbouring addresses) and writes its own outputs only: no shared memory, no reductions. The
// in-place updates (dc, dh_rec) read and write the same element from the same thread.
#pragma once
#include <cmath>

#include "kernels/activation.cuh"  // pointwise_config
#include "kernels/launch.h"
#include "kernels/recurrent_cell.h"

namespace ad {

AD_HD inline float cell_sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

struct RecurrentCellForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, RecurrentCell cell, const float* gx, const float* gh, const float* b_ih,
                        const float* b_hh, const float* h_prev, const float* c_prev, float* h, float* c,
                        float* saved, int64_t B, int64_t Hd) {
    const int64_t n = B * Hd;
    const int64_t G = cell == RecurrentCell::LSTM ? 4 : 3;
    const int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride) {
      const int64_t b = i / Hd, j = i % Hd;
      const float* gxr = gx ? gx + b * G * Hd : nullptr;
      const float* ghr = gh + b * G * Hd;
      float* s = saved + b * 4 * Hd;
      auto pre_x = [&](int64_t g) { return (gxr ? gxr[g * Hd + j] : 0.f) + b_ih[g * Hd + j]; };
      auto pre_h = [&](int64_t g) { return ghr[g * Hd + j] + b_hh[g * Hd + j]; };
      if (cell == RecurrentCell::LSTM) {
        const float ig = cell_sigmoid(pre_x(0) + pre_h(0));
        const float fg = cell_sigmoid(pre_x(1) + pre_h(1));
        const float gg = tanhf(pre_x(2) + pre_h(2));
        const float og = cell_sigmoid(pre_x(3) + pre_h(3));
        const float cv = fg * c_prev[i] + ig * gg;
        c[i] = cv;
        h[i] = og * tanhf(cv);
        s[j] = ig;
        s[Hd + j] = fg;
        s[2 * Hd + j] = gg;
        s[3 * Hd + j] = og;
      } else {
        const float r = cell_sigmoid(pre_x(0) + pre_h(0));
        const float z = cell_sigmoid(pre_x(1) + pre_h(1));
        const float hn = pre_h(2);
        const float nv = tanhf(pre_x(2) + r * hn);
        h[i] = (1.f - z) * nv + z * h_prev[i];
        s[j] = r;
        s[Hd + j] = z;
        s[2 * Hd + j] = nv;
        s[3 * Hd + j] = hn;
      }
    }
  }
};

struct RecurrentCellBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, RecurrentCell cell, const float* saved, const float* h_prev, const float* c_prev,
                        const float* c, const float* dout, float* dh_rec, float* dc, float* dgx, float* dgh,
                        int64_t B, int64_t Hd) {
    const int64_t n = B * Hd;
    const int64_t G = cell == RecurrentCell::LSTM ? 4 : 3;
    const int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride) {
      const int64_t b = i / Hd, j = i % Hd;
      const float* s = saved + b * 4 * Hd;
      float* dx = dgx + b * G * Hd;
      const float dh = (dout ? dout[i] : 0.f) + dh_rec[i];
      if (cell == RecurrentCell::LSTM) {
        const float ig = s[j], fg = s[Hd + j], gg = s[2 * Hd + j], og = s[3 * Hd + j];
        const float tc = tanhf(c[i]);
        const float dcv = dc[i] + dh * og * (1.f - tc * tc);
        dx[j] = dcv * gg * ig * (1.f - ig);
        dx[Hd + j] = dcv * c_prev[i] * fg * (1.f - fg);
        dx[2 * Hd + j] = dcv * ig * (1.f - gg * gg);
        dx[3 * Hd + j] = dh * tc * og * (1.f - og);
        dc[i] = dcv * fg;
      } else {
        const float r = s[j], z = s[Hd + j], nv = s[2 * Hd + j], hn = s[3 * Hd + j];
        float* dhh = dgh + b * G * Hd;
        const float dn_pre = dh * (1.f - z) * (1.f - nv * nv);
        const float dr_pre = dn_pre * hn * r * (1.f - r);
        const float dz_pre = dh * (h_prev[i] - nv) * z * (1.f - z);
        dx[j] = dhh[j] = dr_pre;
        dx[Hd + j] = dhh[Hd + j] = dz_pre;
        dx[2 * Hd + j] = dn_pre;
        dhh[2 * Hd + j] = dn_pre * r;
        dh_rec[i] = dh * z;
      }
    }
  }
};

template <class L>
void launch_recurrent_cell_forward(L& l, RecurrentCell cell, const float* gx, const float* gh, const float* b_ih,
                                   const float* b_hh, const float* h_prev, const float* c_prev, float* h, float* c,
                                   float* saved, int64_t B, int64_t Hd) {
  if (B * Hd == 0) return;
  l.template launch<RecurrentCellForwardKernel>(pointwise_config(B * Hd), cell, gx, gh, b_ih, b_hh, h_prev, c_prev,
                                                h, c, saved, B, Hd);
}

template <class L>
void launch_recurrent_cell_backward(L& l, RecurrentCell cell, const float* saved, const float* h_prev,
                                    const float* c_prev, const float* c, const float* dout, float* dh_rec, float* dc,
                                    float* dgx, float* dgh, int64_t B, int64_t Hd) {
  if (B * Hd == 0) return;
  l.template launch<RecurrentCellBackwardKernel>(pointwise_config(B * Hd), cell, saved, h_prev, c_prev, c, dout,
                                                 dh_rec, dc, dgx, dgh, B, Hd);
}

}  // namespace ad
