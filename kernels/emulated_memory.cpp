// Memory checks of the emulated launch: every load and store a kernel makes, reported by the compiler.
//
// How the accesses are seen: the kernel tests (tests/kernels) are compiled with GCC/Clang's ThreadSanitizer
// instrumentation (-fsanitize=thread at compile time only), which turns every load and store of that code
// into a call __tsan_readN(addr) / __tsan_writeN(addr). We do not link the ThreadSanitizer runtime; the
// functions below are that runtime's entry points, and they forward to the checker of the kernel thread
// running now (nothing happens outside an emulated launch). Kernels therefore stay plain CUDA-compilable
// code (no load/store wrappers), and the checks cost a call per access only in the test executables.
//
// What is checked, per access:
//   shared memory (per byte, like compute-sanitizer's racecheck and initcheck):
//     - a byte between shared_array pieces (a red zone, or past a piece's size): a piece overrun;
//     - a read of a byte no thread of the block has written yet: uninitialised;
//     - a read of a byte another thread wrote in the same barrier phase, a write of a byte another thread
//       read or wrote in it: a race (atomic_add against atomic_add is exempt; a warp rendezvous between the
//       two accesses of lanes of one warp orders them);
//   global memory, when the test registered its buffers (test::GuardedBuffer does):
//     - an access outside every registered buffer (and outside stacks and shared memory): an error;
//     - per 4 bytes, a read or write of what another thread of the launch wrote, or a write of what
//       another read, without a barrier of the same block between them: a race (a launch is one phase
//       across blocks). atomic_add against atomic_add is exempt.
#include <pthread.h>

#include <algorithm>
#include <sstream>

#include "kernels/emulated_internal.h"

namespace ad::emu {

MemoryChecker* active_checker = nullptr;

namespace {
std::vector<RegisteredBuffer>& registry() {
  static std::vector<RegisteredBuffer> r;
  return r;
}

void main_stack(uintptr_t& lo, uintptr_t& hi) {
  pthread_attr_t attr;
  void* addr = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
  }
  lo = uintptr_t(addr);
  hi = lo + size;
}

Dim3 unflatten(size_t i, Dim3 d) {
  return {unsigned(i % d.x), unsigned(i / d.x % d.y), unsigned(i / (size_t(d.x) * d.y))};
}
}  // namespace

MemoryChecker::MemoryChecker(EmulatedBlock& b, bool enabled) : b_(b), enabled_(enabled) {
  main_stack(main_stack_lo_, main_stack_hi_);
  strict_ = !registry().empty();
  shared_.resize(b_.shared_.size());
}

void MemoryChecker::begin_block() { std::fill(shared_.kind.begin(), shared_.kind.end(), uint8_t(0)); }

void MemoryChecker::add_piece(size_t offset, size_t bytes) {
  std::fill(shared_.kind.begin() + ptrdiff_t(offset), shared_.kind.begin() + ptrdiff_t(offset + bytes), uint8_t(1));
}

void MemoryChecker::report(const std::string& what) {
  std::ostringstream os;
  os << b_.thread_name(b_.current_) << ": " << what;
  b_.fail(os.str());
}

Access MemoryChecker::me() const {
  Access a;
  a.phase = b_.phase_;
  a.launch = b_.launch_;
  a.block = b_.block_linear_;
  a.tid = uint16_t(b_.current_);
  a.rv_id = b_.warp_rv_[b_.current_ / kWarpSize];
  return a;
}

bool MemoryChecker::unordered(const Access& prev, const Access& cur) const {
  if (prev.phase == 0 || prev.launch != cur.launch) return false;
  if (prev.block != cur.block) return true;  // blocks of one launch never wait for each other
  if (prev.phase != cur.phase || prev.tid == cur.tid) return false;
  if (prev.tid / kWarpSize == cur.tid / kWarpSize) {  // lanes of one warp: a rendezvous since orders them
    const EmulatedBlock::Thread& t = b_.threads_[cur.tid];
    if (t.rv_id > prev.rv_id && (t.rv_mask >> (prev.tid % kWarpSize) & 1u)) return false;
  }
  return true;
}

std::string MemoryChecker::who(const Access& a) const {
  std::ostringstream os;
  Dim3 t = unflatten(a.tid, b_.cfg_.block), bl = unflatten(a.block, b_.cfg_.grid);
  os << "thread (" << t.x << "," << t.y << "," << t.z << ") of block (" << bl.x << "," << bl.y << "," << bl.z << ")";
  return os.str();
}

std::string MemoryChecker::where_shared(size_t off) const {
  std::ostringstream os;
  for (size_t k = 0; k < b_.pieces_.size(); ++k) {
    const SharedPiece& p = b_.pieces_[k];
    if (off >= p.offset && off < p.offset + (p.bytes + 15) / 16 * 16 + EmulatedBlock::kRedZone) {
      os << "shared_array piece #" << k << " (" << p.bytes << " bytes) byte " << long(off) - long(p.offset);
      return os.str();
    }
  }
  if (!b_.pieces_.empty() && off < b_.pieces_[0].offset)
    os << "shared_array piece #0 byte " << long(off) - long(b_.pieces_[0].offset);
  else
    os << "shared memory byte " << off << " (no piece carved there)";
  return os.str();
}

void MemoryChecker::access(uintptr_t a, size_t n, bool write, bool atomic) {
  const uintptr_t sh = uintptr_t(b_.shared_.data());
  if (a - sh < b_.shared_.size()) return shared_access(a - sh, n, write, atomic);
  if (a - uintptr_t(b_.stack_base_) < b_.stack_span_) return;
  if (a - main_stack_lo_ < main_stack_hi_ - main_stack_lo_) return;
  const uintptr_t ctx = uintptr_t(b_.contexts_.data());
  if (a - ctx < b_.contexts_.size() * sizeof(EmulatedContext)) return;
  if (!strict_) return;
  std::vector<RegisteredBuffer>& reg = registry();
  auto it = std::upper_bound(reg.begin(), reg.end(), a, [](uintptr_t x, const RegisteredBuffer& r) { return x < r.lo; });
  if (it != reg.begin()) {
    RegisteredBuffer& r = *(it - 1);
    if (a >= r.lo && a + n <= r.hi) return global_access(r, a, n, write, atomic);
  }
  // Outside every registered buffer: name the nearest one.
  std::ostringstream os;
  os << (atomic ? "atomic_add on " : write ? "writes " : "reads ") << n << " bytes outside every registered buffer";
  const RegisteredBuffer* near = nullptr;
  uintptr_t dist = ~uintptr_t(0);
  for (const RegisteredBuffer& r : reg) {
    uintptr_t d = a < r.lo ? r.lo - a : (a >= r.hi ? a - r.hi + 1 : 0);
    if (d < dist) dist = d, near = &r;
  }
  if (near && dist < 4096) {
    if (a < near->lo) os << ": " << near->lo - a << " bytes before " << near->name;
    else os << ": byte " << a - near->lo << " of " << near->name << " (" << near->hi - near->lo << " bytes)";
  } else {
    os << " (memory the kernel may use must be a test::GuardedBuffer or a test::RegisteredMemory)";
  }
  report(os.str());
}

__attribute__((always_inline)) inline bool MemoryChecker::concurrent(uint32_t phase, uint16_t tid, uint32_t rv) const {
  const size_t me = b_.current_;
  if (phase != b_.phase_ || tid == me) return false;
  if (tid / kWarpSize == me / kWarpSize) {  // lanes of one warp: a rendezvous since orders them
    const EmulatedBlock::Thread& t = b_.threads_[me];
    if (t.rv_id > rv && (t.rv_mask >> (tid % kWarpSize) & 1u)) return false;
  }
  return true;
}

void MemoryChecker::shared_access(size_t off, size_t n, bool write, bool atomic) {
  SharedShadow& s = shared_;
  const uint32_t phase = b_.phase_, first = b_.first_phase_;
  const uint16_t tid = uint16_t(b_.current_);
  const uint32_t rv = b_.warp_rv_[b_.current_ / kWarpSize];
  const char* verb = atomic ? "atomic_add on" : write ? "writes" : "reads";
  auto race = [&](size_t i, uint32_t other_phase, uint16_t other_tid, const char* what) {
    Access other = me();
    other.phase = other_phase;
    other.tid = other_tid;
    std::ostringstream os;
    os << "shared-memory race: " << verb << " " << where_shared(i) << ", which " << who(other) << " " << what
       << " in the same barrier phase";
    report(os.str());
  };
  for (size_t i = off; i < off + n; ++i) {
    if (i >= s.kind.size() || s.kind[i] == 0) {
      std::ostringstream os;
      os << verb << " " << where_shared(i) << ", outside every shared_array piece (overrun)";
      return report(os.str());
    }
    const bool written = s.w_phase[i] >= first;  // by this block (stamps of earlier blocks are smaller)
    if ((!write || atomic) && !written) {
      std::ostringstream os;
      os << verb << " " << where_shared(i) << ", which no thread of the block has written (uninitialised)";
      return report(os.str());
    }
    if (written && concurrent(s.w_phase[i], s.w_tid[i], s.w_rv[i]) && !(atomic && s.w_atomic[i]))
      return race(i, s.w_phase[i], s.w_tid[i], s.w_atomic[i] ? "updated atomically" : "wrote");
    if (!write) {
      if (!concurrent(s.r1_phase[i], s.r1_tid[i], s.r1_rv[i])) {
        s.r1_phase[i] = phase, s.r1_tid[i] = tid, s.r1_rv[i] = rv;
      } else if (!concurrent(s.r2_phase[i], s.r2_tid[i], s.r2_rv[i])) {
        s.r2_phase[i] = phase, s.r2_tid[i] = tid, s.r2_rv[i] = rv;
      }
      continue;
    }
    if (concurrent(s.r1_phase[i], s.r1_tid[i], s.r1_rv[i])) return race(i, s.r1_phase[i], s.r1_tid[i], "read");
    if (concurrent(s.r2_phase[i], s.r2_tid[i], s.r2_rv[i])) return race(i, s.r2_phase[i], s.r2_tid[i], "read");
    s.w_phase[i] = phase, s.w_tid[i] = tid, s.w_rv[i] = rv, s.w_atomic[i] = atomic;
    s.r1_phase[i] = s.r2_phase[i] = 0;
  }
}

void MemoryChecker::global_access(RegisteredBuffer& r, uintptr_t a, size_t n, bool write, bool atomic) {
  if (r.shadow.empty()) r.shadow.resize((r.hi - r.lo + 3) / 4);
  const Access cur = me();
  const char* verb = atomic ? "atomic_add on" : write ? "writes" : "reads";
  for (uintptr_t g = (a - r.lo) / 4; g <= (a + n - 1 - r.lo) / 4; ++g) {
    Shadow& s = r.shadow[g];
    auto race = [&](const Access& other, const char* what) {
      std::ostringstream os;
      os << "global-memory race: " << verb << " " << r.name << " at byte " << g * 4 << " (4-byte element " << g
         << "), which " << who(other) << " " << what << " in the same launch";
      report(os.str());
    };
    if (!write) {
      if (unordered(s.writer, cur)) return race(s.writer, s.writer.atomic ? "updated atomically" : "wrote");
      if (!unordered(s.reader1, cur)) s.reader1 = cur;
      else if (!unordered(s.reader2, cur)) s.reader2 = cur;
      continue;
    }
    if (unordered(s.writer, cur) && !(atomic && s.writer.atomic))
      return race(s.writer, s.writer.atomic ? "updated atomically" : "wrote (not atomically)");
    if (unordered(s.reader1, cur)) return race(s.reader1, "read");
    if (unordered(s.reader2, cur)) return race(s.reader2, "read");
    s.writer = cur;
    s.writer.atomic = atomic;
    s.reader1 = s.reader2 = Access{};
  }
}

}  // namespace ad::emu

namespace ad {

void emulation_register_buffer(const void* p, size_t bytes, const char* name) {
  auto& reg = emu::registry();
  emu::RegisteredBuffer r;
  r.lo = uintptr_t(p);
  r.hi = r.lo + bytes;
  r.name = name;
  auto it = std::upper_bound(reg.begin(), reg.end(), r.lo,
                             [](uintptr_t x, const emu::RegisteredBuffer& b) { return x < b.lo; });
  reg.insert(it, std::move(r));
}

void emulation_unregister_buffer(const void* p) {
  auto& reg = emu::registry();
  for (auto it = reg.begin(); it != reg.end(); ++it)
    if (it->lo == uintptr_t(p)) {
      reg.erase(it);
      return;
    }
}

namespace {
template <class T> T atomic_add_checked(T* p, T v) {
  if (emu::MemoryChecker* c = emu::active_checker) {
    emu::active_checker = nullptr;
    c->access(uintptr_t(p), sizeof(T), true, true);
    emu::active_checker = c;
  }
  T old = *p;
  *p = old + v;
  return old;
}
}  // namespace
float emulated_atomic_add(float* p, float v) { return atomic_add_checked(p, v); }
double emulated_atomic_add(double* p, double v) { return atomic_add_checked(p, v); }
int32_t emulated_atomic_add(int32_t* p, int32_t v) { return atomic_add_checked(p, v); }
uint32_t emulated_atomic_add(uint32_t* p, uint32_t v) { return atomic_add_checked(p, v); }
unsigned long long emulated_atomic_add(unsigned long long* p, unsigned long long v) { return atomic_add_checked(p, v); }

}  // namespace ad

// ---- the ThreadSanitizer entry points the instrumented test code calls ----
// Not under AddressSanitizer (the asan preset): GCC then declares these names as built-ins with other
// signatures, and tests/CMakeLists.txt does not instrument the tests, so nothing calls them.
#if !defined(__SANITIZE_ADDRESS__)
// The checker itself may call instrumented code (a std::string function the linker took from a test's
// instrumented copy), so the hooks are off while it runs.
#define AD_ACCESS(p, n, w)                                \
  do {                                                    \
    if (ad::emu::MemoryChecker* c = ad::emu::active_checker) { \
      ad::emu::active_checker = nullptr;                  \
      c->access(uintptr_t(p), n, w, false);               \
      ad::emu::active_checker = c;                        \
    }                                                     \
  } while (0)

extern "C" {
void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_vptr_update(void**, void*) {}
void __tsan_vptr_read(void**) {}
#define AD_HOOKS(n)                                                         \
  void __tsan_read##n(void* p) { AD_ACCESS(p, n, false); }                  \
  void __tsan_write##n(void* p) { AD_ACCESS(p, n, true); }                  \
  void __tsan_unaligned_read##n(void* p) { AD_ACCESS(p, n, false); }        \
  void __tsan_unaligned_write##n(void* p) { AD_ACCESS(p, n, true); }        \
  void __tsan_volatile_read##n(void* p) { AD_ACCESS(p, n, false); }         \
  void __tsan_volatile_write##n(void* p) { AD_ACCESS(p, n, true); }         \
  void __tsan_unaligned_volatile_read##n(void* p) { AD_ACCESS(p, n, false); } \
  void __tsan_unaligned_volatile_write##n(void* p) { AD_ACCESS(p, n, true); }
AD_HOOKS(1)
AD_HOOKS(2)
AD_HOOKS(4)
AD_HOOKS(8)
AD_HOOKS(16)
#undef AD_HOOKS
void __tsan_read_range(void* p, unsigned long n) {
  if (n) AD_ACCESS(p, n, false);
}
void __tsan_write_range(void* p, unsigned long n) {
  if (n) AD_ACCESS(p, n, true);
}

// std::atomic in the instrumented code (gtest, shared_ptr counts) still has to be atomic.
#define AD_ATOMICS(N, T)                                                                                   \
  T __tsan_atomic##N##_load(const volatile T* a, int) { return __atomic_load_n(a, __ATOMIC_SEQ_CST); }     \
  void __tsan_atomic##N##_store(volatile T* a, T v, int) { __atomic_store_n(a, v, __ATOMIC_SEQ_CST); }     \
  T __tsan_atomic##N##_exchange(volatile T* a, T v, int) { return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST); } \
  T __tsan_atomic##N##_fetch_add(volatile T* a, T v, int) { return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST); } \
  T __tsan_atomic##N##_fetch_sub(volatile T* a, T v, int) { return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST); } \
  T __tsan_atomic##N##_fetch_and(volatile T* a, T v, int) { return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST); } \
  T __tsan_atomic##N##_fetch_or(volatile T* a, T v, int) { return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST); }   \
  T __tsan_atomic##N##_fetch_xor(volatile T* a, T v, int) { return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST); } \
  T __tsan_atomic##N##_fetch_nand(volatile T* a, T v, int) { return __atomic_fetch_nand(a, v, __ATOMIC_SEQ_CST); } \
  int __tsan_atomic##N##_compare_exchange_strong(volatile T* a, T* c, T v, int, int) {                    \
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                \
  }                                                                                                         \
  int __tsan_atomic##N##_compare_exchange_weak(volatile T* a, T* c, T v, int, int) {                      \
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                \
  }                                                                                                         \
  T __tsan_atomic##N##_compare_exchange_val(volatile T* a, T c, T v, int, int) {                          \
    __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                      \
    return c;                                                                                               \
  }
AD_ATOMICS(8, char)
AD_ATOMICS(16, short)
AD_ATOMICS(32, int)
AD_ATOMICS(64, long)
#undef AD_ATOMICS
void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
}
#endif  // !__SANITIZE_ADDRESS__
