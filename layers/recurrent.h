// One recurrent layer, LSTM or GRU, with PyTorch's parameters, gate order and equations (torch.nn.LSTM /
// torch.nn.GRU, one layer, one direction), so weights and golden references carry over unchanged:
//   weight_ih [G*Hd, I], weight_hh [G*Hd, Hd], bias_ih [G*Hd], bias_hh [G*Hd]   (G = 4 LSTM i,f,g,o; 3 GRU r,z,n)
// initialised like PyTorch: every entry U(-1/sqrt(Hd), 1/sqrt(Hd)) (std::mt19937_64 from `seed`).
//
// Sequences are time-major, x [T, B, I] (PyTorch's default batch_first=False); outputs [T, B, Hd].
// Forward: one GEMM for the input projections of all steps, then per step one GEMM h_{t-1} W_hh^T and the
// fused cell kernel (kernels/recurrent_cell.h). Backward through time is hand-written: per step (last to first)
// the cell backward and one GEMM for the gradient into h_{t-1}; the weight gradients are then one GEMM each
// over all steps, and the bias gradients column sums. The same code runs on the CPU and the GPU.
//
// input_size 0 is a layer without input (weight_ih absent): forward_without_input(T, B) runs it on zero
// inputs, as DeepSphere's decoder does (its inputs are all zeros, so their weights never matter).
#pragma once
#include <cstdint>
#include <string>

#include "kernels/recurrent_cell.h"
#include "layers/parameter.h"

namespace ad {

// Hidden state h [B, Hd] and, for LSTM, cell state c [B, Hd]. Undefined tensors mean zeros.
struct RecurrentState {
  Tensor h, c;
};

class Recurrent : public Module {
 public:
  Recurrent(std::string name, RecurrentCell cell, int input_size, int hidden, uint64_t seed,
            Device device = Device::CPU, DType dtype = DType::F32);

  // x [T, B, I] -> outputs [T, B, Hd]. Keeps what backward needs.
  Tensor forward(const Tensor& x, const RecurrentState& initial = {});
  // The same with zero inputs (input_size must be 0).
  Tensor forward_without_input(int64_t steps, int64_t batch, const RecurrentState& initial = {});
  // The state after the last step of the latest forward (views; c undefined for GRU).
  RecurrentState final_state() const;

  // dout [T, B, Hd] (undefined: no gradient on the outputs) and the gradient on the final state (either part
  // may be undefined). Accumulates the parameter gradients; returns dL/dx [T, B, I] (undefined without
  // input, or when input_grad is false: the inputs are data) and keeps dL/d(initial state) for
  // initial_state_grad().
  Tensor backward(const Tensor& dout, const RecurrentState& dfinal = {}, bool input_grad = true);
  const RecurrentState& initial_state_grad() const { return dinitial_; }

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;

  RecurrentCell cell() const { return cell_; }
  int input_size() const { return in_; }
  int hidden_size() const { return hidden_; }
  Parameter& weight_ih() { return weight_ih_; }
  Parameter& weight_hh() { return weight_hh_; }
  Parameter& bias_ih() { return bias_ih_; }
  Parameter& bias_hh() { return bias_hh_; }

 private:
  Tensor run(const Tensor& x, int64_t steps, int64_t batch, const RecurrentState& initial);

  std::string name_;
  RecurrentCell cell_;
  int in_, hidden_;
  Parameter weight_ih_, weight_hh_, bias_ih_, bias_hh_;
  // Kept from the forward: inputs (x), hidden states h_0..h_T [T+1, B, Hd], cell states (LSTM) [T+1, B, Hd],
  // gate values [T, B, 4*Hd].
  Tensor x_, hs_, cs_, saved_;
  int64_t steps_ = 0, batch_ = 0;
  RecurrentState dinitial_;
};

}  // namespace ad
