// Emulated kernel launches: every block in turn, every thread of a block as a fiber (ucontext) on
// one OS thread. A thread runs until it reaches ctx.sync() or returns; when every live thread has
// arrived at a barrier they all continue. That gives real __syncthreads semantics (a thread that
// reads shared memory after the barrier sees what the others wrote before it) at a cost of a
// context switch per thread per barrier, cheap enough for the small, awkward shapes tests use.
#include <sys/mman.h>
#include <ucontext.h>

#include <cstring>
#include <sstream>
#include <vector>

#include "kernels/launch.h"
#include "runtime/error.h"

namespace ad {

class EmulatedBlock {
 public:
  enum class State { Ready, AtBarrier, Done };

  EmulatedBlock(const LaunchConfig& cfg, const std::function<void(EmulatedContext&)>& body)
      : cfg_(cfg), body_(body) {}

  // Returns an empty string when the block ran cleanly, else what went wrong.
  std::string run(Dim3 block) {
    size_t nthreads = size_t(cfg_.block.x) * cfg_.block.y * cfg_.block.z;
    ensure_stacks(nthreads);
    shared_.assign(cfg_.shared_bytes + 16, 0xFF);  // NaN bytes: reading before writing poisons results
    contexts_.assign(nthreads, EmulatedContext{});
    states_.assign(nthreads, State::Ready);
    lines_.assign(nthreads, -1);
    fibers_.resize(nthreads);
    error_.clear();
    size_t t = 0;
    for (unsigned z = 0; z < cfg_.block.z; ++z)
      for (unsigned y = 0; y < cfg_.block.y; ++y)
        for (unsigned x = 0; x < cfg_.block.x; ++x, ++t) {
          EmulatedContext& c = contexts_[t];
          c.thread_ = {x, y, z};
          c.block_ = block;
          c.block_dim_ = cfg_.block;
          c.grid_dim_ = cfg_.grid;
          c.block_runner_ = this;
          getcontext(&fibers_[t]);
          fibers_[t].uc_stack.ss_sp = stack_base_ + t * kStackBytes;
          fibers_[t].uc_stack.ss_size = kStackBytes;
          fibers_[t].uc_link = &scheduler_;
          makecontext(&fibers_[t], reinterpret_cast<void (*)()>(&EmulatedBlock::entry), 0);
        }
    for (;;) {  // one pass = one barrier phase
      for (current_ = 0; current_ < nthreads; ++current_) {
        if (states_[current_] == State::Done) continue;
        states_[current_] = State::Ready;
        active_ = this;
        swapcontext(&scheduler_, &fibers_[current_]);
      }
      size_t waiting = 0, done = 0;
      int line = -1;
      bool mixed_lines = false;
      for (size_t i = 0; i < nthreads; ++i) {
        if (states_[i] == State::Done) ++done;
        if (states_[i] == State::AtBarrier) {
          if (waiting++ == 0) line = lines_[i];
          else if (lines_[i] != line) mixed_lines = true;
        }
      }
      if (!error_.empty()) return error_;
      if (waiting == 0) return "";
      if (done > 0) {
        std::ostringstream os;
        os << done << " thread(s) returned while " << waiting << " wait at the barrier on line " << line;
        return os.str();
      }
      if (mixed_lines) return "threads of one block wait at different barriers (divergent __syncthreads)";
    }
  }

  void arrive(int line) {
    size_t me = current_;
    states_[me] = State::AtBarrier;
    lines_[me] = line;
    swapcontext(&fibers_[me], &scheduler_);
  }

  void* shared_bytes(EmulatedContext& c, size_t n) {
    size_t off = c.shared_offset_;
    c.shared_offset_ += (n + 15) / 16 * 16;
    if (c.shared_offset_ > cfg_.shared_bytes) {
      if (error_.empty()) {
        std::ostringstream os;
        os << "kernel uses " << c.shared_offset_ << " bytes of shared memory, launch gave " << cfg_.shared_bytes;
        error_ = os.str();
      }
      overflow_.assign(n + 16, 0xFF);
      return overflow_.data();
    }
    return shared_.data() + off;
  }

  ~EmulatedBlock() {
    if (stack_base_) munmap(stack_base_, stack_count_ * kStackBytes);
  }

 private:
  static constexpr size_t kStackBytes = 64 * 1024;
  static thread_local EmulatedBlock* active_;

  static void entry() {
    EmulatedBlock* self = active_;
    size_t me = self->current_;
    self->body_(self->contexts_[me]);
    self->states_[me] = State::Done;
    // returning resumes uc_link (the scheduler)
  }

  void ensure_stacks(size_t n) {
    if (n <= stack_count_) return;
    if (stack_base_) munmap(stack_base_, stack_count_ * kStackBytes);
    void* p = mmap(nullptr, n * kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    AD_CHECK(p != MAP_FAILED, "emulate_launch", "cannot map stacks for ", n, " threads");
    stack_base_ = static_cast<char*>(p);
    stack_count_ = n;
  }

  LaunchConfig cfg_;
  const std::function<void(EmulatedContext&)>& body_;
  std::vector<EmulatedContext> contexts_;
  std::vector<State> states_;
  std::vector<int> lines_;
  std::vector<ucontext_t> fibers_;
  std::vector<unsigned char> shared_, overflow_;
  ucontext_t scheduler_{};
  size_t current_ = 0;
  char* stack_base_ = nullptr;
  size_t stack_count_ = 0;
  std::string error_;
};

thread_local EmulatedBlock* EmulatedBlock::active_ = nullptr;

void EmulatedContext::sync(int line) { block_runner_->arrive(line); }
void* EmulatedContext::shared_bytes(size_t n) { return block_runner_->shared_bytes(*this, n); }

void emulate_launch(const LaunchConfig& cfg, const char* kernel_name,
                    const std::function<void(EmulatedContext&)>& body) {
  const Dim3 b = cfg.block;
  AD_CHECK(size_t(b.x) * b.y * b.z <= 1024 && b.z <= 64, "emulate_launch", kernel_name,
           ": block of ", b.x, "x", b.y, "x", b.z, " exceeds CUDA's 1024 threads");
  AD_CHECK(cfg.grid.y <= 65535 && cfg.grid.z <= 65535, "emulate_launch", kernel_name, ": grid y/z exceeds 65535");
  AD_CHECK(cfg.shared_bytes <= 227 * 1024, "emulate_launch", kernel_name, ": ", cfg.shared_bytes,
           " bytes of shared memory exceed a block's 227 KiB");
  if (cfg.grid.x == 0 || cfg.grid.y == 0 || cfg.grid.z == 0) return;
  EmulatedBlock runner(cfg, body);
  for (unsigned z = 0; z < cfg.grid.z; ++z)
    for (unsigned y = 0; y < cfg.grid.y; ++y)
      for (unsigned x = 0; x < cfg.grid.x; ++x) {
        std::string err = runner.run({x, y, z});
        AD_CHECK(err.empty(), "emulate_launch", kernel_name, " block (", x, ",", y, ",", z, "): ", err);
      }
}

}  // namespace ad
