// Pointwise cells of the recurrent layer (layers/recurrent.h), PyTorch's gate order and equations, one time
// step for a batch. The matrix products (x W_ih^T for all steps at once, h W_hh^T per step) are GEMMs done by
// the layer; these kernels add the biases, apply the gates and keep what the backward needs.
//
// Shapes (per step; Hd = hidden size, G = 4 for LSTM, 3 for GRU):
//   gx [B, G*Hd]  input projection x_t W_ih^T (no bias); null means zero input (a decoder fed zeros)
//   gh [B, G*Hd]  recurrent projection h_{t-1} W_hh^T (no bias)
//   b_ih, b_hh [G*Hd]
//   saved [B, 4*Hd]  LSTM: activated gates i, f, g, o;  GRU: r, z, n and hn = gh_n + b_hn
//
// LSTM (gates i, f, g, o):  c = f*c_prev + i*g,  h = o*tanh(c)
// GRU  (gates r, z, n):     n = tanh(gx_n + b_in + r*(gh_n + b_hn)),  h = (1 - z)*n + z*h_prev
//
// Backward of one step: dh = dout (may be null) + dh_rec (the gradient arriving through the recurrence).
//   LSTM: dc (in: from step t+1; out: to step t-1, overwritten in place); writes dgx = d(pre-activation).
//         The same pre-activation gradient serves the input and the recurrent projection (dgh is not written).
//   GRU:  writes dgx and dgh (they differ in the n block: dgh_n = dgx_n * r); overwrites dh_rec with the direct
//         part z*dh of dL/dh_prev (the layer then adds dgh W_hh by GEMM).
// CPU reference (f32, f64) in recurrent_cell.cpp, CUDA kernels in recurrent_cell.cuh/.cu.
#pragma once
#include <cstdint>
#include <string>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

enum class RecurrentCell { LSTM, GRU };

RecurrentCell parse_recurrent_cell(const std::string& name);  // "lstm" | "gru"
const char* recurrent_cell_name(RecurrentCell cell);
inline int recurrent_gates(RecurrentCell cell) { return cell == RecurrentCell::LSTM ? 4 : 3; }

// Tensor front-ends (CPU: f32/f64; CUDA: f32). gx may be undefined (zero input). state_prev is c_prev (LSTM)
// or h_prev (GRU); c (LSTM) is written, ignored for GRU (may be undefined).
void recurrent_cell_forward(RecurrentCell cell, const Tensor& gx, const Tensor& gh, const Tensor& b_ih,
                            const Tensor& b_hh, const Tensor& h_prev, const Tensor& c_prev, Tensor& h, Tensor& c,
                            Tensor& saved);
// dout may be undefined. LSTM: c is this step's cell state, dc in/out. GRU: dgh written, dh_rec in/out.
void recurrent_cell_backward(RecurrentCell cell, const Tensor& saved, const Tensor& h_prev, const Tensor& c_prev,
                             const Tensor& c, const Tensor& dout, Tensor& dh_rec, Tensor& dc, Tensor& dgx,
                             Tensor& dgh);

namespace cpu {
template <class T>
void recurrent_cell_forward(RecurrentCell cell, const T* gx, const T* gh, const T* b_ih, const T* b_hh,
                            const T* h_prev, const T* c_prev, T* h, T* c, T* saved, int64_t B, int64_t Hd);
template <class T>
void recurrent_cell_backward(RecurrentCell cell, const T* saved, const T* h_prev, const T* c_prev, const T* c,
                             const T* dout, T* dh_rec, T* dc, T* dgx, T* dgh, int64_t B, int64_t Hd);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void recurrent_cell_forward(RecurrentCell cell, const float* gx, const float* gh, const float* b_ih,
                            const float* b_hh, const float* h_prev, const float* c_prev, float* h, float* c,
                            float* saved, int64_t B, int64_t Hd);
void recurrent_cell_backward(RecurrentCell cell, const float* saved, const float* h_prev, const float* c_prev,
                             const float* c, const float* dout, float* dh_rec, float* dc, float* dgx, float* dgh,
                             int64_t B, int64_t Hd);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
