// How kernels are written here so that the same code runs on a GPU and, emulated, on the CPU.
//
// A kernel is a struct with one static member template
//     template <class Ctx> AD_HD static void run(Ctx& ctx, args...);
// that uses only the context for anything CUDA-specific:
//     ctx.thread_idx(), ctx.block_idx(), ctx.block_dim(), ctx.grid_dim()  -> Dim3
//     ctx.sync()                       -> __syncthreads()
//     shared_array<T>(ctx, n)          -> n elements of the block's dynamic shared memory
//                                         (successive calls carve successive, 16-byte aligned pieces)
//     ctx.atomic_add(ptr, v)           -> atomicAdd
// No __shared__ arrays, warp shuffles or other intrinsics inside `run` (use shared memory).
//
// Launchers are small function templates over a launcher type L:
//     template <class L> void launch_relu(L& l, const float* x, float* y, int64_t n) {
//       l.template launch<ReluKernel>(LaunchConfig{{blocks(n, 256)}, {256}, 0}, x, y, n);
//     }
// The .cu file calls them with CudaLauncher (cuda_launch.cuh); tests call them with
// EmulatedLauncher (below) on host memory, which runs every block, every thread as a fiber,
// barriers as real rendezvous points, and shared memory as a per-block buffer filled with NaN
// bytes so a read before a write shows up. It reports a thread that leaves while others wait at a
// barrier, threads waiting at different barriers, and shared memory used beyond the launch's size.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "runtime/hd.h"

namespace ad {

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

struct LaunchConfig {
  Dim3 grid;
  Dim3 block;
  size_t shared_bytes = 0;
};

AD_HD inline unsigned blocks_for(int64_t n, unsigned threads) {
  return unsigned((n + threads - 1) / threads);
}

// Works with any context (a free function so kernel templates need no `ctx.template`).
template <class T, class Ctx> AD_HD inline T* shared_array(Ctx& ctx, size_t n) {
  return static_cast<T*>(ctx.shared_bytes(n * sizeof(T)));
}

// ---- CPU emulation ---------------------------------------------------------
class EmulatedBlock;

class EmulatedContext {
 public:
  Dim3 thread_idx() const { return thread_; }
  Dim3 block_idx() const { return block_; }
  Dim3 block_dim() const { return block_dim_; }
  Dim3 grid_dim() const { return grid_dim_; }
  void sync(int line = __builtin_LINE());
  template <class T> T atomic_add(T* p, T v) {  // fibers of a launch share one OS thread
    T old = *p;
    *p = old + v;
    return old;
  }

  void* shared_bytes(size_t n);  // use shared_array<T>(ctx, n)

 private:
  friend class EmulatedBlock;
  Dim3 thread_, block_, block_dim_, grid_dim_;
  size_t shared_offset_ = 0;
  EmulatedBlock* block_runner_ = nullptr;
};

// Runs one launch on the CPU; throws ad::Error naming the kernel problem it saw.
void emulate_launch(const LaunchConfig& cfg, const char* kernel_name,
                    const std::function<void(EmulatedContext&)>& body);

struct EmulatedLauncher {
  template <class K, class... Args> void launch(const LaunchConfig& cfg, Args... args) {
    emulate_launch(cfg, typeid(K).name(), [&](EmulatedContext& ctx) { K::run(ctx, args...); });
  }
  // Emulated launches see host memory.
  static constexpr bool on_device = false;
};

}  // namespace ad

#include <typeinfo>
