#include "kernels/centre_distance.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/dispatch.h"

namespace ad {

CentreDistance parse_centre_distance(const std::string& name) {
  if (name == "squared_euclidean") return CentreDistance::SquaredEuclidean;
  if (name == "half_cosine") return CentreDistance::HalfCosine;
  AD_FAIL("parse_centre_distance", "unknown distance '", name, "' (known: squared_euclidean, half_cosine)");
}

const char* centre_distance_name(CentreDistance kind) {
  return kind == CentreDistance::SquaredEuclidean ? "squared_euclidean" : "half_cosine";
}

namespace cpu {

// The reference keeps the pair's statistics and applies the textbook gradient of each kind, pair by pair,
// accumulating into dz and dc (serially over pairs, so the order is fixed).
template <class T>
void centre_distance_forward(CentreDistance kind, const T* z, const T* c, T* out, int64_t B, int64_t K, int64_t H,
                             int64_t D) {
  const T eps = T(kCosineEps);
#pragma omp parallel for if (B * K * H * D >= kCpuParallelMin)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t h = 0; h < H; ++h) {
        const T* zr = z + (b * H + h) * D;
        const T* cr = c + (k * H + h) * D;
        T r = 0;
        if (kind == CentreDistance::SquaredEuclidean) {
          for (int64_t d = 0; d < D; ++d) r += (zr[d] - cr[d]) * (zr[d] - cr[d]);
        } else {
          T dot = 0, zz = 0, cc = 0;
          for (int64_t d = 0; d < D; ++d) {
            dot += zr[d] * cr[d];
            zz += zr[d] * zr[d];
            cc += cr[d] * cr[d];
          }
          const T cosine = dot / (std::max(std::sqrt(zz), eps) * std::max(std::sqrt(cc), eps));
          r = T(0.5) * (T(1) - cosine);
        }
        out[(b * K + k) * H + h] = r;
      }
}

template <class T>
void centre_distance_backward(CentreDistance kind, const T* z, const T* c, const T* dout, T* dz, T* dc, int64_t B,
                              int64_t K, int64_t H, int64_t D) {
  const T eps = T(kCosineEps);
  std::fill(dz, dz + B * H * D, T(0));
  std::fill(dc, dc + K * H * D, T(0));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t h = 0; h < H; ++h) {
        const T* zr = z + (b * H + h) * D;
        const T* cr = c + (k * H + h) * D;
        T* dzr = dz + (b * H + h) * D;
        T* dcr = dc + (k * H + h) * D;
        const T g = dout[(b * K + k) * H + h];
        if (kind == CentreDistance::SquaredEuclidean) {
          for (int64_t d = 0; d < D; ++d) {
            const T v = T(2) * g * (zr[d] - cr[d]);
            dzr[d] += v;
            dcr[d] -= v;
          }
          continue;
        }
        T dot = 0, zz = 0, cc = 0;
        for (int64_t d = 0; d < D; ++d) {
          dot += zr[d] * cr[d];
          zz += zr[d] * zr[d];
          cc += cr[d] * cr[d];
        }
        const T lz = std::sqrt(zz), lc = std::sqrt(cc);
        const T nz = std::max(lz, eps), nc = std::max(lc, eps);
        const T cosine = dot / (nz * nc);
        // d cos / dz = c / (nz nc) - cos z / nz^2 (second term only where |z| is not clamped); same for c.
        for (int64_t d = 0; d < D; ++d) {
          const T dcos_dz = cr[d] / (nz * nc) - (lz > eps ? cosine * zr[d] / (nz * nz) : T(0));
          const T dcos_dc = zr[d] / (nz * nc) - (lc > eps ? cosine * cr[d] / (nc * nc) : T(0));
          dzr[d] += T(-0.5) * g * dcos_dz;
          dcr[d] += T(-0.5) * g * dcos_dc;
        }
      }
}

template void centre_distance_forward<float>(CentreDistance, const float*, const float*, float*, int64_t, int64_t,
                                             int64_t, int64_t);
template void centre_distance_forward<double>(CentreDistance, const double*, const double*, double*, int64_t,
                                              int64_t, int64_t, int64_t);
template void centre_distance_backward<float>(CentreDistance, const float*, const float*, const float*, float*,
                                              float*, int64_t, int64_t, int64_t, int64_t);
template void centre_distance_backward<double>(CentreDistance, const double*, const double*, const double*, double*,
                                               double*, int64_t, int64_t, int64_t, int64_t);
}  // namespace cpu

namespace {
struct Dims {
  int64_t B, K, H, D;
};
Dims check_shapes(const char* op, const Tensor& z, const Tensor& c) {
  AD_CHECK(z.dim() == 3, op, "z must be [B, H, D], got ", z.describe());
  AD_CHECK(c.dim() == 3, op, "c must be [K, H, D], got ", c.describe());
  AD_CHECK(z.size(1) == c.size(1) && z.size(2) == c.size(2), op, "z ", z.describe(), " and c ", c.describe(),
           " differ in heads or dimensions");
  AD_CHECK(z.dtype() == c.dtype(), op, "z and c dtypes differ");
  check_same_device(op, z, c);
  check_floating(op, z);
  return {z.size(0), c.size(0), z.size(1), z.size(2)};
}
void check_shape_is(const char* op, const char* what, const Tensor& t, const Shape& want, const Tensor& like) {
  AD_CHECK(t.shape() == want, op, what, " must be ", want.str(), ", got ", t.describe());
  AD_CHECK(t.dtype() == like.dtype(), op, what, " dtype differs from z");
  check_same_device(op, t, like);
}
}  // namespace

void centre_distance_forward(CentreDistance kind, const Tensor& z, const Tensor& c, Tensor& out) {
  const char* op = "centre_distance_forward";
  const Dims s = check_shapes(op, z, c);
  check_shape_is(op, "out", out, Shape{s.B, s.K, s.H}, z);
  if (z.is_device()) {
    check_dtype(op, z, DType::F32);
    AD_ON_DEVICE(op, z, centre_distance_forward(kind, z.data<float>(), c.data<float>(), out.data<float>(),
                                                s.B, s.K, s.H, s.D));
  } else {
    dispatch_floating(op, z.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::centre_distance_forward<T>(kind, z.data<T>(), c.data<T>(), out.data<T>(), s.B, s.K, s.H, s.D);
    });
  }
}

void centre_distance_backward(CentreDistance kind, const Tensor& z, const Tensor& c, const Tensor& dout, Tensor& dz,
                              Tensor& dc) {
  const char* op = "centre_distance_backward";
  const Dims s = check_shapes(op, z, c);
  check_shape_is(op, "dout", dout, Shape{s.B, s.K, s.H}, z);
  check_shape_is(op, "dz", dz, z.shape(), z);
  check_shape_is(op, "dc", dc, c.shape(), z);
  if (z.is_device()) {
    check_dtype(op, z, DType::F32);
    AD_ON_DEVICE(op, z, centre_distance_backward(kind, z.data<float>(), c.data<float>(), dout.data<float>(),
                                                 dz.data<float>(), dc.data<float>(), s.B, s.K, s.H, s.D));
  } else {
    dispatch_floating(op, z.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::centre_distance_backward<T>(kind, z.data<T>(), c.data<T>(), dout.data<T>(), dz.data<T>(), dc.data<T>(),
                                       s.B, s.K, s.H, s.D);
    });
  }
}

}  // namespace ad
