// Byte counters for tensors on each device. CUDA memory goes through a caching allocator
// (freed blocks are kept per size and reused, like PyTorch's), so `reserved` can exceed `current`.
// Benchmarks report peak bytes from here. Debug mode (AD_CUDA_ALLOCATOR_DEBUG=1 in the environment):
// exact sizes and no reuse, so compute-sanitizer memcheck sees one-element overruns and uses after free.
#pragma once
#include <cstddef>

#include "runtime/tensor.h"

namespace ad {

struct MemoryStats {
  size_t current = 0;   // bytes held by live tensors
  size_t peak = 0;      // highest `current` since the last reset
  size_t reserved = 0;  // bytes obtained from the driver (CUDA) / the system (CPU)
};

MemoryStats memory_stats(Device device);
void reset_peak_memory(Device device);
void release_cached_memory();  // gives cached CUDA blocks back to the driver

// Raw allocation used by Storage.
void* device_allocate(size_t bytes, Device device);
void device_free(void* ptr, size_t bytes, Device device);

}  // namespace ad
