// A per-row weight applied to a block and added into a column window of a wider matrix (MUAD's fusion
// h = [c_t z_t | c_m z_m | c_l z_l], or with every block at column 0 the paper's sum c_t z_t + c_m z_m + c_l z_l):
//   forward   out[i, offset + d] += w[i] * z[i, d]                  z [B, D], w [B], out [B, F], offset + D <= F
//   backward  dz[i, d] = w[i] * dout[i, offset + d]
//             dw[i]    = sum_d dout[i, offset + d] * z[i, d]        (in d order)
// Existing ops do not cover it: mul needs equal shapes and nothing else writes a column window in place. CPU
// reference (f32, f64) in row_scale.cpp; CUDA kernels in row_scale.cuh/.cu.
#pragma once
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

void scale_rows_into_columns(const Tensor& z, const Tensor& w, Tensor& out, int64_t offset);
// dz (z's shape) and dw (w's shape) are written, not accumulated.
void scale_rows_into_columns_backward(const Tensor& z, const Tensor& w, const Tensor& dout, int64_t offset,
                                      Tensor& dz, Tensor& dw);

namespace cpu {
template <class T>
void scale_rows_into_columns(const T* z, const T* w, T* out, int64_t rows, int64_t d, int64_t f, int64_t offset);
template <class T>
void scale_rows_into_columns_backward(const T* z, const T* w, const T* dout, T* dz, T* dw, int64_t rows, int64_t d,
                                      int64_t f, int64_t offset);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void scale_rows_into_columns(const float* z, const float* w, float* out, int64_t rows, int64_t d, int64_t f,
                             int64_t offset);
void scale_rows_into_columns_backward(const float* z, const float* w, const float* dout, float* dz, float* dw,
                                      int64_t rows, int64_t d, int64_t f, int64_t offset);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
