// CUDA state for the process: device probe, one stream, library handles, and the caching allocator.
// The allocator keeps freed blocks in per-size free lists (sizes rounded to 512 B, or to 2 MiB above
// 1 MiB) and reuses them, so training loops stop calling cudaMalloc after the first step; it also
// counts current and peak bytes held by tensors. With AD_CUDA_ALLOCATOR_DEBUG=1 in the environment it
// asks cudaMalloc for the exact size and frees at once (no rounding, no reuse), so compute-sanitizer's
// memcheck sees a one-element overrun or a use after free (tools/gpu_check.sh sets it).
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>

#include "runtime/cuda_context.h"
#include "runtime/device_counters.h"
#include "runtime/memory.h"

namespace ad {

namespace {
struct Probe {
  bool ok = false;
  std::string status;
  Probe() {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      status = std::string("no CUDA device: ") + cudaGetErrorString(e);
      cudaGetLastError();
      return;
    }
    if (n == 0) {
      status = "no CUDA device: device count is 0";
      return;
    }
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    ok = true;
    status = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
  }
};
const Probe& probe() {
  static Probe p;
  return p;
}

size_t round_size(size_t bytes) {
  if (bytes <= (1u << 20)) return (bytes + 511) / 512 * 512;
  return (bytes + (2u << 20) - 1) / (2u << 20) * (2u << 20);
}

bool allocator_debug_from_env() {
  const char* e = std::getenv("AD_CUDA_ALLOCATOR_DEBUG");
  return e && std::string(e) == "1";
}

class CachingAllocator {
 public:
  void* allocate(size_t bytes) {
    AD_CHECK(probe().ok, "allocate", "CUDA tensor requested but ", probe().status);
    size_t size = debug_ ? std::max<size_t>(bytes, 1) : round_size(std::max<size_t>(bytes, 1));
    std::lock_guard<std::mutex> lock(mu_);
    void* p = nullptr;
    auto it = debug_ ? free_.end() : free_.find(size);
    if (it != free_.end()) {
      p = it->second;
      free_.erase(it);
    } else {
      cudaError_t e = cudaMalloc(&p, size);
      if (e == cudaErrorMemoryAllocation) {  // give the cache back and try once more
        cudaGetLastError();
        detail::count_host_sync();  // cudaFree waits for the device
        release_locked();
        e = cudaMalloc(&p, size);
      }
      if (e != cudaSuccess)
        AD_FAIL("allocate", "cudaMalloc of ", size, " bytes failed: ", cudaGetErrorString(e),
                " (in use ", stats_.current, ", reserved ", stats_.reserved, ")");
      stats_.reserved += size;
      detail::count_allocation();
    }
    sizes_[p] = size;
    stats_.current += size;
    if (stats_.current > stats_.peak) stats_.peak = stats_.current;
    return p;
  }
  void release(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) return;
    stats_.current -= it->second;
    if (debug_) {  // no reuse: a later access through a stale pointer is a use after free
      cudaFree(p);
      detail::count_host_sync();  // cudaFree waits for the device
      stats_.reserved -= it->second;
    } else {
      free_.emplace(it->second, p);
    }
    sizes_.erase(it);
  }
  void release_locked() {
    for (auto& [size, p] : free_) {
      cudaFree(p);
      stats_.reserved -= size;
    }
    free_.clear();
  }
  void release_cached() {
    std::lock_guard<std::mutex> lock(mu_);
    cudaDeviceSynchronize();
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

 private:
  const bool debug_ = allocator_debug_from_env();
  std::mutex mu_;
  std::multimap<size_t, void*> free_;
  std::unordered_map<void*, size_t> sizes_;
  MemoryStats stats_;
};

// Never destroyed: tensors in static storage may be freed after main returns.
CachingAllocator& allocator() {
  static auto* a = new CachingAllocator();
  return *a;
}

struct Handles {
  cublasHandle_t cublas = nullptr;
  cusparseHandle_t cusparse = nullptr;
  cudnnHandle_t cudnn = nullptr;
};
Handles& handles() {
  static auto* h = new Handles();
  return *h;
}
}  // namespace

bool cuda_available() { return probe().ok; }
std::string cuda_status() { return probe().status; }
void cuda_synchronize() {
  if (!cuda_available()) return;
  AD_CUDA_CHECK(cudaDeviceSynchronize());
  detail::count_host_sync();
}

cudaStream_t cuda_stream() { return nullptr; }  // the legacy default stream: ordered with cudaMemcpy

cublasHandle_t cublas_handle() {
  auto& h = handles();
  if (!h.cublas) {
    AD_CUBLAS_CHECK(cublasCreate(&h.cublas));
    AD_CUBLAS_CHECK(cublasSetStream(h.cublas, cuda_stream()));
  }
  return h.cublas;
}
cusparseHandle_t cusparse_handle() {
  auto& h = handles();
  if (!h.cusparse) {
    AD_CUSPARSE_CHECK(cusparseCreate(&h.cusparse));
    AD_CUSPARSE_CHECK(cusparseSetStream(h.cusparse, cuda_stream()));
  }
  return h.cusparse;
}
cudnnHandle_t cudnn_handle() {
  auto& h = handles();
  if (!h.cudnn) {
    AD_CUDNN_CHECK(cudnnCreate(&h.cudnn));
    AD_CUDNN_CHECK(cudnnSetStream(h.cudnn, cuda_stream()));
  }
  return h.cudnn;
}

void* cuda_allocate(size_t bytes) { return allocator().allocate(bytes); }
void cuda_free(void* ptr, size_t) { allocator().release(ptr); }
MemoryStats cuda_memory_stats() { return probe().ok ? allocator().stats() : MemoryStats{}; }
void cuda_reset_peak() { allocator().reset_peak(); }
void cuda_release_cached() { allocator().release_cached(); }

namespace detail {
void cuda_memcpy(void* dst, const void* src, size_t bytes, int kind) {
  AD_CHECK(cuda_available(), "copy", "CUDA copy requested but ", cuda_status());
  cudaMemcpyKind k = kind == 0 ? cudaMemcpyHostToDevice
                     : kind == 1 ? cudaMemcpyDeviceToHost
                                 : cudaMemcpyDeviceToDevice;
  AD_CUDA_CHECK(cudaMemcpy(dst, src, bytes, k));
  detail::count_copy(kind != 0, kind != 1);
}
void cuda_memset_zero(void* dst, size_t bytes) {
  AD_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, cuda_stream()));
  detail::count_launch();
}
}  // namespace detail

}  // namespace ad
