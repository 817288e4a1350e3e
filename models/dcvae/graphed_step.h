// DC-VAE's training step as a captured graph on a device (runtime/step_graph.h; setting `cuda_graphs`).
// Per batch size: the first step runs eagerly (it fills the caching allocator and makes the resident
// constants), the second captures the step, and it and every later one replay it. Before each step, outside
// the graph, the batch is copied into the fixed input buffer of its size, and Adam's step scalars and the
// noise's counter offset into device memory, all asynchronously from pinned buffers; the graph then runs
// zero-grad, forward, the loss sums, backward and Adam. The eager and the replayed step run the same kernels
// on the same data, so they give the same bits (tests/models/test_training_step.cpp).
#pragma once
#include <map>
#include <memory>

#include "layers/optimizer.h"
#include "models/dcvae/network.h"
#include "runtime/staging.h"
#include "runtime/step_graph.h"

namespace ad::dcvae {

class GraphedTrainStep {
 public:
  // Puts `opt` and `net` in their captured-step modes (device step scalars, device noise offset).
  GraphedTrainStep(Network& net, Adam& opt, Device device);
  ~GraphedTrainStep();
  // One step on a host batch [B, T, M]; loss_sums as in train_step, the same tensor every call.
  void step(const Tensor& host_batch, PhiloxStream& rng, Tensor& loss_sums);
  int64_t captures() const { return captures_; }
  int64_t replays() const { return replays_; }

 private:
  struct PerBatchSize {
    Tensor x;  // the fixed input
    std::unique_ptr<StepGraph> graph;
    const void* loss_sums = nullptr;  // the address the graph accumulates into
    int64_t eager_steps = 0;
  };
  Network& net_;
  Adam& opt_;
  Device device_;
  BatchUploader uploader_;
  Tensor noise_offset_;  // i64 [1]
  std::map<int64_t, PerBatchSize> sizes_;
  int64_t captures_ = 0, replays_ = 0;
};

}  // namespace ad::dcvae
