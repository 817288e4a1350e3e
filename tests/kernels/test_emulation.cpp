// The emulated launch itself: barriers, shared memory, and that it catches planted kernel bugs.
#include <gtest/gtest.h>

#include "kernels/launch.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
// Block sum with a shared-memory tree reduction; `bug` plants mistakes the emulation must catch.
enum class Bug { None, SkipBarrier, OffByOneIndex, EarlyReturn, TooLittleShared };

struct BlockSumKernel {
  template <class Ctx> static void run(Ctx& ctx, const float* x, float* out, int64_t n, Bug bug) {
    unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    float* buf = shared_array<float>(ctx, nt);
    int64_t i = int64_t(ctx.block_idx().x) * nt + t;
    if (bug == Bug::EarlyReturn && i >= n) return;  // then waits at a barrier others never reach
    buf[t] = i < n ? x[bug == Bug::OffByOneIndex ? i + 1 : i] : 0.f;
    if (bug != Bug::SkipBarrier) ctx.sync();
    for (unsigned s = nt / 2; s > 0; s /= 2) {
      if (t < s) buf[t] += buf[t + s];
      if (bug != Bug::SkipBarrier) ctx.sync();
    }
    if (t == 0) out[ctx.block_idx().x] = buf[0];
  }
};

void launch_block_sum(EmulatedLauncher& l, const float* x, float* out, int64_t n, unsigned threads, Bug bug) {
  size_t smem = (bug == Bug::TooLittleShared ? threads / 2 : threads) * sizeof(float);
  l.launch<BlockSumKernel>(LaunchConfig{{blocks_for(n, threads)}, {threads}, smem}, x, out, n, bug);
}

std::vector<double> expected_sums(const Tensor& x, unsigned threads) {
  auto v = x.to_vector();
  std::vector<double> s(blocks_for(int64_t(v.size()), threads), 0.0);
  for (size_t i = 0; i < v.size(); ++i) s[i / threads] += v[i];
  return s;
}

::testing::AssertionResult run_block_sum(int64_t n, unsigned threads, Bug bug) {
  Tensor x = test::random_tensor({n}, 7);
  test::GuardedBuffer in(x), out(blocks_for(n, threads));
  EmulatedLauncher l;
  launch_block_sum(l, in.data(), out.data(), n, threads, bug);
  auto want = expected_sums(x, threads);
  Tensor got = out.tensor({int64_t(want.size())});
  auto ok = test::all_close(got, Tensor::from_vector(want, {int64_t(want.size())}), 1e-4, 1e-4);
  if (!ok) return ok;
  return out.check_canaries();
}
}  // namespace

TEST(EmulatedLaunch, TreeReductionMatchesOnAwkwardSizes) {
  for (int64_t n : {1, 31, 256, 257, 1000})
    for (unsigned threads : {32u, 128u}) EXPECT_TRUE(run_block_sum(n, threads, Bug::None)) << n << " " << threads;
}

TEST(EmulatedLaunch, CatchesMissingBarrier) {
  // Without barriers each thread reads partners that have not written yet: NaN bytes or stale sums.
  EXPECT_FALSE(run_block_sum(200, 64, Bug::SkipBarrier));
}

TEST(EmulatedLaunch, CatchesWrongIndex) {
  // x[i + 1] reads the canary past the end in the last block.
  EXPECT_FALSE(run_block_sum(200, 64, Bug::OffByOneIndex));
}

TEST(EmulatedLaunch, CatchesReturnBeforeBarrier) {
  try {
    run_block_sum(200, 64, Bug::EarlyReturn);
    FAIL() << "expected the emulation to report the divergent barrier";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("returned while"), std::string::npos) << e.what();
  }
}

TEST(EmulatedLaunch, CatchesSharedMemoryOverrun) {
  try {
    run_block_sum(64, 64, Bug::TooLittleShared);
    FAIL() << "expected the emulation to report the shared-memory overrun";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shared memory"), std::string::npos) << e.what();
  }
}

TEST(EmulatedLaunch, RejectsOversizedBlocks) {
  EmulatedLauncher l;
  float x = 0, y = 0;
  EXPECT_THROW(l.launch<BlockSumKernel>(LaunchConfig{{1}, {2048}, 8192}, &x, &y, int64_t(1), Bug::None), Error);
}

struct Mark {
  template <class Ctx> static void run(Ctx& ctx, int* hits, unsigned w, unsigned h) {
    unsigned x = ctx.block_idx().x * ctx.block_dim().x + ctx.thread_idx().x;
    unsigned y = ctx.block_idx().y * ctx.block_dim().y + ctx.thread_idx().y;
    if (x < w && y < h) hits[y * w + x] += 1;
  }
};

TEST(EmulatedLaunch, TwoDimensionalBlocksSeeAllIndices) {
  const unsigned w = 13, h = 7;
  std::vector<int> hits(w * h, 0);
  EmulatedLauncher l;
  l.launch<Mark>(LaunchConfig{{blocks_for(w, 4), blocks_for(h, 4)}, {4, 4}, 0}, hits.data(), w, h);
  for (int v : hits) EXPECT_EQ(v, 1);
}
