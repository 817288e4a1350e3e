// Philox-4x32-10 (Salmon et al., SC 2011), a counter-based generator: the numbers depend only on
// (seed, counter), so the CPU and a CUDA kernel produce the same stream for the same (seed, offset)
// without sharing state. Element i of a draw at `offset` uses counter offset + i; uniforms take
// lane 0, normals use Box-Muller on lanes 0 and 1. Integer outputs match bit for bit across devices;
// floats differ by at most a few ulp (logf/cosf on host vs device).
#pragma once
#include <cmath>
#include <cstdint>

#include "runtime/hd.h"

namespace ad {

struct Philox4 {
  uint32_t v[4];
};

AD_HD inline void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = uint64_t(a) * uint64_t(b);
  hi = uint32_t(p >> 32);
  lo = uint32_t(p);
}

AD_HD inline Philox4 philox4x32_10(uint64_t seed, uint64_t counter) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, c0, hi0, lo0);
    philox_mulhilo(0xCD9E8D57u, c2, hi1, lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Uniform in (0, 1): never exactly 0 (safe for log) nor 1.
AD_HD inline float philox_u32_to_unit(uint32_t x) { return (float(x >> 8) + 0.5f) * (1.0f / 16777216.0f); }

AD_HD inline float philox_uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  return philox_u32_to_unit(philox4x32_10(seed, offset + i).v[0]);
}

AD_HD inline float philox_normal(uint64_t seed, uint64_t offset, uint64_t i) {
  Philox4 r = philox4x32_10(seed, offset + i);
  float u1 = philox_u32_to_unit(r.v[0]), u2 = philox_u32_to_unit(r.v[1]);
  return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

// Host-side stream position: each draw reserves a block of counters, so successive draws (and the
// same draws on another device) never overlap.
class PhiloxStream {
 public:
  explicit PhiloxStream(uint64_t seed = 0, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  // Returns the offset to use for n numbers and advances past them.
  uint64_t reserve(uint64_t n) {
    uint64_t o = offset_;
    offset_ += n;
    return o;
  }

 private:
  uint64_t seed_;
  uint64_t offset_;
};

}  // namespace ad
