// Emulated kernel launches: every block in turn (in the schedule's block order), every thread of a block
// as a fiber on one OS thread. A thread runs until it reaches a barrier, a warp primitive or
// returns. A warp primitive completes when every lane its mask names has arrived at it (a rendezvous);
// a barrier completes when every live thread waits at it. Between barriers the threads run in the
// schedule's order (forward, reversed, or a fresh seeded permutation per phase), which is what moves a
// missing barrier or an order-dependent sum into view. The cost is a context switch per thread per
// barrier, cheap enough for the small, awkward shapes tests use.
//
// Barrier identity: every thread counts the barriers it has passed; the threads meeting at a barrier
// must also wait at the same line and, inside helpers that open a BarrierScope (block_reduce), come from
// the same call line. So `if (c) block_reduce(...); else block_reduce(...);` is two barriers and is
// reported, as compute-sanitizer's synccheck does.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <sstream>

#include "kernels/emulated_internal.h"
#include "runtime/error.h"

namespace ad {

namespace {
constexpr size_t kStackBytes = 64 * 1024;
constexpr size_t kGuardBytes = 16 * 1024;  // PROT_NONE below every fiber stack
constexpr size_t kSlotBytes = kStackBytes + kGuardBytes;
thread_local EmulatedBlock* running_block = nullptr;

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::Sync: return "warp_sync";
    case WarpOp::ShflXor: return "shfl_xor";
    case WarpOp::ShflDown: return "shfl_down";
    case WarpOp::ShflIdx: return "shfl_idx";
    case WarpOp::Ballot: return "ballot";
    case WarpOp::Any: return "any";
    case WarpOp::All: return "all";
  }
  return "?";
}

std::string hex(unsigned m) {
  std::ostringstream os;
  os << "0x" << std::hex << m;
  return os.str();
}

// ---- stack overflow: a guard-page fault inside the fiber stacks ends the process with a clear line ----
std::atomic<char*> guard_lo{nullptr};
std::atomic<size_t> guard_span{0};
struct sigaction previous_segv {};

void on_segv(int sig, siginfo_t* info, void* uctx) {
  char* a = static_cast<char*>(info->si_addr);
  char* lo = guard_lo.load();
  size_t span = guard_span.load();
  if (lo && a >= lo && a < lo + span && size_t(a - lo) % kSlotBytes < kGuardBytes) {
    static const char msg[] =
        "emulate_launch: a kernel thread overflowed its 64 KiB fiber stack (guard page hit): "
        "deep recursion or a large local array in the kernel\n";
    ssize_t ignored = write(2, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(134);
  }
  // Not ours: hand over to whoever was there before (or the default action).
  sigaction(SIGSEGV, &previous_segv, nullptr);
  (void)sig;
  (void)uctx;
}

void install_overflow_handler() {
  static thread_local std::vector<char> alt(64 * 1024);
  static thread_local bool alt_set = false;
  if (!alt_set) {
    stack_t ss{};
    ss.ss_sp = alt.data();
    ss.ss_size = alt.size();
    sigaltstack(&ss, nullptr);
    alt_set = true;
  }
  static bool installed = false;
  if (installed) return;
  struct sigaction sa {};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &previous_segv);
  installed = true;
}

// ---- schedules ----
const EmulationSchedule kSchedules[] = {
    {"forward", ThreadOrder::Forward, ThreadOrder::Forward, 0},
    {"reversed", ThreadOrder::Reversed, ThreadOrder::Reversed, 0},
    {"random", ThreadOrder::Random, ThreadOrder::Random, 0x5eed2026u},
};
thread_local EmulationSchedule current_schedule = kSchedules[0];
bool memory_checks_default() {  // AD_EMULATION_MEMORY_CHECKS=0 turns them off (to time them)
  const char* e = std::getenv("AD_EMULATION_MEMORY_CHECKS");
  return !(e && std::string(e) == "0");
}
thread_local bool memory_checks_on = memory_checks_default();

void order_for(ThreadOrder o, std::vector<size_t>& v, size_t n, std::mt19937_64& rng) {
  v.resize(n);
  std::iota(v.begin(), v.end(), size_t(0));
  if (o == ThreadOrder::Reversed) std::reverse(v.begin(), v.end());
  if (o == ThreadOrder::Random) std::shuffle(v.begin(), v.end(), rng);
}
}  // namespace

const EmulationSchedule* emulation_schedules(size_t* count) {
  *count = sizeof(kSchedules) / sizeof(kSchedules[0]);
  return kSchedules;
}
const EmulationSchedule& emulation_schedule() { return current_schedule; }
void set_emulation_schedule(const EmulationSchedule& s) { current_schedule = s; }
void set_emulation_memory_checks(bool on) { memory_checks_on = on; }
bool emulation_memory_checks() { return memory_checks_on; }

namespace emu {
namespace {
std::atomic<uint32_t> phase_counter{0}, launch_counter{0};
}

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)  // ASan follows swapcontext, not our switch
// ad_emu_switch(save_sp, to_sp): pushes the callee-saved registers, MXCSR and the x87 control word on the
// current stack, stores the stack pointer in *save_sp, switches to to_sp and pops the same from there.
extern "C" void ad_emu_switch(void** save_sp, void* to_sp);
asm(R"(
  .text
  .globl ad_emu_switch
  .type ad_emu_switch,@function
ad_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size ad_emu_switch, .-ad_emu_switch
  .section .note.GNU-stack,"",@progbits
  .text
)");

void fiber_init(FiberContext& f, char* stack, size_t size, void (*fn)()) {
  uint64_t* s = reinterpret_cast<uint64_t*>((uintptr_t(stack) + size) & ~uintptr_t(15));
  *--s = 0;                // fn's return address slot: fn never returns
  *--s = uint64_t(fn);     // where ad_emu_switch's ret goes (16-byte aligned, as after a call)
  for (int i = 0; i < 6; ++i) *--s = 0;  // rbp, rbx, r12-r15
  uint32_t mxcsr = 0;
  uint16_t fpcw = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpcw));
  *--s = uint64_t(mxcsr) | (uint64_t(fpcw) << 32);
  f.sp = s;
}
void fiber_switch(FiberContext& from, FiberContext& to) { ad_emu_switch(&from.sp, to.sp); }
#else
void fiber_init(FiberContext& f, char* stack, size_t size, void (*fn)()) {
  getcontext(&f.uc);
  f.uc.uc_stack.ss_sp = stack;
  f.uc.uc_stack.ss_size = size;
  f.uc.uc_link = nullptr;
  makecontext(&f.uc, fn, 0);
}
void fiber_switch(FiberContext& from, FiberContext& to) { swapcontext(&from.uc, &to.uc); }
#endif
uint32_t next_phase() { return ++phase_counter; }
uint32_t next_launch() { return ++launch_counter; }
}  // namespace emu

// ---- the block runner ----
EmulatedBlock::EmulatedBlock(const LaunchConfig& cfg, const char* kernel, EmulatedBody body, void* closure,
                             uint32_t launch)
    : cfg_(cfg), kernel_(kernel), launch_(launch), body_(body), closure_(closure) {
  size_t nthreads = size_t(cfg_.block.x) * cfg_.block.y * cfg_.block.z;
  ensure_stacks(nthreads);
  threads_.resize(nthreads);
  contexts_.resize(nthreads);
  fibers_.resize(nthreads);
  warp_rv_.assign((nthreads + kWarpSize - 1) / kWarpSize, 0);
  shared_capacity_ = cfg_.shared_bytes + kRedZone * (kMaxPieces + 1) + 16;
  shared_.assign(shared_capacity_, 0xFF);
}

EmulatedBlock::~EmulatedBlock() = default;  // the stacks stay in this OS thread's pool

namespace {
// Fiber stacks with their guard pages, kept per OS thread from one launch to the next: mapping them, setting the
// guard pages and faulting the stack pages in again cost more than running a small kernel (the emulated device
// launches thousands of those in a training step).
struct StackPool {
  char* base = nullptr;
  size_t count = 0;
  void release() {
    if (!base) return;
    if (guard_lo.load() == base) guard_lo.store(nullptr);
    munmap(base, count * kSlotBytes);
    base = nullptr;
    count = 0;
  }
  ~StackPool() { release(); }
};
thread_local StackPool stack_pool;
}  // namespace

void EmulatedBlock::ensure_stacks(size_t n) {
  StackPool& pool = stack_pool;
  if (n > pool.count) {
    pool.release();
    void* p = mmap(nullptr, n * kSlotBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    AD_CHECK(p != MAP_FAILED, "emulate_launch", "cannot map stacks for ", n, " threads");
    pool.base = static_cast<char*>(p);
    pool.count = n;
    for (size_t t = 0; t < n; ++t) mprotect(pool.base + t * kSlotBytes, kGuardBytes, PROT_NONE);
  }
  stack_base_ = pool.base;
  stack_count_ = pool.count;
  stack_span_ = pool.count * kSlotBytes;
  install_overflow_handler();
  guard_span.store(stack_span_);
  guard_lo.store(stack_base_);
}

std::string EmulatedBlock::thread_name(size_t t) const {
  const Dim3 d = contexts_[t].thread_;
  std::ostringstream os;
  os << "thread (" << d.x << "," << d.y << "," << d.z << ")";
  return os.str();
}

void EmulatedBlock::entry() {
  EmulatedBlock* self = running_block;
  size_t me = self->current_;
  self->body_(self->closure_, self->contexts_[me]);
  self->threads_[me].state = State::Done;
  emu::fiber_switch(self->fibers_[me], self->scheduler_);  // never resumed
}

std::string EmulatedBlock::run(Dim3 block, uint32_t block_linear, std::mt19937_64& rng) {
  const size_t nthreads = threads_.size();
  block_ = block;
  block_linear_ = block_linear;
  std::fill(shared_.begin(), shared_.end(), 0xFF);  // NaN bytes: reading before writing poisons results
  pieces_.clear();
  std::fill(warp_rv_.begin(), warp_rv_.end(), 0u);
  error_.clear();
  memory_->begin_block();
  phase_ = first_phase_ = emu::next_phase();
  size_t t = 0;
  for (unsigned z = 0; z < cfg_.block.z; ++z)
    for (unsigned y = 0; y < cfg_.block.y; ++y)
      for (unsigned x = 0; x < cfg_.block.x; ++x, ++t) {
        EmulatedContext& c = contexts_[t];
        c = EmulatedContext{};
        c.thread_ = {x, y, z};
        c.block_ = block;
        c.block_dim_ = cfg_.block;
        c.grid_dim_ = cfg_.grid;
        c.linear_ = unsigned(t);
        c.block_runner_ = this;
        threads_[t] = Thread{};
        emu::fiber_init(fibers_[t], stack_base_ + t * kSlotBytes + kGuardBytes, kStackBytes, &EmulatedBlock::entry);
      }
  const EmulationSchedule& sched = current_schedule;
  for (;;) {
    order_for(sched.threads, order_, nthreads, rng);
    bool ran = true;
    while (ran) {  // passes until no thread is ready (warp rendezvous wake earlier lanes)
      ran = false;
      for (size_t k = 0; k < nthreads; ++k) {
        current_ = order_[k];
        if (threads_[current_].state != State::Ready) continue;
        ran = true;
        running_block = this;
        emu::active_checker = memory_->enabled() ? memory_ : nullptr;
        emu::fiber_switch(scheduler_, fibers_[current_]);
        emu::active_checker = nullptr;
        running_block = nullptr;
        if (!error_.empty()) return error_;
      }
    }
    std::string why = settle();
    if (!error_.empty()) return error_;
    if (why == "done") return check_red_zones();
    if (!why.empty()) return why;
  }
}

// Every thread is done or waiting. Releases a barrier all live threads reached ("" to go on), says
// "done", or describes why the block is stuck.
std::string EmulatedBlock::settle() {
  const size_t n = threads_.size();
  size_t waiting = 0, done = 0, first = n;
  for (size_t i = 0; i < n; ++i) {
    if (threads_[i].state == State::Done) ++done;
    if (threads_[i].state == State::AtBarrier && waiting++ == 0) first = i;
  }
  for (size_t i = 0; i < n; ++i) {
    const Thread& th = threads_[i];
    if (th.state != State::AtWarp) continue;
    // A rendezvous that never completed: find the lane that is missing and say where it is.
    unsigned w = unsigned(i / kWarpSize);
    for (unsigned l = 0; l < kWarpSize; ++l) {
      if (!(th.mask >> l & 1u)) continue;
      size_t j = size_t(w) * kWarpSize + l;
      std::ostringstream os;
      os << thread_name(i) << " waits at " << op_name(th.op) << " (line " << th.line << ", mask " << hex(th.mask)
         << ") for lane " << l << ", which ";
      if (j >= n) os << "does not exist (the block has " << n << " threads)";
      else if (threads_[j].state == State::Done) os << "has returned";
      else if (threads_[j].state == State::AtBarrier) os << "waits at a barrier (line " << threads_[j].line << ")";
      else if (threads_[j].state == State::AtWarp && (threads_[j].op != th.op || threads_[j].mask != th.mask))
        os << "waits at " << op_name(threads_[j].op) << " (line " << threads_[j].line << ", mask "
           << hex(threads_[j].mask) << ")";
      else continue;
      return os.str();
    }
    return thread_name(i) + " waits at an incomplete warp rendezvous";
  }
  if (waiting == 0) return "done";
  if (done > 0) {
    std::ostringstream os;
    os << done << " thread(s) returned while " << waiting << " wait at the barrier on line " << threads_[first].line;
    return os.str();
  }
  const Thread& a = threads_[first];
  for (size_t i = 0; i < n; ++i) {
    const Thread& b = threads_[i];
    bool same = b.line == a.line && b.site_depth == a.site_depth;
    for (int d = 0; same && d < a.site_depth && d < EmulatedContext::kMaxSiteDepth; ++d)
      same = a.sites[d] == b.sites[d];
    if (same) continue;
    auto where = [](const Thread& t) {
      std::ostringstream os;
      os << "line " << t.line;
      for (int d = std::min(t.site_depth, EmulatedContext::kMaxSiteDepth) - 1; d >= 0; --d)
        os << " called from line " << t.sites[d];
      return os.str();
    };
    std::ostringstream os;
    os << "divergent barrier: at their barrier #" << a.arrivals + 1 << ", " << thread_name(first) << " waits at "
       << where(a) << " and " << thread_name(i) << " at " << where(b);
    return os.str();
  }
  phase_ = emu::next_phase();
  for (Thread& th : threads_) {
    th.state = State::Ready;
    ++th.arrivals;
  }
  return "";
}

void EmulatedBlock::arrive(EmulatedContext& c, int line) {
  size_t me = current_;
  Thread& th = threads_[me];
  th.state = State::AtBarrier;
  th.line = line;
  th.site_depth = c.site_depth_;
  for (int d = 0; d < c.site_depth_ && d < EmulatedContext::kMaxSiteDepth; ++d) th.sites[d] = c.sites_[d];
  emu::fiber_switch(fibers_[me], scheduler_);
}

uint64_t EmulatedBlock::warp(EmulatedContext& c, WarpOp op, unsigned mask, uint64_t bits, int arg, int line) {
  const size_t me = current_, n = threads_.size();
  const unsigned w = c.warp_id(), lane = c.lane_id();
  Thread& th = threads_[me];
  std::ostringstream err;
  if (!(mask >> lane & 1u)) {
    err << thread_name(me) << " calls " << op_name(op) << " (line " << line << ") with mask " << hex(mask)
        << ", which does not name its own lane " << lane;
    fail(err.str());
  }
  for (unsigned l = 0; l < kWarpSize; ++l)
    if ((mask >> l & 1u) && size_t(w) * kWarpSize + l >= n) {
      err << thread_name(me) << " calls " << op_name(op) << " (line " << line << ") with mask " << hex(mask)
          << " naming lane " << l << ", which does not exist (the block has " << n << " threads)";
      fail(err.str());
      break;
    }
  th.state = State::AtWarp;
  th.op = op;
  th.mask = mask;
  th.bits = bits;
  th.arg = arg;
  th.line = line;
  // Complete the rendezvous when every named lane is here with the same operation and mask.
  bool complete = error_.empty();
  for (unsigned l = 0; complete && l < kWarpSize; ++l) {
    if (!(mask >> l & 1u)) continue;
    const Thread& o = threads_[size_t(w) * kWarpSize + l];
    if (o.state == State::AtWarp && (o.op != op || o.mask != mask)) {
      err << "lanes of warp " << w << " meet at different warp operations: " << thread_name(me) << " at "
          << op_name(op) << " (line " << line << ", mask " << hex(mask) << "), lane " << l << " at "
          << op_name(o.op) << " (line " << o.line << ", mask " << hex(o.mask) << ")";
      fail(err.str());
      complete = false;
    }
    if (o.state != State::AtWarp) complete = false;
  }
  if (complete) complete_warp_op(size_t(w) * kWarpSize, w);
  else emu::fiber_switch(fibers_[me], scheduler_);
  return threads_[me].result;
}

void EmulatedBlock::complete_warp_op(size_t first_lane, unsigned w) {
  const Thread& any = threads_[current_];
  const unsigned mask = any.mask;
  const WarpOp op = any.op;
  uint32_t rv = ++warp_rv_[w];
  unsigned ballot = 0;
  for (unsigned l = 0; l < kWarpSize; ++l)
    if ((mask >> l & 1u) && threads_[first_lane + l].bits) ballot |= 1u << l;
  for (unsigned l = 0; l < kWarpSize; ++l) {
    if (!(mask >> l & 1u)) continue;
    Thread& th = threads_[first_lane + l];
    int src = int(l);
    switch (op) {
      case WarpOp::ShflXor: src = int(l) ^ th.arg; break;
      case WarpOp::ShflDown: src = int(l) + th.arg; break;
      case WarpOp::ShflIdx: src = th.arg; break;
      default: break;
    }
    if (op == WarpOp::ShflXor || op == WarpOp::ShflDown || op == WarpOp::ShflIdx) {
      if (src < 0 || src >= int(kWarpSize)) {
        if (op != WarpOp::ShflDown) {
          std::ostringstream os;
          os << thread_name(first_lane + l) << ": " << op_name(op) << " (line " << th.line << ") reads lane " << src
             << ", outside the warp";
          fail(os.str());
        }
        th.result = th.bits;  // shfl_down past the last lane: the lane's own value, as on the GPU
      } else if (!(mask >> src & 1u)) {
        std::ostringstream os;
        os << thread_name(first_lane + l) << ": " << op_name(op) << " (line " << th.line << ") reads lane " << src
           << ", which the mask " << hex(mask) << " does not name (undefined on the GPU)";
        fail(os.str());
        th.result = th.bits;
      } else {
        th.result = threads_[first_lane + size_t(src)].bits;
      }
    } else if (op == WarpOp::Ballot) {
      th.result = ballot;
    } else if (op == WarpOp::Any) {
      th.result = ballot != 0;
    } else if (op == WarpOp::All) {
      th.result = ballot == mask;
    } else {
      th.result = 0;
    }
    th.rv_id = rv;
    th.rv_mask = mask;
    th.state = State::Ready;
  }
}

void* EmulatedBlock::shared_bytes(EmulatedContext& c, size_t n) {
  const size_t device_off = c.shared_offset_, rounded = (n + 15) / 16 * 16;
  c.shared_offset_ += rounded;
  Thread& th = threads_[current_];
  const size_t k = th.pieces++;
  if (device_off + n > cfg_.shared_bytes) {
    std::ostringstream os;
    os << "kernel uses " << device_off + n << " bytes of shared memory (shared_array piece #" << k << " of " << n
       << " bytes), launch gave " << cfg_.shared_bytes;
    fail(os.str());
    overflow_.assign(n + 16, 0xFF);
    return overflow_.data();
  }
  if (k < pieces_.size()) {  // carved before by another thread: it must ask for the same piece
    const emu::SharedPiece& p = pieces_[k];
    if (p.device_offset != device_off || p.bytes != n) {
      std::ostringstream os;
      os << thread_name(current_) << " carves shared_array piece #" << k << " as " << n << " bytes at offset "
         << device_off << ", other threads as " << p.bytes << " bytes at offset " << p.device_offset;
      fail(os.str());
    }
    return shared_.data() + p.offset;
  }
  // New piece: past the previous one and a red zone (later pieces than kMaxPieces share the last zone).
  size_t off = pieces_.empty() ? kRedZone : pieces_.back().offset + (pieces_.back().bytes + 15) / 16 * 16;
  if (k < kMaxPieces) off += pieces_.empty() ? 0 : kRedZone;
  pieces_.push_back({device_off, off, n});
  memory_->add_piece(off, n);
  return shared_.data() + off;
}

// Without the access hooks a write past a piece still shows: its red zone no longer holds NaN bytes.
std::string EmulatedBlock::check_red_zones() const {
  size_t zone = 0;
  for (size_t k = 0; k <= pieces_.size(); ++k) {
    size_t end = k < pieces_.size() ? pieces_[k].offset : std::min(shared_.size(), zone + kRedZone);
    for (size_t i = zone; i < end; ++i)
      if (shared_[i] != 0xFF) {
        std::ostringstream os;
        if (k == 0) os << "write before shared_array piece #0";
        else
          os << "write past shared_array piece #" << k - 1 << " (" << pieces_[k - 1].bytes << " bytes) at its byte "
             << i - pieces_[k - 1].offset;
        return os.str();
      }
    if (k < pieces_.size()) zone = pieces_[k].offset + pieces_[k].bytes;
  }
  return "";
}

namespace {
// The runtime's own work inside a kernel call (it may run instrumented library code) is not the kernel's.
struct HooksOff {
  emu::MemoryChecker* saved = emu::active_checker;
  HooksOff() { emu::active_checker = nullptr; }
  ~HooksOff() { emu::active_checker = saved; }
};
}  // namespace

void EmulatedContext::sync(int line) {
  HooksOff off;
  block_runner_->arrive(*this, line);
}
void* EmulatedContext::shared_bytes(size_t n) {
  HooksOff off;
  return block_runner_->shared_bytes(*this, n);
}
uint64_t EmulatedContext::warp(WarpOp op, unsigned mask, uint64_t bits, int arg, int line) {
  HooksOff off;
  return block_runner_->warp(*this, op, mask, bits, arg, line);
}

void emulate_launch(const LaunchConfig& cfg, const char* kernel_name, EmulatedBody body, void* closure) {
  const Dim3 b = cfg.block;
  AD_CHECK(size_t(b.x) * b.y * b.z <= 1024 && b.z <= 64, "emulate_launch", kernel_name, ": block of ", b.x, "x",
           b.y, "x", b.z, " exceeds CUDA's 1024 threads");
  AD_CHECK(cfg.grid.y <= 65535 && cfg.grid.z <= 65535, "emulate_launch", kernel_name, ": grid y/z exceeds 65535");
  AD_CHECK(cfg.shared_bytes <= kMaxSharedBytes, "emulate_launch", kernel_name, ": ", cfg.shared_bytes,
           " bytes of shared memory exceed a block's ", kMaxSharedBytes / 1024, " KiB on sm_80");
  if (cfg.grid.x == 0 || cfg.grid.y == 0 || cfg.grid.z == 0) return;
  if (size_t(b.x) * b.y * b.z == 0) return;
  const EmulationSchedule& sched = current_schedule;
  std::mt19937_64 rng(sched.seed);
  EmulatedBlock runner(cfg, kernel_name, body, closure, emu::next_launch());
  emu::MemoryChecker memory(runner, memory_checks_on);
  runner.memory_ = &memory;
  const size_t nblocks = size_t(cfg.grid.x) * cfg.grid.y * cfg.grid.z;
  std::vector<size_t> blocks;
  order_for(sched.blocks, blocks, nblocks, rng);
  for (size_t lin : blocks) {
    Dim3 id{unsigned(lin % cfg.grid.x), unsigned(lin / cfg.grid.x % cfg.grid.y),
            unsigned(lin / (size_t(cfg.grid.x) * cfg.grid.y))};
    std::string err = runner.run(id, uint32_t(lin), rng);
    AD_CHECK(err.empty(), "emulate_launch", kernel_name, " block (", id.x, ",", id.y, ",", id.z, "): ", err);
  }
}

}  // namespace ad
