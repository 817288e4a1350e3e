// GLEAD's network and loss (Cheng, Xu, Yuan, IEEE BigData 2022; code Serendipity618/GLEAD src/model.py):
//
//   ids [B, T] -> Embedding(V, D) (+ a learned [T, D] position table, ours, off by default)
//              -> structured self-attention (W1: D -> A, tanh, W2: A -> K heads, softmax over time) -> M [B, K, D]
//   prototypes [2, K, D]: row 0 the normal prototypes c_n, row 1 the anomalous c_a, init U(-1, 1)
//   d [B, 2, K] = (1 - cos(M_h, c_h)) / 2 per head (kernels/centre_distance.h, HalfCosine)
//
// Loss (host, double precision: B x 2K numbers): for windows treated as normal (labelled normal and every
// unlabelled window) L1 = relu(sum_h w_nn d_n - sum_h w_na d_a + margin) with w_nn = softmax_h(-alpha d_n),
// w_na = softmax_h(+alpha d_a); for labelled anomalies L2 likewise with (d_a, d_n) swapped; the head weights
// are not detached. triplet = sum L1 / (N_n + 1) + sum L2 / (N_a + 1) (the code's +1; `plus_one` false: a
// plain mean). Penalty mean((C C^T - I)^2) over the 2K prototype rows.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "layers/embedding.h"
#include "layers/self_attention.h"

namespace ad::glead {

struct NetworkConfig {
  int64_t vocab = 0, window = 20, hidden = 150, attention = 300, heads = 5;
  bool positional = false;
};

class Network : public Module {
 public:
  Network(const NetworkConfig& c, uint64_t seed, Device device = Device::CPU, DType dtype = DType::F32);

  struct Output {
    Tensor M;          // [B, K, D]
    Tensor attention;  // [B, K, T]
    Tensor distances;  // [B, 2, K]: [:, 0] to c_n, [:, 1] to c_a
  };
  Output forward(const Tensor& ids);  // ids: host i32 [B, T]
  // Accumulates every parameter gradient from d loss / d distances [B, 2, K].
  void backward(const Tensor& d_distances);

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  Parameter& prototypes() { return prototypes_; }
  Embedding& embedding() { return embedding_; }
  SelfAttention& attention() { return attention_; }
  const NetworkConfig& config() const { return config_; }

 private:
  NetworkConfig config_;
  Embedding embedding_;
  SelfAttention attention_;
  Parameter positions_;   // [T, D], only with config_.positional
  Parameter prototypes_;  // [2, K, D]
  Tensor M_;
};

struct LossOptions {
  double alpha = 1.0, margin = 1.0;
  bool plus_one = true;
};

struct LossTerms {
  double triplet = 0;
  int64_t normal = 0, anomalous = 0;  // windows in each term
  std::vector<double> d_distances;     // d triplet / d distances, [B, 2, K]
};
// distances [B, 2, K] (row-major), labels 0/1, semi 1 = unlabelled (counted as normal, as the original).
LossTerms triplet_loss(const std::vector<double>& distances, int64_t heads, const std::vector<int>& labels,
                       const std::vector<int>& semi, const LossOptions& o);

// mean((C C^T - I)^2) over the rows of C [rows, dim]; adds d/dC * scale to `grad` when given.
double orthogonality_penalty(const std::vector<double>& C, int64_t rows, int64_t dim, std::vector<double>* grad,
                             double scale);

// One training step's loss and gradients (parameter gradients accumulate; the caller zeroes and steps):
// forward, triplet loss and penalty on the host, backward through the network.
struct StepLoss {
  double total = 0, triplet = 0, penalty = 0;
  Network::Output output;
};
StepLoss loss_and_backward(Network& net, const Tensor& ids, const std::vector<int>& labels, const std::vector<int>& semi,
                           const LossOptions& o, double lambda_p);

}  // namespace ad::glead
