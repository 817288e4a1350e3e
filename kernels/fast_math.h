// exp for float that the compiler can vectorise (no libm call): Cephes' expf, range reduction by ln 2 in two
// parts and a degree-6 polynomial, about 2 ulp of relative error on [-87, 88], inputs clamped there. The CPU
// paths of ELU, tanh and sigmoid use it for f32; f64 keeps libm (the gradient checks run in f64). The CUDA
// kernels keep the CUDA math library.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

// Marks a hot f32 CPU loop to be compiled for AVX-512, AVX2 and the x86-64 baseline (SSE2), the copy
// chosen when the program loads (GCC target_clones). The project builds for the baseline, where these loops
// run 4 lanes wide (or scalar where GCC gives up); functions they call must be always_inline (GCC does not
// inline a plain function into one built for another -march). The clones are chosen by instruction set
// (avx512f, avx2), not by -march name: GCC's resolver matches an arch= clone against the CPU model, which a
// VM may hide (our build machine: every arch= clone was skipped and the SSE2 copy ran).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define AD_CPU_CLONES [[gnu::target_clones("avx512f", "avx2", "default")]]
#else
#define AD_CPU_CLONES
#endif

namespace ad {

// always_inline: so that the AVX-512 / AVX2 clones of the CPU loops (kernels/activation.cpp) inline it too
// (GCC does not inline a plain function into one built for another -march).
[[gnu::always_inline]] inline float fast_expf(float x) {
  // std::min(88, std::max(-87, x)) spelled out (same result, NaN included: -87): GCC if-converts these
  // selects in the AVX clones, not the std:: calls (which return references).
  x = -87.0f < x ? x : -87.0f;
  x = x < 88.0f ? x : 88.0f;
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (round-to-nearest, vectorisable without SSE4.1's roundps).
  const float shifter = 12582912.0f;
  const float n = (x * 1.44269504088896341f + shifter) - shifter;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const int32_t bits = (int32_t(n) + 127) << 23;  // 2^n, n in [-126, 127]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

// exp for the CPU loops of the ops: the vectorisable fast_expf in f32, libm in f64 (the reference precision
// of the gradient checks).
template <class T> [[gnu::always_inline]] inline T exp_of(T v) {
  if constexpr (std::is_same_v<T, float>)
    return fast_expf(v);
  else
    return std::exp(v);
}

// tanh(v) = sign(v) (1 - 2 / (exp(2|v|) + 1)) through exp_of: no overflow, ~1e-7 absolute near 0, vectorises.
template <class T> [[gnu::always_inline]] inline T tanh_of(T v) {
  const T t = T(1) - T(2) / (exp_of(T(2) * std::abs(v)) + T(1));
  return v < T(0) ? -t : t;
}

}  // namespace ad
