// Batches copied to a device without the host waiting for the copy. The host fills a page-locked (pinned)
// buffer and enqueues an asynchronous copy on the stream all ops run on, so it goes on to prepare the next
// batch while the device still computes the current one (the copy itself runs in stream order, after the
// work queued before it: there is no separate copy stream). A copy from pageable memory (Tensor::to) makes
// the host wait until the device has taken the data; this one does not.
//
// A pinned buffer is reused only once the copy out of it has finished: each slot has an event, and the host
// waits on it only when it has run `slots` batches ahead of the device (that wait is counted as a host sync,
// runtime/device_counters.h). On the CPU, upload() returns the host tensor itself; on the emulated device
// the copy is a memcpy, counted as a host-to-device copy and not as a sync, like the CUDA one.
#pragma once
#include <cstddef>
#include <vector>

#include "runtime/tensor.h"

namespace ad {

class BatchUploader {
 public:
  explicit BatchUploader(Device device, int slots = 3);
  ~BatchUploader();
  BatchUploader(const BatchUploader&) = delete;
  BatchUploader& operator=(const BatchUploader&) = delete;

  // A tensor on the device with `host`'s contents (a CPU tensor; it may be reused as soon as this returns).
  Tensor upload(const Tensor& host);
  // The same into an existing device tensor of host's shape and dtype (a captured step's fixed input).
  void upload_into(const Tensor& host, Tensor& dst);
  Device device() const { return device_; }

 private:
  struct Slot {
    void* pinned = nullptr;  // page-locked on CUDA, plain host memory otherwise
    size_t bytes = 0;
    void* event = nullptr;  // cudaEvent_t, recorded after the copy out of `pinned`
    bool pending = false;
  };
  void release(Slot& s);

  Device device_;
  std::vector<Slot> slots_;
  size_t next_ = 0;
};

}  // namespace ad
