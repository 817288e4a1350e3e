// DeepSphere's network (Teng et al., IJCAI 2018; official TF1 code picsolab/DeepSphere), full batch:
//
//   x [T, B, D]  cases, time-major (D = N*N entries of the step's adjacency matrix)
//   encoder      LSTM(D -> Hd) over T steps from a zero state, on x with input dropout (train only by default)
//   z_b          sum_t a_t h_{t,b}        a [T]: learnable, unnormalised, no bias
//   d2_b         |z_b - c|^2              c [Hd]: learnable centre          (kernels/centre_distance)
//   residue_b    relu(d2_b - R^2), weight_b = normalised relu(exp(R^2 - d2_b) - 1) + 1e-28  (kernels/hypersphere)
//   decoder      LSTM(no input -> Hd) for T steps from the encoder's final (h, c)
//   x_hat[t]     Linear(Hd -> D)(decoder output at step T-1-t)        (the decoder's outputs reversed in time)
//   loss         R^2 + gamma * sum_b residue_b + mean_b d2_b + lambda * mean_b(weight_b * mean_{t,d}(x - x_hat)^2)
//
// With `hypersphere = false` (the LSTM-AE ablation) the loss is mean_b mean_{t,d}(x - x_hat)^2 and the case
// score is the reconstruction error. forward() keeps what backward() needs; backward() fills every
// parameter's gradient (overwriting) from the loss above.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/hypersphere.h"
#include "layers/linear.h"
#include "layers/recurrent.h"

namespace ad::deepsphere {

struct NetworkConfig {
  int64_t steps = 0, dim = 0;  // T and D = N*N
  int hidden = 30;
  double gamma = 0.05, lambda = 2.0, radius_init = 0.1;
  bool hypersphere = true;
  HypersphereWeight weight_form = HypersphereWeight::ExpMinusOne;  // Softmax: an older official revision
  uint64_t seed = 1000;
  DType dtype = DType::F32;  // F64 for the golden and gradient tests (CPU only)
};

struct ForwardResult {
  Tensor x_hat;                  // [T, B, D]
  std::vector<double> d2;        // [B] |z - c|^2
  std::vector<double> rec;       // [B] mean_{t,d} (x - x_hat)^2
  std::vector<double> residue;   // [B]
  std::vector<double> weight;    // [B]
  double loss = 0, radius = 0;
  double loss_radius = 0, loss_residue = 0, loss_distance = 0, loss_recon = 0;  // the four terms (weighted)
};

class Network : public Module {
 public:
  Network(const NetworkConfig& cfg, Device device);

  // x [T, B, D] (the reconstruction target); x_in the encoder's input (x with dropout, or x itself).
  ForwardResult forward(const Tensor& x, const Tensor& x_in);
  // Gradients of the last forward's loss into every parameter's grad (overwritten).
  void backward();

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  const NetworkConfig& config() const { return cfg_; }
  Device device() const { return device_; }
  Recurrent& encoder() { return encoder_; }
  Recurrent& decoder() { return decoder_; }
  Linear& output() { return output_; }
  Parameter& attention() { return attention_; }
  Parameter& centre() { return centre_; }
  Parameter& radius() { return radius_; }

 private:
  NetworkConfig cfg_;
  Device device_;
  Recurrent encoder_, decoder_;
  Linear output_;
  Parameter attention_, centre_, radius_;
  // Kept from the forward.
  Tensor x_, enc_out_, z_, d2_, diff_;  // diff_ = x_hat - x [T, B, D]
  Tensor big_;                          // [T, B, D] workspace: the squares, then the gradient of x_hat
  ForwardResult last_;
};

// Copies the decoder-order tensor y [T, ...] into time order (out[t] = y[T-1-t]); the same map is its own
// inverse, so the backward uses it too.
void reverse_time(const Tensor& y, Tensor& out);

}  // namespace ad::deepsphere
