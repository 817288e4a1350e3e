// A training step's device work captured once and replayed: a CUDA graph on the GPU, a recorded list of the
// step's operations (kernel launches, memsets, copies, library stand-ins) on the emulated device. A replay is
// one launch (cudaGraphLaunch) where the step made hundreds, so a launch-bound step (small networks, small
// batches) stops paying the host's launch overhead kernel by kernel.
//
// What a step must do to be captured (models/dcvae/network.h, train_step, does):
//  - no host synchronisation and no host decision on device data: a capture records the work, it does not
//    run it;
//  - every value that changes from step to step lives in device memory, written before each replay, outside
//    the graph (the batch, Adam's step scalars, the noise's counter offset): kernel arguments are frozen;
//  - inputs at fixed addresses. The step's temporaries come from a pool the graph keeps (the caching
//    allocator's private pool, runtime/memory.h), so their addresses stay valid and no other tensor gets them
//    between replays.
// On the CPU there is nothing to capture: capture() fails.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

#include "runtime/tensor.h"

namespace ad {

class StepGraph {
 public:
  explicit StepGraph(Device device);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // Records `step`'s device work on this thread (without running it, as CUDA stream capture does).
  void capture(const std::function<void()>& step);
  // Runs the recorded work once more, in order, on the device's stream.
  void replay();
  bool captured() const { return captured_; }
  Device device() const { return device_; }
  // The emulated device: how many operations one replay runs (0 on CUDA).
  size_t recorded_operations() const { return ops_.size(); }

 private:
  Device device_;
  bool captured_ = false;
  int pool_ = -1;                           // the allocator's private pool holding the step's temporaries
  std::vector<std::function<void()>> ops_;  // emulated
  void* graph_ = nullptr;                   // cudaGraph_t
  void* exec_ = nullptr;                    // cudaGraphExec_t
};

namespace detail {
// The emulated device's stream: an operation runs at once unless this thread is capturing; then it is
// appended to the capture instead. Every emulated-device operation goes through here.
void emulated_submit(std::function<void()> op);
bool emulated_capturing();
// The stream a CUDA capture runs on while this thread captures (cuda_stream() returns it), else null.
void* cuda_capture_stream();
}  // namespace detail

}  // namespace ad
