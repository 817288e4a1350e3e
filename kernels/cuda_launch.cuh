// The GPU side of kernels/launch.h: a context over threadIdx/__shared__/__syncthreads and a
// launcher that checks the launch. Included only by .cu files.
#pragma once
#include "kernels/launch.h"
#include "runtime/cuda_context.h"

namespace ad {

class DeviceContext {
 public:
  __device__ Dim3 thread_idx() const { return {threadIdx.x, threadIdx.y, threadIdx.z}; }
  __device__ Dim3 block_idx() const { return {blockIdx.x, blockIdx.y, blockIdx.z}; }
  __device__ Dim3 block_dim() const { return {blockDim.x, blockDim.y, blockDim.z}; }
  __device__ Dim3 grid_dim() const { return {gridDim.x, gridDim.y, gridDim.z}; }
  __device__ void sync() { __syncthreads(); }
  __device__ void* shared_bytes(size_t n) {
    extern __shared__ __align__(16) unsigned char ad_dynamic_smem[];
    void* p = ad_dynamic_smem + offset_;
    offset_ += (n + 15) / 16 * 16;
    return p;
  }
  template <class T> __device__ T atomic_add(T* p, T v) { return atomicAdd(p, v); }

 private:
  size_t offset_ = 0;
};

template <class K, class... Args> __global__ void kernel_entry(Args... args) {
  DeviceContext ctx;
  K::run(ctx, args...);
}

struct CudaLauncher {
  template <class K, class... Args> void launch(const LaunchConfig& cfg, Args... args) {
    if (cfg.grid.x == 0 || cfg.grid.y == 0 || cfg.grid.z == 0) return;
    if (cfg.shared_bytes > 48 * 1024)
      AD_CUDA_CHECK(cudaFuncSetAttribute(kernel_entry<K, Args...>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, int(cfg.shared_bytes)));
    dim3 g(cfg.grid.x, cfg.grid.y, cfg.grid.z), b(cfg.block.x, cfg.block.y, cfg.block.z);
    kernel_entry<K, Args...><<<g, b, cfg.shared_bytes, cuda_stream()>>>(args...);
    AD_CUDA_CHECK(cudaGetLastError());
  }
  static constexpr bool on_device = true;
};

}  // namespace ad
