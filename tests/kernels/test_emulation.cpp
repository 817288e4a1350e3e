// The emulated launch itself: barriers, warp primitives, schedules, shared memory, and that every check
// catches the kernel bug it exists for. Each Catches* test plants one bug that the results alone do not
// show (where a test can, it first runs the bug with the check off and sees a correct-looking result).
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/launch.h"
#include "kernels/reduce.cuh"
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

// Runs f with the memory checks off, then restores them.
template <class F> void without_memory_checks(F f) {
  set_emulation_memory_checks(false);
  try {
    f();
  } catch (...) {
    set_emulation_memory_checks(true);
    throw;
  }
  set_emulation_memory_checks(true);
}

#define AD_REQUIRE_MEMORY_CHECKS()                                                                    \
  do {                                                                                                \
    if (!emulation_memory_checks_compiled())                                                          \
      GTEST_SKIP() << "this test file was built without the access hooks (a sanitizer build), so the " \
                      "emulation's memory checks are off";                                            \
  } while (0)
}  // namespace

TEST(EmulatedLaunch, TreeReductionMatchesOnAwkwardSizes) {
  test::for_each_schedule([] {
    for (int64_t n : {1, 31, 256, 257, 1000})
      for (unsigned threads : {32u, 128u}) EXPECT_TRUE(run_block_sum(n, threads, Bug::None)) << n << " " << threads;
  });
}

TEST(EmulatedLaunch, CatchesMissingBarrier) {
  // Each thread runs its whole tree without waiting. In forward order thread t reads buf[t + s] before
  // its owner wrote it (NaN bytes); in reverse order every partner has finished first and the sum is
  // right: which schedule shows the bug depends on the kernel, hence all of them.
  size_t count = 0;
  const EmulationSchedule* all = emulation_schedules(&count);
  without_memory_checks([&] {
    EXPECT_FALSE(run_block_sum(200, 64, Bug::SkipBarrier));
    set_emulation_schedule(all[1]);
    EXPECT_TRUE(run_block_sum(200, 64, Bug::SkipBarrier));
    set_emulation_schedule(all[0]);
  });
  // The race check names it under any schedule, the lucky one included.
  if (!emulation_memory_checks_compiled()) return;
  set_emulation_schedule(all[1]);
  EXPECT_TRUE(test::error_contains([] { run_block_sum(200, 64, Bug::SkipBarrier); }, "shared-memory race"));
  set_emulation_schedule(all[0]);
}

TEST(EmulatedLaunch, CatchesWrongIndex) {
  // x[i + 1] reads the canary past the end in the last block (and, with the checks, outside the buffer).
  try {
    EXPECT_FALSE(run_block_sum(200, 64, Bug::OffByOneIndex));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside every registered buffer"), std::string::npos) << e.what();
  }
}

TEST(EmulatedLaunch, CatchesReturnBeforeBarrier) {
  EXPECT_TRUE(test::error_contains([] { run_block_sum(200, 64, Bug::EarlyReturn); }, "returned while"));
}

TEST(EmulatedLaunch, CatchesSharedMemoryOverrun) {
  EXPECT_TRUE(test::error_contains([] { run_block_sum(64, 64, Bug::TooLittleShared); }, "shared memory"));
}

TEST(EmulatedLaunch, RejectsOversizedBlocksAndSharedMemory) {
  EmulatedLauncher l;
  float x = 0, y = 0;
  EXPECT_THROW(l.launch<BlockSumKernel>(LaunchConfig{{1}, {2048}, 8192}, &x, &y, int64_t(1), Bug::None), Error);
  // 164 KiB fits an H100 (227 KiB) but not an A100, the smallest architecture we build for.
  EXPECT_TRUE(test::error_contains(
      [&] { l.launch<BlockSumKernel>(LaunchConfig{{1}, {32}, 164 * 1024}, &x, &y, int64_t(1), Bug::None); },
      "163 KiB"));
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
  test::for_each_schedule([&] {
    std::vector<int> hits(w * h, 0);
    EmulatedLauncher l;
    l.launch<Mark>(LaunchConfig{{blocks_for(w, 4), blocks_for(h, 4)}, {4, 4}, 0}, hits.data(), w, h);
    for (int v : hits) EXPECT_EQ(v, 1);
  });
}

// ---- schedules ------------------------------------------------------------------------------------

// Records the order in which threads pass one point, to see the schedule.
struct OrderKernel {
  template <class Ctx> static void run(Ctx& ctx, int* order, int* next) {
    order[(*next)++] = int(ctx.block_idx().x * ctx.block_dim().x + ctx.thread_idx().x);
  }
};

TEST(EmulatedLaunch, SchedulesReorderThreadsAndBlocks) {
  std::vector<std::vector<int>> seen;
  size_t count = 0;
  const EmulationSchedule* all = emulation_schedules(&count);
  ASSERT_EQ(count, 3u);
  for (size_t k = 0; k < count; ++k) {
    set_emulation_schedule(all[k]);
    std::vector<int> order(12, -1);
    int next = 0;
    EmulatedLauncher l;
    l.launch<OrderKernel>(LaunchConfig{{3}, {4}, 0}, order.data(), &next);
    seen.push_back(order);
  }
  set_emulation_schedule(all[0]);
  EXPECT_EQ(seen[0], (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(seen[1], (std::vector<int>{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_NE(seen[2], seen[0]);
  EXPECT_NE(seen[2], seen[1]);
}

// Sums values whose float sum depends on the order: blocks add with atomics.
struct AtomicSumKernel {
  template <class Ctx> static void run(Ctx& ctx, const float* x, float* out) {
    if (ctx.thread_idx().x == 0) ctx.atomic_add(out, x[ctx.block_idx().x]);
  }
};

TEST(EmulatedLaunch, CatchesOrderDependentFloatAtomics) {
  // 1e8 + 1 - 1e8 is 0 or 1 by the order of the additions: for_each_schedule compares the results.
  auto body = [] {
    test::GuardedBuffer x(Tensor::from_vector(std::vector<double>{1e8, 1, -1e8, 1, 3}, {5})), out(1);
    EmulatedLauncher l;
    l.launch<AtomicSumKernel>(LaunchConfig{{5}, {32}, 0}, static_cast<const float*>(x.data()), out.data());
  };
  EXPECT_NONFATAL_FAILURE(test::for_each_schedule(body), "depends on the order");
  test::for_each_schedule(body, /*order_dependent=*/true);  // declared order-dependent: accepted
}

// ---- warp primitives --------------------------------------------------------------------------------

struct WarpOpsKernel {
  // out[t * 7 + k]: the k-th primitive's result in thread t.
  template <class Ctx> static void run(Ctx& ctx, float* out) {
    const unsigned t = ctx.thread_idx().x, lane = ctx.lane_id();
    const float v = float(t) + 0.5f;
    float* o = out + size_t(t) * 7;
    o[0] = ctx.shfl_xor(kFullWarp, v, 5);
    o[1] = ctx.shfl_down(kFullWarp, v, 3u);
    o[2] = ctx.shfl_idx(kFullWarp, v, 7);
    o[3] = float(ctx.ballot(kFullWarp, lane % 3 == 0));
    o[4] = ctx.any(kFullWarp, t == 40) ? 1.f : 0.f;
    o[5] = ctx.all(kFullWarp, lane < 32) ? 1.f : 0.f;
    ctx.warp_sync(kFullWarp);
    o[6] = float(ctx.warp_id());
  }
};

TEST(EmulatedLaunch, WarpPrimitivesMatchCudaSemantics) {
  const unsigned nt = 64;
  test::for_each_schedule([&] {
    test::GuardedBuffer out(nt * 7);
    EmulatedLauncher l;
    l.launch<WarpOpsKernel>(LaunchConfig{{1}, {nt}, 0}, out.data());
    const float* o = out.data();
    unsigned every_third = 0;
    for (unsigned l3 = 0; l3 < 32; l3 += 3) every_third |= 1u << l3;
    for (unsigned t = 0; t < nt; ++t) {
      const unsigned lane = t % 32, base = t - lane;
      EXPECT_EQ(o[t * 7 + 0], float(base + (lane ^ 5u)) + 0.5f) << t;
      EXPECT_EQ(o[t * 7 + 1], float(lane + 3 < 32 ? t + 3 : t) + 0.5f) << t;
      EXPECT_EQ(o[t * 7 + 2], float(base + 7) + 0.5f) << t;
      EXPECT_EQ(o[t * 7 + 3], float(every_third)) << t;
      EXPECT_EQ(o[t * 7 + 4], t / 32 == 1 ? 1.f : 0.f) << t;
      EXPECT_EQ(o[t * 7 + 5], 1.f) << t;
      EXPECT_EQ(o[t * 7 + 6], float(t / 32)) << t;
    }
  });
}

enum class WarpBug { None, ExitedLane, MissingLane, OwnLaneNotInMask, OutsideMaskSource };
struct WarpBugKernel {
  template <class Ctx> static void run(Ctx& ctx, float* out, WarpBug bug) {
    const unsigned lane = ctx.lane_id();
    float v = float(ctx.thread_idx().x);
    if (bug == WarpBug::ExitedLane && lane >= 16) return;  // mask still names lanes 16..31
    unsigned mask = bug == WarpBug::OwnLaneNotInMask ? 0xfffffffeu : kFullWarp;
    if (bug == WarpBug::OutsideMaskSource) {
      if (lane >= 16) return;
      v = ctx.shfl_xor(0xffffu, v, 16);  // reads lanes 16..31, outside the mask
    } else {
      v = ctx.shfl_xor(mask, v, 1);
    }
    out[ctx.thread_idx().x] = v;
  }
};

TEST(EmulatedLaunch, CatchesBadWarpMasks) {
  auto run = [](WarpBug bug, unsigned threads) {
    test::GuardedBuffer out(threads);
    EmulatedLauncher l;
    l.launch<WarpBugKernel>(LaunchConfig{{1}, {threads}, 0}, out.data(), bug);
  };
  run(WarpBug::None, 64);
  EXPECT_TRUE(test::error_contains([&] { run(WarpBug::ExitedLane, 32); }, "has returned"));
  EXPECT_TRUE(test::error_contains([&] { run(WarpBug::MissingLane, 48); }, "does not exist"));
  EXPECT_TRUE(test::error_contains([&] { run(WarpBug::OwnLaneNotInMask, 32); }, "lane 0"));
  EXPECT_TRUE(test::error_contains([&] { run(WarpBug::OutsideMaskSource, 32); }, "does not name"));
}

// block_reduce (reduce.cuh) over every block size it supports, for sum and max, under every schedule.
struct BlockReduceKernel {
  template <class Ctx> static void run(Ctx& ctx, const float* x, float* out) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x / kWarpSize);
    const float v = x[ctx.thread_idx().x];
    const float s = block_reduce(ctx, buf, v, SumOp{});
    const float m = block_reduce(ctx, buf, v, MaxOp{});
    out[2 * ctx.thread_idx().x] = s;
    out[2 * ctx.thread_idx().x + 1] = m;
  }
};

TEST(EmulatedLaunch, BlockReduceEveryBlockSize) {
  test::for_each_schedule([] {
    for (unsigned nt : {32u, 64u, 96u, 256u, 1024u}) {
      Tensor x = test::random_tensor({int64_t(nt)}, nt, -2, 2);
      test::GuardedBuffer gx(x), out(2 * nt);
      EmulatedLauncher l;
      l.launch<BlockReduceKernel>(LaunchConfig{{1}, {nt}, nt / kWarpSize * sizeof(float)},
                                  static_cast<const float*>(gx.data()), out.data());
      auto v = x.to_vector();
      double sum = 0, mx = -INFINITY;
      for (double e : v) sum += e, mx = std::max(mx, e);
      for (unsigned t = 0; t < nt; ++t) {
        EXPECT_NEAR(out.data()[2 * t], sum, 1e-4) << nt;
        EXPECT_EQ(out.data()[2 * t + 1], float(mx)) << nt;
        EXPECT_EQ(out.data()[2 * t], out.data()[0]) << "every thread gets the same bits";
      }
    }
  });
}

// ---- barrier identity ---------------------------------------------------------------------------

struct DivergentReduceKernel {
  template <class Ctx> static void run(Ctx& ctx, const float* x, float* out, bool bug) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x / kWarpSize);
    const unsigned t = ctx.thread_idx().x;
    float s;
    if (bug && t >= 32) s = block_reduce(ctx, buf, x[t], SumOp{});  // same helper, another call site
    else s = block_reduce(ctx, buf, x[t], SumOp{});
    out[t] = s;
  }
};

TEST(EmulatedLaunch, CatchesDivergentBarriersThroughAHelper) {
  // Both branches reach the barriers inside block_reduce at the same source lines and the same count:
  // only the helper's call site tells them apart (what synccheck reports as divergent barriers).
  auto run = [](bool bug) {
    test::GuardedBuffer x(64, 1.f), out(64);
    EmulatedLauncher l;
    l.launch<DivergentReduceKernel>(LaunchConfig{{1}, {64}, 2 * sizeof(float)},
                                    static_cast<const float*>(x.data()), out.data(), bug);
    for (int t = 0; t < 64; ++t) EXPECT_EQ(out.data()[t], 64.f);  // the sum is right either way
  };
  run(false);
  EXPECT_TRUE(test::error_contains([&] { run(true); }, "divergent barrier"));
}

// ---- memory checks ----------------------------------------------------------------------------------

// Each thread publishes x in shared memory and reads the value of the thread 32 below without a barrier.
// Under the forward schedule the writer has always run first, so the result is right.
struct NoBarrierShiftKernel {
  template <class Ctx> static void run(Ctx& ctx, const float* x, float* out) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const unsigned t = ctx.thread_idx().x;
    buf[t] = x[t];
    // missing: ctx.sync();
    if (t >= 32) out[t] = buf[t - 32];
  }
};

TEST(EmulatedLaunch, CatchesSharedMemoryRaceThatTheResultHides) {
  AD_REQUIRE_MEMORY_CHECKS();
  auto run = [] {
    test::GuardedBuffer x(Tensor::from_vector(std::vector<double>(64, 2.0), {64})), out(64);
    EmulatedLauncher l;
    l.launch<NoBarrierShiftKernel>(LaunchConfig{{1}, {64}, 64 * sizeof(float)},
                                   static_cast<const float*>(x.data()), out.data());
    for (int t = 32; t < 64; ++t) EXPECT_EQ(out.data()[t], 2.f);
  };
  without_memory_checks(run);  // forward schedule: writers first, the right answer
  EXPECT_TRUE(test::error_contains(run, "shared-memory race"));
}

// Every thread adds into one shared slot with a plain read-modify-write (atomic_add when `atomic`).
struct SharedAccumulateKernel {
  template <class Ctx> static void run(Ctx& ctx, const float* x, float* out, bool atomic) {
    float* acc = shared_array<float>(ctx, 1);
    const unsigned t = ctx.thread_idx().x;
    if (t == 0) acc[0] = 0.f;
    ctx.sync();
    if (atomic) ctx.atomic_add(acc, x[t]);
    else acc[0] += x[t];
    ctx.sync();
    if (t == 0) out[0] = acc[0];
  }
};

TEST(EmulatedLaunch, CatchesSharedReadModifyWriteRace) {
  AD_REQUIRE_MEMORY_CHECKS();
  auto run = [](bool atomic) {
    test::GuardedBuffer x(32, 1.f), out(1);
    EmulatedLauncher l;
    l.launch<SharedAccumulateKernel>(LaunchConfig{{1}, {32}, 16}, static_cast<const float*>(x.data()), out.data(),
                                     atomic);
    EXPECT_EQ(out.data()[0], 32.f);  // fibers never interleave inside `+=`, so the sum looks right
  };
  without_memory_checks([&] { run(false); });
  EXPECT_TRUE(test::error_contains([&] { run(false); }, "shared-memory race"));
  run(true);  // atomic_add on shared memory is exempt
}

// Every block adds its value into out[0]: with `+=` (a race between blocks) or atomic_add.
struct GlobalAccumulateKernel {
  template <class Ctx> static void run(Ctx& ctx, const float* x, float* out, bool atomic) {
    if (ctx.thread_idx().x != 0) return;
    if (atomic) ctx.atomic_add(out, x[ctx.block_idx().x]);
    else out[0] += x[ctx.block_idx().x];
  }
};

TEST(EmulatedLaunch, CatchesGlobalPlainAddInsteadOfAtomic) {
  AD_REQUIRE_MEMORY_CHECKS();
  auto run = [](bool atomic) {
    test::GuardedBuffer x(4, 1.f), out(1);
    EmulatedLauncher l;
    l.launch<GlobalAccumulateKernel>(LaunchConfig{{4}, {32}, 0}, static_cast<const float*>(x.data()), out.data(),
                                     atomic);
    EXPECT_EQ(out.data()[0], 4.f);  // blocks run one after another, so `+=` looks right
  };
  without_memory_checks([&] { run(false); });
  EXPECT_TRUE(test::error_contains([&] { run(false); }, "global-memory race"));
  run(true);
}

// Every block writes its own index into out[0] (a result that depends on which block runs last), or,
// fixed, into out[block].
struct LastBlockWinsKernel {
  template <class Ctx> static void run(Ctx& ctx, float* out, bool bug) {
    if (ctx.thread_idx().x == 0) out[bug ? 0 : ctx.block_idx().x] = float(ctx.block_idx().x);
  }
};

TEST(EmulatedLaunch, CatchesTwoBlocksWritingOneElement) {
  AD_REQUIRE_MEMORY_CHECKS();
  auto run = [](bool bug) {
    test::GuardedBuffer out(3);
    EmulatedLauncher l;
    l.launch<LastBlockWinsKernel>(LaunchConfig{{3}, {32}, 0}, out.data(), bug);
  };
  EXPECT_TRUE(test::error_contains([&] { run(true); }, "global-memory race"));
  run(false);
}

// Row max that reads one element past its row; the canary NaN it reads is swallowed by the comparison.
struct RowMaxPastEndKernel {
  template <class Ctx> static void run(Ctx& ctx, const float* x, float* out, int64_t cols) {
    if (ctx.thread_idx().x != 0) return;
    const float* row = x + int64_t(ctx.block_idx().x) * cols;
    float m = row[0];
    for (int64_t c = 1; c <= cols; ++c) m = row[c] > m ? row[c] : m;  // bug: c <= cols
    out[ctx.block_idx().x] = m;
  }
};

TEST(EmulatedLaunch, CatchesReadPastTheBufferWhoseValueIsSwallowed) {
  AD_REQUIRE_MEMORY_CHECKS();
  auto run = [] {
    Tensor xt = test::random_tensor({3, 5}, 3);
    test::GuardedBuffer x(xt), out(3);
    EmulatedLauncher l;
    l.launch<RowMaxPastEndKernel>(LaunchConfig{{3}, {32}, 0}, static_cast<const float*>(x.data()), out.data(),
                                  int64_t(5));
    auto v = xt.to_vector();
    for (int r = 0; r < 3; ++r) EXPECT_EQ(out.data()[r], float(*std::max_element(v.begin() + r * 5, v.begin() + r * 5 + 5)));
  };
  without_memory_checks(run);  // NaN > m is false: the result is right
  EXPECT_TRUE(test::error_contains(run, "outside every registered buffer"));
}

// Threads past n leave their shared slot unwritten; thread 0 takes the max over all slots (NaN bytes
// are swallowed by the comparison).
struct UninitialisedSharedKernel {
  template <class Ctx> static void run(Ctx& ctx, const float* x, float* out, int64_t n) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const unsigned t = ctx.thread_idx().x;
    if (t < n) buf[t] = x[t];  // bug: no else buf[t] = -INFINITY
    ctx.sync();
    if (t == 0) {
      float m = buf[0];
      for (unsigned i = 1; i < ctx.block_dim().x; ++i) m = buf[i] > m ? buf[i] : m;
      out[0] = m;
    }
  }
};

TEST(EmulatedLaunch, CatchesUninitialisedSharedRead) {
  AD_REQUIRE_MEMORY_CHECKS();
  auto run = [] {
    test::GuardedBuffer x(Tensor::from_vector(std::vector<double>{1, 5, 2}, {3})), out(1);
    EmulatedLauncher l;
    l.launch<UninitialisedSharedKernel>(LaunchConfig{{1}, {32}, 32 * sizeof(float)},
                                        static_cast<const float*>(x.data()), out.data(), int64_t(3));
    EXPECT_EQ(out.data()[0], 5.f);
  };
  without_memory_checks(run);
  EXPECT_TRUE(test::error_contains(run, "uninitialised"));
}

// Two shared arrays carved from one launch; the first is written one element past its end.
struct PieceOverrunKernel {
  template <class Ctx> static void run(Ctx& ctx, float* out, int64_t n, bool bug) {
    float* a = shared_array<float>(ctx, size_t(n));
    float* b = shared_array<float>(ctx, size_t(n));
    const unsigned t = ctx.thread_idx().x;
    if (t < n) b[t] = 1.f;
    if (t < n + (bug ? 1 : 0)) a[t] = 2.f;
    ctx.sync();
    if (t < n) out[t] = a[t] + b[t];
  }
};

TEST(EmulatedLaunch, CatchesSharedArrayPieceOverrun) {
  // 8 floats per piece, 64 bytes in all: the write a[8] lands inside the launch's shared memory, in b's
  // place on the GPU. Caught by the access hooks, or, without them, by the red zone's canary bytes.
  auto run = [](bool bug) {
    test::GuardedBuffer out(8);
    EmulatedLauncher l;
    l.launch<PieceOverrunKernel>(LaunchConfig{{1}, {32}, 64}, out.data(), int64_t(8), bug);
  };
  run(false);
  EXPECT_TRUE(test::error_contains([&] { run(true); }, "piece #0"));
  without_memory_checks([&] { EXPECT_TRUE(test::error_contains([&] { run(true); }, "write past shared_array piece #0")); });
}

// Recursion deep enough to overflow a fiber's stack.
struct DeepRecursionKernel {
  static int depth(volatile char* prev, int n) {
    volatile char frame[1024];
    frame[0] = char(n);
    if (n == 0) return prev ? prev[0] : 0;
    return depth(frame, n - 1) + frame[0];
  }
  template <class Ctx> static void run(Ctx& ctx, int* out, int n) { out[ctx.thread_idx().x] = depth(nullptr, n); }
};

TEST(EmulatedLaunchDeathTest, StackOverflowHitsTheGuardPage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<int> out(1);
  EXPECT_DEATH(
      {
        EmulatedLauncher l;
        l.launch<DeepRecursionKernel>(LaunchConfig{{1}, {1}, 0}, out.data(), 1000);
      },
      "overflowed its 64 KiB fiber stack");
  EmulatedLauncher l;
  l.launch<DeepRecursionKernel>(LaunchConfig{{1}, {1}, 0}, out.data(), 8);  // shallow: fine
}
