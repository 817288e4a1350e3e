// The GPU side of kernels/launch.h: a context over threadIdx/__shared__/__syncthreads and a
// launcher that checks the launch. Included only by .cu files.
#pragma once
#include "kernels/launch.h"
#include "runtime/cuda_context.h"
#include "runtime/device_counters.h"

namespace ad {

class DeviceContext {
 public:
  __device__ Dim3 thread_idx() const { return {threadIdx.x, threadIdx.y, threadIdx.z}; }
  __device__ Dim3 block_idx() const { return {blockIdx.x, blockIdx.y, blockIdx.z}; }
  __device__ Dim3 block_dim() const { return {blockDim.x, blockDim.y, blockDim.z}; }
  __device__ Dim3 grid_dim() const { return {gridDim.x, gridDim.y, gridDim.z}; }
  __device__ unsigned lane_id() const { return linear() % kWarpSize; }
  __device__ unsigned warp_id() const { return linear() / kWarpSize; }
  __device__ void sync(int = 0) { __syncthreads(); }
  __device__ void* shared_bytes(size_t n) {
    extern __shared__ __align__(16) unsigned char ad_dynamic_smem[];
    void* p = ad_dynamic_smem + offset_;
    offset_ += (n + 15) / 16 * 16;
    return p;
  }
  template <class T> __device__ T atomic_add(T* p, T v) { return atomicAdd(p, v); }

  // Warp primitives (the emulation checks the masks; here they are the intrinsics).
  template <class T> __device__ T shfl_xor(unsigned mask, T v, int lane_mask) {
    return __shfl_xor_sync(mask, v, lane_mask);
  }
  template <class T> __device__ T shfl_down(unsigned mask, T v, unsigned delta) {
    return __shfl_down_sync(mask, v, delta);
  }
  template <class T> __device__ T shfl_idx(unsigned mask, T v, int src_lane) { return __shfl_sync(mask, v, src_lane); }
  __device__ unsigned ballot(unsigned mask, bool pred) { return __ballot_sync(mask, pred); }
  __device__ bool any(unsigned mask, bool pred) { return __any_sync(mask, pred) != 0; }
  __device__ bool all(unsigned mask, bool pred) { return __all_sync(mask, pred) != 0; }
  __device__ void warp_sync(unsigned mask) { __syncwarp(mask); }
  // Barrier identity is the emulation's concern.
  __device__ void push_barrier_site(int) {}
  __device__ void pop_barrier_site() {}

 private:
  __device__ unsigned linear() const { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }
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
    detail::count_launch();
  }
  static constexpr bool on_device = true;
};

}  // namespace ad
