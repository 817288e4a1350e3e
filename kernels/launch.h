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
//   warp primitives (arguments in CUDA's order; `mask` names the lanes taking part, kFullWarp = all 32):
//     ctx.lane_id(), ctx.warp_id()     -> linear thread index % 32, / 32
//     ctx.shfl_xor(mask, v, lane_mask) -> __shfl_xor_sync     ctx.shfl_down(mask, v, delta) -> __shfl_down_sync
//     ctx.shfl_idx(mask, v, src_lane)  -> __shfl_sync        ctx.ballot(mask, pred)        -> __ballot_sync
//     ctx.any(mask, pred), ctx.all(mask, pred) -> __any_sync, __all_sync
//     ctx.warp_sync(mask)              -> __syncwarp
// No __shared__ arrays or raw intrinsics inside `run`. A helper that contains barriers (block_reduce)
// opens a BarrierScope with its caller's line, so two calls of it from different lines are different
// barriers to the emulation.
//
// Launchers are small function templates over a launcher type L:
//     template <class L> void launch_relu(L& l, const float* x, float* y, int64_t n) {
//       l.template launch<ReluKernel>(LaunchConfig{{blocks(n, 256)}, {256}, 0}, x, y, n);
//     }
// The .cu file calls them with DeviceLauncher (kernels/device_backend.h: CudaLauncher under nvcc, and the
// emulated device's counting EmulatedDeviceLauncher when the file is compiled for Device::Emulated, see
// kernels/dispatch.h); tests call them with EmulatedLauncher (below) on host memory. The emulation (emulated_launch.cpp) runs every thread of a
// block as a fiber, in the order the current schedule says (forward, reversed or seeded-random per
// barrier phase; blocks in order, reversed or shuffled); barriers and warp primitives are real
// rendezvous points. It reports: a thread that leaves while others wait at a barrier; threads of a block
// at different barriers (same arrival count, different line or helper call site); a warp primitive whose
// mask names a lane that has exited, waits elsewhere or does not exist; a shared_array piece used past
// its size or the launch's shared memory; more than 163 KiB of shared memory (sm_80's limit). Fiber
// stacks end in guard pages. When the test code is compiled with the access hooks (every test file that
// uses EmulatedLauncher, see tests/CMakeLists.txt and emulated_memory.cpp) every kernel load and store is
// also checked: shared-memory races per barrier
// phase and uninitialised shared reads, and, over the buffers a test registered (test::GuardedBuffer
// does), races between threads of one launch and accesses outside every registered buffer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <typeinfo>

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

constexpr unsigned kWarpSize = 32;
constexpr unsigned kFullWarp = 0xffffffffu;
// Dynamic shared memory a block may use on the smallest architecture we build for (sm_80).
constexpr size_t kMaxSharedBytes = 163 * 1024;

AD_HD inline unsigned blocks_for(int64_t n, unsigned threads) {
  return unsigned((n + threads - 1) / threads);
}

// Works with any context (a free function so kernel templates need no `ctx.template`).
template <class T, class Ctx> AD_HD inline T* shared_array(Ctx& ctx, size_t n) {
  return static_cast<T*>(ctx.shared_bytes(n * sizeof(T)));
}

// Names the call site of a helper that contains barriers, for the emulation's barrier identity:
//     template <class Ctx> float helper(Ctx& ctx, ..., int call_line = __builtin_LINE()) {
//       BarrierScope<Ctx> scope(ctx, call_line); ... ctx.sync(); ... }
// On the GPU it does nothing.
template <class Ctx> struct BarrierScope {
  AD_HD BarrierScope(Ctx& c, int call_line) : ctx(c) { ctx.push_barrier_site(call_line); }
  AD_HD ~BarrierScope() { ctx.pop_barrier_site(); }
  BarrierScope(const BarrierScope&) = delete;
  BarrierScope& operator=(const BarrierScope&) = delete;
  Ctx& ctx;
};

// ---- CPU emulation ---------------------------------------------------------
class EmulatedBlock;

// The warp operations the emulation rendezvouses on.
enum class WarpOp : uint8_t { Sync, ShflXor, ShflDown, ShflIdx, Ballot, Any, All };

// Atomics run outside the (instrumented) kernel code so the race checks see them as atomic.
float emulated_atomic_add(float* p, float v);
double emulated_atomic_add(double* p, double v);
int32_t emulated_atomic_add(int32_t* p, int32_t v);
uint32_t emulated_atomic_add(uint32_t* p, uint32_t v);
unsigned long long emulated_atomic_add(unsigned long long* p, unsigned long long v);

class EmulatedContext {
 public:
  static constexpr int kMaxSiteDepth = 8;

  Dim3 thread_idx() const { return thread_; }
  Dim3 block_idx() const { return block_; }
  Dim3 block_dim() const { return block_dim_; }
  Dim3 grid_dim() const { return grid_dim_; }
  unsigned lane_id() const { return linear_ % kWarpSize; }
  unsigned warp_id() const { return linear_ / kWarpSize; }

  void sync(int line = __builtin_LINE());
  template <class T> T atomic_add(T* p, T v) { return emulated_atomic_add(p, v); }

  void* shared_bytes(size_t n);  // use shared_array<T>(ctx, n)

  template <class T> T shfl_xor(unsigned mask, T v, int lane_mask, int line = __builtin_LINE()) {
    return from_bits<T>(warp(WarpOp::ShflXor, mask, to_bits(v), lane_mask, line));
  }
  template <class T> T shfl_down(unsigned mask, T v, unsigned delta, int line = __builtin_LINE()) {
    return from_bits<T>(warp(WarpOp::ShflDown, mask, to_bits(v), int(delta), line));
  }
  template <class T> T shfl_idx(unsigned mask, T v, int src_lane, int line = __builtin_LINE()) {
    return from_bits<T>(warp(WarpOp::ShflIdx, mask, to_bits(v), src_lane, line));
  }
  unsigned ballot(unsigned mask, bool pred, int line = __builtin_LINE()) {
    return unsigned(warp(WarpOp::Ballot, mask, pred ? 1 : 0, 0, line));
  }
  bool any(unsigned mask, bool pred, int line = __builtin_LINE()) {
    return warp(WarpOp::Any, mask, pred ? 1 : 0, 0, line) != 0;
  }
  bool all(unsigned mask, bool pred, int line = __builtin_LINE()) {
    return warp(WarpOp::All, mask, pred ? 1 : 0, 0, line) != 0;
  }
  void warp_sync(unsigned mask, int line = __builtin_LINE()) { warp(WarpOp::Sync, mask, 0, 0, line); }

  void push_barrier_site(int call_line) {
    if (site_depth_ < kMaxSiteDepth) sites_[site_depth_] = call_line;
    ++site_depth_;
  }
  void pop_barrier_site() { --site_depth_; }

 private:
  friend class EmulatedBlock;
  template <class T> static uint64_t to_bits(const T& v) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "warp shuffles move at most 8 bytes");
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
  }
  template <class T> static T from_bits(uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
  }
  uint64_t warp(WarpOp op, unsigned mask, uint64_t bits, int arg, int line);

  Dim3 thread_, block_, block_dim_, grid_dim_;
  unsigned linear_ = 0;  // x + y * bx + z * bx * by: the index warps are cut from
  size_t shared_offset_ = 0;
  int sites_[kMaxSiteDepth] = {};
  int site_depth_ = 0;
  EmulatedBlock* block_runner_ = nullptr;
};

// The order in which the emulation runs threads within each barrier phase and the blocks of a grid.
enum class ThreadOrder { Forward, Reversed, Random };
struct EmulationSchedule {
  const char* name = "forward";
  ThreadOrder threads = ThreadOrder::Forward;
  ThreadOrder blocks = ThreadOrder::Forward;
  uint64_t seed = 0;  // for Random
};
// Forward / forward, reversed / reversed, seeded-random per phase / shuffled.
const EmulationSchedule* emulation_schedules(size_t* count);
// The schedule emulated launches on this OS thread use (forward unless set).
const EmulationSchedule& emulation_schedule();
void set_emulation_schedule(const EmulationSchedule& s);

// Host memory a test hands to emulated kernels (test::GuardedBuffer registers itself). While any buffer
// is registered, and the calling code carries the access hooks, a kernel access outside every
// registered buffer is an error and accesses inside them are race-checked.
void emulation_register_buffer(const void* p, size_t bytes, const char* name);
void emulation_unregister_buffer(const void* p);
// Memory checks on (the default) or off for launches on this OS thread; tests turn them off only to show
// that a planted bug is otherwise invisible.
void set_emulation_memory_checks(bool on);
bool emulation_memory_checks();
// True when this code was compiled with the access hooks (memory checks on).
constexpr bool emulation_memory_checks_compiled() {
#if defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}

// Runs one launch on the CPU; throws ad::Error naming the kernel problem it saw. `body` runs one thread.
using EmulatedBody = void (*)(void* closure, EmulatedContext& ctx);
void emulate_launch(const LaunchConfig& cfg, const char* kernel_name, EmulatedBody body, void* closure);

struct EmulatedLauncher {
  template <class K, class... Args> void launch(const LaunchConfig& cfg, Args... args) {
    auto run_thread = [&](EmulatedContext& ctx) { K::run(ctx, args...); };
    using Closure = decltype(run_thread);
    emulate_launch(cfg, typeid(K).name(),
                   [](void* c, EmulatedContext& ctx) { (*static_cast<Closure*>(c))(ctx); }, &run_thread);
  }
  // Emulated launches see host memory.
  static constexpr bool on_device = false;
};

}  // namespace ad
