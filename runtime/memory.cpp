#include "runtime/memory.h"
#include "runtime/cuda_context.h"

#include <cstdlib>
#include <mutex>

namespace ad {

namespace {
struct CpuCounters {
  std::mutex mu;
  MemoryStats stats;
};
CpuCounters& cpu_counters() {
  static CpuCounters c;
  return c;
}
}  // namespace

// CUDA side, defined in cuda_context.cu (or as throwing stubs in a CPU-only build).
void* cuda_allocate(size_t bytes);
void cuda_free(void* ptr, size_t bytes);
MemoryStats cuda_memory_stats();
void cuda_reset_peak();
void cuda_release_cached();

void* device_allocate(size_t bytes, Device device) {
  if (device == Device::CUDA) return cuda_allocate(bytes);
  // 64-byte alignment suits AVX-512 loads and BLAS.
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  AD_CHECK(p != nullptr, "allocate", "out of host memory asking for ", bytes, " bytes");
  auto& c = cpu_counters();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.current += bytes;
  c.stats.reserved = c.stats.current;
  if (c.stats.current > c.stats.peak) c.stats.peak = c.stats.current;
  return p;
}

void device_free(void* ptr, size_t bytes, Device device) {
  if (device == Device::CUDA) return cuda_free(ptr, bytes);
  std::free(ptr);
  auto& c = cpu_counters();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.current -= bytes;
  c.stats.reserved = c.stats.current;
}

MemoryStats memory_stats(Device device) {
  if (device == Device::CUDA) return cuda_memory_stats();
  auto& c = cpu_counters();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void reset_peak_memory(Device device) {
  if (device == Device::CUDA) return cuda_reset_peak();
  auto& c = cpu_counters();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.peak = c.stats.current;
}

void release_cached_memory() {
  if (cuda_available()) cuda_release_cached();
}

#if !AD_WITH_CUDA
bool cuda_available() { return false; }
std::string cuda_status() { return "built without CUDA (AD_CUDA=OFF or no nvcc)"; }
void cuda_synchronize() {}
void* cuda_allocate(size_t) { AD_FAIL("allocate", "CUDA tensor requested but this build has no CUDA backend"); }
void cuda_free(void*, size_t) {}
MemoryStats cuda_memory_stats() { return {}; }
void cuda_reset_peak() {}
void cuda_release_cached() {}
namespace detail {
void cuda_memcpy(void*, const void*, size_t, int) { AD_FAIL("copy", "this build has no CUDA backend"); }
void cuda_memset_zero(void*, size_t) { AD_FAIL("zero", "this build has no CUDA backend"); }
}  // namespace detail
#endif

}  // namespace ad
