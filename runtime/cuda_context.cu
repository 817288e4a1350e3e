// CUDA state for the process: device probe, one stream, library handles, and the raw memory (cudaMalloc,
// cudaFree) under the caching allocator in runtime/memory.cpp, which also serves the emulated device. With
// AD_CUDA_ALLOCATOR_DEBUG=1 in the environment that allocator asks cudaMalloc for the exact size and frees at
// once (no rounding, no reuse), so compute-sanitizer's memcheck sees a one-element overrun or a use after free
// (tools/gpu_check.sh sets it).

#include "runtime/cuda_context.h"
#include "runtime/device_counters.h"
#include "runtime/memory.h"
#include "runtime/step_graph.h"

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

void* raw_allocate(size_t size) {
  void* p = nullptr;
  // A step being captured (runtime/step_graph) may need a new block for its private pool: cudaMalloc is a
  // "potentially unsafe" call that would invalidate a thread-local capture, so it runs in relaxed mode (as
  // PyTorch's allocator does). The block outlives the graph's replays, so not capturing it is what we want.
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  cudaThreadExchangeStreamCaptureMode(&mode);
  cudaError_t e = cudaMalloc(&p, size);
  cudaThreadExchangeStreamCaptureMode(&mode);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    return nullptr;
  }
  if (e != cudaSuccess) AD_FAIL("allocate", "cudaMalloc of ", size, " bytes failed: ", cudaGetErrorString(e));
  return p;
}
void raw_free(void* p) { cudaFree(p); }
void raw_synchronize() { cudaDeviceSynchronize(); }

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

// The legacy default stream (ordered with cudaMemcpy), or the capture stream while this thread captures a step
// (runtime/step_graph.h).
cudaStream_t cuda_stream() { return static_cast<cudaStream_t>(detail::cuda_capture_stream()); }

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

const RawDeviceMemory& cuda_raw_memory() {
  static const RawDeviceMemory raw{"cudaMalloc", raw_allocate, raw_free, raw_synchronize};
  return raw;
}

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
