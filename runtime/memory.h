// Byte counters for tensors on each device. CUDA and emulated-device memory goes through one caching allocator
// (freed blocks are kept per size and reused, like PyTorch's), so `reserved` can exceed `current`; the emulated
// device's blocks come from the system instead of cudaMalloc, with the same rounding and reuse, so allocation
// counts (runtime/device_counters.h) mean the same on both. Benchmarks report peak bytes from here. Debug mode
// (AD_CUDA_ALLOCATOR_DEBUG=1 in the environment): exact sizes and no reuse, so compute-sanitizer memcheck sees
// one-element overruns and uses after free.
#pragma once
#include <cstddef>

#include "runtime/tensor.h"

namespace ad {

struct MemoryStats {
  size_t current = 0;   // bytes held by live tensors
  size_t peak = 0;      // highest `current` since the last reset
  size_t reserved = 0;  // bytes obtained from the driver (CUDA, emulated) / the system (CPU)
};

MemoryStats memory_stats(Device device);
void reset_peak_memory(Device device);
void release_cached_memory();  // gives cached CUDA and emulated-device blocks back to the driver / system

// Waits until the device's queued work is done (a host sync; nothing on the CPU).
void device_synchronize(Device device);

// Zeroes device memory: cudaMemsetAsync on CUDA (one launch), memset on the emulated device (counted the same).
void device_memset_zero(void* ptr, size_t bytes, Device device);

namespace detail {
// The caching allocator's private pools, for captured steps (runtime/step_graph.h). While a pool is open on a
// device, blocks allocated there belong to the pool, and a pool block, once freed, goes back to the pool and is
// handed out again only while that pool is open: the addresses a captured step uses stay reserved for its
// replays and no other tensor gets them. release_private_pool gives the pool's blocks back to the allocator.
int begin_private_pool(Device device);
void end_private_pool(Device device);
void release_private_pool(Device device, int pool);
}  // namespace detail

// Raw allocation used by Storage.
void* device_allocate(size_t bytes, Device device);
void device_free(void* ptr, size_t bytes, Device device);

// Where a device's caching allocator gets its blocks (cudaMalloc for CUDA, cuda_context.cu).
struct RawDeviceMemory {
  const char* what;                  // "cudaMalloc", for messages
  void* (*allocate)(size_t bytes);   // nullptr when the device is out of memory; throws on other errors
  void (*free)(void* p);             // waits for the device, as cudaFree does
  void (*synchronize)();
};

}  // namespace ad
