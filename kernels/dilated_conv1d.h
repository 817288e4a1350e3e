// Causal dilated 1-D convolution (the building block of DC-VAE, like Keras Conv1D(padding="causal")).
//   x [B, T, C_in] (channels last), w [K, C_in, C_out] (Keras kernel layout), bias [C_out], y [B, T, C_out]
//   y[b,t,o] = bias[o] + sum_{k,c} w[k,c,o] * x[b, t - (K-1-k)*d, c],   x = 0 at negative time
// Stride 1, any kernel size K >= 1 and dilation d >= 1. Backward: dx (overwritten), dw and db
// (accumulated, like Parameter::grad). CPU reference (f32 and f64) in dilated_conv1d.cpp, CUDA kernels
// in dilated_conv1d.cuh (tiles, for small and medium shapes) and dilated_conv1d_gemm.cuh (im2col + cuBLAS for
// large ones), entry points in dilated_conv1d.cu.
#pragma once
#include <cstdint>

#include "runtime/hd.h"
#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

struct Conv1dShape {
  int64_t batch = 1, steps = 1;  // B, T
  int64_t cin = 1, cout = 1;     // C_in, C_out
  int64_t ksize = 1, dilation = 1;
  // How far back the receptive field reaches: (K-1)*d time steps.
  AD_HD int64_t reach() const { return (ksize - 1) * dilation; }
  // Multiply-adds of one forward pass (each of dx and dw costs the same).
  int64_t macs() const { return batch * steps * cin * cout * ksize; }
};

// Which GPU algorithm a pass runs. Auto: by shape (conv_use_gemm in dilated_conv1d_gemm.cuh, then
// conv_tile_wide in dilated_conv1d.cuh); the others force one, for tests and benchmarks. Tile and WideTile are the
// 32 x 32 and 64 x 64 tile kernels of forward and backward data (the weight gradient has one tiled kernel, which
// both run); Gemm is im2col + cuBLAS for all three passes. CPU tensors ignore it (one BLAS path).
enum class ConvPath { Auto, Tile, WideTile, Gemm };

// Reads the shape from x [B,T,C_in] and w [K,C_in,C_out] and checks them.
Conv1dShape conv1d_shape(const char* op, const Tensor& x, const Tensor& w, int64_t dilation);

// `bias` may be an undefined Tensor (no bias).
void dilated_conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y, int64_t dilation,
                            ConvPath path = ConvPath::Auto);
// dx = conv^T(dy); overwritten.
void dilated_conv1d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, int64_t dilation,
                                  ConvPath path = ConvPath::Auto);
// dw += sum_{b,t} x(shifted) * dy, db += sum_{b,t} dy; db may be undefined.
void dilated_conv1d_backward_params(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor& db, int64_t dilation,
                                    ConvPath path = ConvPath::Auto);
// Both of the above (dx overwritten, dw and db accumulated); on the CPU's direct f32 path in one parallel region.
void dilated_conv1d_backward(const Tensor& x, const Tensor& dy, const Tensor& w, Tensor& dx, Tensor& dw, Tensor& db,
                             int64_t dilation, ConvPath path = ConvPath::Auto);

namespace cpu {
template <class T> void dilated_conv1d_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y);
template <class T> void dilated_conv1d_backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx);
template <class T>
void dilated_conv1d_backward_params(const Conv1dShape& s, const T* x, const T* dy, T* dw, T* db);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void dilated_conv1d_forward(const Conv1dShape& s, const float* x, const float* w, const float* bias, float* y,
                            ConvPath path = ConvPath::Auto);
void dilated_conv1d_backward_data(const Conv1dShape& s, const float* dy, const float* w, float* dx,
                                  ConvPath path = ConvPath::Auto);
// dw and db accumulate (in a fixed order); db may be null.
void dilated_conv1d_backward_params(const Conv1dShape& s, const float* x, const float* dy, float* dw, float* db,
                                    ConvPath path = ConvPath::Auto);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
