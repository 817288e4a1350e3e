// Internals of the emulated launch shared by emulated_launch.cpp (fibers, schedules, barriers, warp
// rendezvous) and emulated_memory.cpp (the access hooks: shared-memory races, initcheck, shared_array
// bounds, registered global buffers). Not for kernels or tests.
#pragma once
#include <ucontext.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/launch.h"

namespace ad::emu {

// Who made an access, in terms that decide whether two accesses are ordered. `phase` is a stamp unique to
// one barrier phase of one block of one launch (a global counter), so equal stamps mean "same block, same
// phase"; `rv_id` / `rv_mask` are the last warp rendezvous the thread completed and its lanes.
struct Access {
  uint32_t phase = 0;  // 0: none recorded
  uint32_t launch = 0;
  uint32_t block = 0;
  uint16_t tid = 0;
  uint8_t atomic = 0;
  uint32_t rv_id = 0;  // the warp's rendezvous counter when the access happened
};

// Per-byte (shared) or per-4-byte (global) history: the last writer and up to two readers since.
struct Shadow {
  Access writer, reader1, reader2;
};

// One shared_array piece as the emulation laid it out: [offset, offset + bytes) in the emulated buffer,
// surrounded by red zones.
struct SharedPiece {
  size_t device_offset = 0, offset = 0, bytes = 0;
};

// The same history for every byte of a block's shared memory, as a structure of arrays (the hot path of
// the checks); plus whether the byte lies in a shared_array piece (1) or a red zone (0). Shared memory
// needs no launch or block in its records: phase stamps are unique to one block's phase.
struct SharedShadow {
  std::vector<uint32_t> w_phase, w_rv, r1_phase, r1_rv, r2_phase, r2_rv;
  std::vector<uint16_t> w_tid, r1_tid, r2_tid;
  std::vector<uint8_t> w_atomic, kind;
  void resize(size_t n) {
    for (auto* v : {&w_phase, &w_rv, &r1_phase, &r1_rv, &r2_phase, &r2_rv}) v->assign(n, 0);
    for (auto* v : {&w_tid, &r1_tid, &r2_tid}) v->assign(n, 0);
    w_atomic.assign(n, 0);
    kind.assign(n, 0);
  }
};

// A registered host buffer and, while launches race-check it, its shadow (one entry per 4 bytes).
struct RegisteredBuffer {
  uintptr_t lo = 0, hi = 0;
  std::string name;
  std::vector<Shadow> shadow;
};

class MemoryChecker;

// A suspended fiber: on x86-64 its saved stack pointer (a hand-written switch that saves only the
// callee-saved registers; swapcontext's signal-mask system call per switch dominated the run time),
// elsewhere a ucontext.
struct FiberContext {
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)  // ASan follows swapcontext, not our switch
  void* sp = nullptr;
#else
  ucontext_t uc{};
#endif
};
// Prepares `f` to run fn() on [stack, stack + size); fn must never return (it switches away for good).
void fiber_init(FiberContext& f, char* stack, size_t size, void (*fn)());
// Saves the running fiber in `from` and resumes `to`.
void fiber_switch(FiberContext& from, FiberContext& to);

}  // namespace ad::emu

namespace ad {

class EmulatedBlock {
 public:
  enum class State : uint8_t { Ready, AtBarrier, AtWarp, Done };
  static constexpr size_t kRedZone = 64;     // bytes around every shared_array piece
  static constexpr size_t kMaxPieces = 64;   // pieces that get red zones (later ones do not)

  struct Thread {
    State state = State::Ready;
    unsigned arrivals = 0;  // barriers passed
    int line = -1;          // where it waits (barrier or warp op)
    int sites[EmulatedContext::kMaxSiteDepth] = {};
    int site_depth = 0;
    // pending warp operation and its result
    WarpOp op = WarpOp::Sync;
    unsigned mask = 0;
    uint64_t bits = 0, result = 0;
    int arg = 0;
    uint32_t rv_id = 0, rv_mask = 0;  // last completed warp rendezvous
    size_t pieces = 0;                // shared_array pieces carved so far
  };

  EmulatedBlock(const LaunchConfig& cfg, const char* kernel, EmulatedBody body, void* closure, uint32_t launch);
  ~EmulatedBlock();
  EmulatedBlock(const EmulatedBlock&) = delete;
  EmulatedBlock& operator=(const EmulatedBlock&) = delete;

  // Returns an empty string when the block ran cleanly, else what went wrong.
  std::string run(Dim3 block, uint32_t block_linear, std::mt19937_64& rng);

  void arrive(EmulatedContext& c, int line);
  uint64_t warp(EmulatedContext& c, WarpOp op, unsigned mask, uint64_t bits, int arg, int line);
  void* shared_bytes(EmulatedContext& c, size_t n);
  void fail(const std::string& what) {
    if (error_.empty()) error_ = what;
  }
  std::string thread_name(size_t t) const;

  // ---- read by the memory checker ----
  const LaunchConfig cfg_;
  const char* kernel_;
  uint32_t launch_ = 0, block_linear_ = 0;
  Dim3 block_{};
  uint32_t phase_ = 0, first_phase_ = 0;  // this phase's stamp, the block's first
  size_t current_ = 0;                    // the running thread
  std::vector<Thread> threads_;
  std::vector<uint32_t> warp_rv_;         // completed rendezvous per warp
  std::vector<unsigned char> shared_;     // emulated shared memory with red zones
  std::vector<emu::SharedPiece> pieces_;
  emu::MemoryChecker* memory_ = nullptr;
  char* stack_base_ = nullptr;
  size_t stack_span_ = 0;                 // bytes of the whole stack mapping
  std::vector<EmulatedContext> contexts_;

 private:
  static void entry();
  void ensure_stacks(size_t n);
  std::string settle();  // after a pass: complete barriers or report why the block cannot go on
  std::string check_red_zones() const;
  void complete_warp_op(size_t first_lane, unsigned warp);

  EmulatedBody body_;
  void* closure_;
  std::vector<emu::FiberContext> fibers_;
  std::vector<unsigned char> overflow_;
  std::vector<size_t> order_;
  emu::FiberContext scheduler_{};
  size_t stack_count_ = 0;
  size_t shared_capacity_ = 0;
  std::string error_;
};

}  // namespace ad

namespace ad::emu {

// Race, initialisation and bounds checks over the accesses the hooks report. One per launch.
class MemoryChecker {
 public:
  MemoryChecker(EmulatedBlock& b, bool enabled);
  bool enabled() const { return enabled_; }
  void begin_block();                         // every shared byte a red zone until carved
  void add_piece(size_t offset, size_t bytes);  // a shared_array piece: bytes that may be accessed
  void access(uintptr_t a, size_t n, bool write, bool atomic);

 private:
  void shared_access(size_t off, size_t n, bool write, bool atomic);
  // Whether the shared-memory access (phase, tid, rv) may run concurrently with the current thread's.
  bool concurrent(uint32_t phase, uint16_t tid, uint32_t rv) const;
  void global_access(RegisteredBuffer& buf, uintptr_t a, size_t n, bool write, bool atomic);
  Access me() const;
  bool unordered(const Access& prev, const Access& cur) const;
  std::string who(const Access& a) const;
  std::string where_shared(size_t off) const;

  void report(const std::string& what);

  EmulatedBlock& b_;
  bool enabled_;
  uintptr_t main_stack_lo_ = 0, main_stack_hi_ = 0;
  bool strict_ = false;  // buffers are registered: accesses outside them are errors
  SharedShadow shared_;
};

// The checker of the kernel thread running now, or null (the hooks then do nothing). Emulation runs on
// one OS thread at a time; the hooks read this plain global on every access of the test code.
extern MemoryChecker* active_checker;
// Stamps: a fresh barrier-phase stamp, a fresh launch number.
uint32_t next_phase();
uint32_t next_launch();

}  // namespace ad::emu
