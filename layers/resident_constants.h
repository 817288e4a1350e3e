// Constant tensors a training step uses every step (the upstream gradient 1/N of a mean, a loss weight),
// made once and kept on their device: Tensor::full on a device fills a host tensor and copies it over,
// which the host waits for, every time it is called. The returned tensor must not be written to.
#pragma once
#include <cstring>
#include <vector>

#include "runtime/tensor.h"

namespace ad {

class ResidentConstants {
 public:
  const Tensor& full(const Shape& shape, double value, DType dtype, Device device) {
    for (const Entry& e : entries_)
      if (e.shape == shape && std::memcmp(&e.value, &value, sizeof value) == 0 && e.dtype == dtype &&
          e.device == device)
        return e.tensor;
    // A step needs a handful (a partial last batch adds one); more means the caller keys on data.
    if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
    entries_.push_back({shape, value, dtype, device, Tensor::full(shape, value, dtype, device)});
    return entries_.back().tensor;
  }

 private:
  static constexpr size_t kMaxEntries = 16;
  struct Entry {
    Shape shape;
    double value;
    DType dtype;
    Device device;
    Tensor tensor;
  };
  std::vector<Entry> entries_;
};

}  // namespace ad
