// The running-sum kernel (kernels/accumulate.h): a handful of terms per step, so one thread does them in index
// order. It is one small launch that replaces a device-to-host copy and the wait for it; its result does not
// depend on scheduling (one writer).
#pragma once
#include "kernels/accumulate.h"
#include "kernels/launch.h"

namespace ad {

// scale * x rounded on its own: nvcc would otherwise fuse it with the sum into an FMA, and the bits would
// differ from the host's loop.
AD_HD inline double scaled_term(float x, double scale) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(double(x), scale);
#else
  return double(x) * scale;
#endif
}

struct AccumulateTermsKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, int64_t n, double scale, double* acc, bool with_total) {
    if (ctx.block_idx().x != 0 || ctx.thread_idx().x != 0) return;
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double t = scaled_term(x[i], scale);
      acc[i] += t;
      total += t;
    }
    if (with_total) acc[n] += total;
  }
};

template <class L>
void launch_accumulate_terms(L& l, const float* x, int64_t n, double scale, double* acc, bool with_total) {
  if (n == 0 && !with_total) return;
  l.template launch<AccumulateTermsKernel>(LaunchConfig{{1}, {kWarpSize}, 0}, x, n, scale, acc, with_total);
}

}  // namespace ad
