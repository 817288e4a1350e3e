#include "runtime/memory.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "runtime/cuda_context.h"
#include "runtime/device_counters.h"
#include "runtime/step_graph.h"

namespace ad {

// CUDA's raw memory, defined in cuda_context.cu (or refusing, in a CPU-only build).
const RawDeviceMemory& cuda_raw_memory();

namespace {
struct CpuCounters {
  std::mutex mu;
  MemoryStats stats;
};
CpuCounters& cpu_counters() {
  static CpuCounters c;
  return c;
}

size_t round_size(size_t bytes) {
  if (bytes <= (1u << 20)) return (bytes + 511) / 512 * 512;
  return (bytes + (2u << 20) - 1) / (2u << 20) * (2u << 20);
}

bool allocator_debug_from_env() {
  const char* e = std::getenv("AD_CUDA_ALLOCATOR_DEBUG");
  return e && std::string(e) == "1";
}

// Keeps freed blocks in per-size free lists (sizes rounded to 512 B, or to 2 MiB above 1 MiB) and reuses them,
// so training loops stop reaching the driver after the first step; counts current and peak bytes held by
// tensors. All device work is on one stream, so a freed block may be reused at once (stream order). In debug
// mode it asks the driver for the exact size and frees at once (no rounding, no reuse).
class CachingAllocator {
 public:
  explicit CachingAllocator(const RawDeviceMemory& raw) : raw_(raw) {}
  void* allocate(size_t bytes) {
    size_t size = debug_ ? std::max<size_t>(bytes, 1) : round_size(std::max<size_t>(bytes, 1));
    std::lock_guard<std::mutex> lock(mu_);
    void* p = nullptr;
    if (open_pool_ >= 0) {  // a capture: the pool's own blocks first; every new block joins the pool
      Pool& pool = pools_[open_pool_];
      auto pit = pool.free.find(size);
      if (pit != pool.free.end()) {
        p = pit->second;
        pool.free.erase(pit);
        return hand_out(p, size);
      }
    }
    auto it = debug_ ? free_.end() : free_.find(size);
    if (it != free_.end()) {
      p = it->second;
      free_.erase(it);
    } else {
      p = raw_.allocate(size);
      if (!p) {  // give the cache back and try once more
        detail::count_host_sync();  // cudaFree waits for the device
        release_locked();
        p = raw_.allocate(size);
      }
      AD_CHECK(p != nullptr, "allocate", raw_.what, " of ", size, " bytes failed: out of memory (in use ",
               stats_.current, ", reserved ", stats_.reserved, ")");
      stats_.reserved += size;
      detail::count_allocation();
    }
    if (open_pool_ >= 0) pools_[open_pool_].blocks.insert(p);
    return hand_out(p, size);
  }
  void release(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) return;
    stats_.current -= it->second;
    for (auto& [id, pool] : pools_)
      if (pool.blocks.count(p)) {  // reserved for its captured step
        pool.free.emplace(it->second, p);
        sizes_.erase(it);
        return;
      }
    if (debug_) {  // no reuse: a later access through a stale pointer is a use after free
      raw_.free(p);
      detail::count_host_sync();
      stats_.reserved -= it->second;
    } else {
      free_.emplace(it->second, p);
    }
    sizes_.erase(it);
  }
  void release_cached() {
    std::lock_guard<std::mutex> lock(mu_);
    raw_.synchronize();
    detail::count_host_sync();
    release_locked();
  }
  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak = stats_.current;
  }
  // Private pools (runtime/memory.h, detail::begin_private_pool).
  int begin_pool() {
    std::lock_guard<std::mutex> lock(mu_);
    AD_CHECK(open_pool_ < 0, "begin_private_pool", "a private pool is already open");
    open_pool_ = next_pool_++;
    pools_[open_pool_];
    return open_pool_;
  }
  void end_pool() {
    std::lock_guard<std::mutex> lock(mu_);
    open_pool_ = -1;
  }
  void release_pool(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pools_.find(id);
    if (it == pools_.end()) return;
    for (auto& [size, p] : it->second.free) free_.emplace(size, p);  // live blocks go back when freed
    pools_.erase(it);
    if (open_pool_ == id) open_pool_ = -1;
  }

 private:
  void* hand_out(void* p, size_t size) {
    sizes_[p] = size;
    stats_.current += size;
    if (stats_.current > stats_.peak) stats_.peak = stats_.current;
    return p;
  }
  struct Pool {
    std::unordered_set<void*> blocks;
    std::multimap<size_t, void*> free;
  };
  std::map<int, Pool> pools_;
  int open_pool_ = -1, next_pool_ = 0;
  void release_locked() {
    for (auto& [size, p] : free_) {
      raw_.free(p);
      stats_.reserved -= size;
    }
    free_.clear();
  }

  const RawDeviceMemory& raw_;
  const bool debug_ = allocator_debug_from_env();
  std::mutex mu_;
  std::multimap<size_t, void*> free_;
  std::unordered_map<void*, size_t> sizes_;
  MemoryStats stats_;
};

// The emulated device's "driver": host memory, 256-byte aligned like cudaMalloc's. Every block handed out is
// first filled with 0xff bytes (a NaN in every float lane), on reuse too, so a kernel that reads memory nobody
// wrote shows NaN in its results instead of a lucky zero.
void* emulated_raw_allocate(size_t bytes) { return std::aligned_alloc(256, (bytes + 255) / 256 * 256); }
void emulated_raw_free(void* p) { std::free(p); }
void emulated_raw_synchronize() {}
const RawDeviceMemory kEmulatedRaw{"emulated device allocation", emulated_raw_allocate, emulated_raw_free,
                                   emulated_raw_synchronize};

// Never destroyed: tensors in static storage may be freed after main returns.
CachingAllocator& cuda_allocator() {
  static auto* a = new CachingAllocator(cuda_raw_memory());
  return *a;
}
CachingAllocator& emulated_allocator() {
  static auto* a = new CachingAllocator(kEmulatedRaw);
  return *a;
}
}  // namespace

void* device_allocate(size_t bytes, Device device) {
  if (device == Device::CUDA) {
    AD_CHECK(cuda_available(), "allocate", "CUDA tensor requested but ", cuda_status());
    return cuda_allocator().allocate(bytes);
  }
  if (device == Device::Emulated) {
    void* p = emulated_allocator().allocate(bytes);
    std::memset(p, 0xff, bytes);
    return p;
  }
  // Host tensors come and go every step (DC-VAE's original configuration: activations of 1 MiB). glibc serves
  // blocks that size with a fresh mmap and trims freed heap tops, so every step paid page faults and kernel
  // page zeroing (~7% of CPU inference, perf). Kept in the heap, a step reuses the previous step's memory.
  // Set once, before the first host tensor.
  static const bool heap_kept = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest allowed value on 64-bit
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)heap_kept;
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
  if (device == Device::CUDA) return cuda_allocator().release(ptr);
  if (device == Device::Emulated) return emulated_allocator().release(ptr);
  std::free(ptr);
  auto& c = cpu_counters();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.current -= bytes;
  c.stats.reserved = c.stats.current;
}

MemoryStats memory_stats(Device device) {
  if (device == Device::CUDA) return cuda_available() ? cuda_allocator().stats() : MemoryStats{};
  if (device == Device::Emulated) return emulated_allocator().stats();
  auto& c = cpu_counters();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void reset_peak_memory(Device device) {
  if (device == Device::CUDA) {
    if (cuda_available()) cuda_allocator().reset_peak();
    return;
  }
  if (device == Device::Emulated) return emulated_allocator().reset_peak();
  auto& c = cpu_counters();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.peak = c.stats.current;
}

void release_cached_memory() {
  if (cuda_available()) cuda_allocator().release_cached();
  emulated_allocator().release_cached();
}

void device_memset_zero(void* ptr, size_t bytes, Device device) {
  AD_CHECK(device != Device::CPU, "device_memset_zero", "CPU memory");
  if (device == Device::CUDA) return detail::cuda_memset_zero(ptr, bytes);
  detail::emulated_submit([ptr, bytes] { std::memset(ptr, 0, bytes); });
  detail::count_launch();
}

namespace detail {
int begin_private_pool(Device device) {
  AD_CHECK(device != Device::CPU, "begin_private_pool", "no pools on the CPU");
  if (device == Device::CUDA) return cuda_allocator().begin_pool();
  return emulated_allocator().begin_pool();
}
void end_private_pool(Device device) {
  if (device == Device::CUDA) cuda_allocator().end_pool();
  else if (device == Device::Emulated) emulated_allocator().end_pool();
}
void release_private_pool(Device device, int pool) {
  if (device == Device::CUDA) cuda_allocator().release_pool(pool);
  else if (device == Device::Emulated) emulated_allocator().release_pool(pool);
}
}  // namespace detail

void device_synchronize(Device device) {
  if (device == Device::CUDA) return cuda_synchronize();
  if (device == Device::Emulated) detail::count_host_sync();  // emulated work is done when its call returns
}

#if !AD_WITH_CUDA
bool cuda_available() { return false; }
std::string cuda_status() { return "built without CUDA (AD_CUDA=OFF or no nvcc)"; }
void cuda_synchronize() {}
const RawDeviceMemory& cuda_raw_memory() {
  static const RawDeviceMemory none{"cudaMalloc", [](size_t) -> void* { return nullptr; }, [](void*) {}, [] {}};
  return none;
}
namespace detail {
void cuda_memcpy(void*, const void*, size_t, int) { AD_FAIL("copy", "this build has no CUDA backend"); }
void cuda_memset_zero(void*, size_t) { AD_FAIL("zero", "this build has no CUDA backend"); }
}  // namespace detail
#endif

}  // namespace ad
