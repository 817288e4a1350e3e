// The f32 CPU inner loop of the causal dilated convolution's forward and input-gradient passes
// (kernels/dilated_conv1d.cpp): a matrix product whose left operand is the input read at shifted rows,
//   out[b, t, :] = bias + sum_j in[b, t + off_j, :] W_j      (rows with t + off_j outside [0, T) add nothing)
// and its weight gradient, computed straight from `in`, with no im2col copy and no BLAS packing (AVX-512
// register tiles).
#pragma once
#include <cstdint>

namespace ad::cpu_direct {

// True when this CPU runs the direct kernel (AVX-512F); otherwise callers keep the im2col + BLAS path.
bool shifted_rows_available();

// in [B, T, win]; tap j's matrix W_j [win, wout] is w_taps + j * win * wout, row-major, or with transposed its
// transpose stored [wout, win]; off[j] is tap j's row offset in time; bias [wout] or null; out [B, T, wout]
// (overwritten). Requires shifted_rows_available().
void shifted_rows_product(int64_t batch, int64_t steps, const float* in, int64_t win, int64_t taps,
                          const int64_t* off, const float* w_taps, bool transposed, int64_t wout, const float* bias,
                          float* out);

// Its weight gradient: dW_j += sum_{b,t} in[b, t + off_j, :]^T g[b, t, :] (rows outside the sequence left
// out), g [B, T, wout], dw_taps as w_taps above (accumulated). Requires shifted_rows_available().
void shifted_rows_gradient(int64_t batch, int64_t steps, const float* in, int64_t win, int64_t taps,
                           const int64_t* off, const float* g, int64_t wout, float* dw_taps);

// The convolution's two backward passes in one parallel region, for y = product(x, off, w_taps [taps][cin][cout]):
// dx = product(dy, -off, w_taps transposed) (overwritten) and dw_taps += gradient(x, off, dy).
void shifted_rows_backward(int64_t batch, int64_t steps, const float* x, int64_t cin, int64_t taps,
                           const int64_t* off, const float* w_taps, const float* dy, int64_t cout, float* dx,
                           float* dw_taps);

}  // namespace ad::cpu_direct
