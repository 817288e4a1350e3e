// A shared CPU: one AnomalyDAE training epoch (as bench_anomalydae, N = 1000 nodes, official sizes) with
// the OpenMP team on every available core, alone and beside CPU hogs that this benchmark starts itself:
// busy threads spinning on the same cores for the case's duration (and never longer than 120 s). The
// ratio hogs/alone is the slowdown under contention; with OpenMP threads that spin at barriers (libgomp's
// default) it grew far more than PyTorch's (issue 16), with passive waiting (runtime/cpu_threads.h) it
// should stay near (threads + hogs) / threads.
// Compare the wait policies in one run by alternating the environment (GOMP_SPINCOUNT=300000 is libgomp's
// default spin, i.e. the behaviour before runtime/cpu_threads.h):
//   ./build/experiments/bench_contention
//   GOMP_SPINCOUNT=300000 ./build/experiments/bench_contention
// Counters: threads (the OpenMP team), hogs (busy threads beside it), cores (available to the process),
// epoch_cpu_s (CPU seconds per epoch over all the epoch's threads, hogs excluded: what spinning wastes).
// On a machine that other jobs already load, read the wall times as indicative and alternate the runs.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include "experiments/benchmarks/anomalydae_epoch.h"
#include "runtime/cpu_threads.h"

using namespace ad;
using namespace ad::anomalydae;

namespace {

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Busy threads that spin until stop() or their deadline, whichever comes first.
class CpuHogs {
 public:
  CpuHogs(int count, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (int i = 0; i < count; ++i)
      threads_.emplace_back([this, deadline] {
        volatile uint64_t sink = 0;
        while (!stop_.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < deadline)
          for (int k = 0; k < 100000; ++k) sink = sink + k;
        std::lock_guard<std::mutex> lock(mutex_);
        cpu_s_ += cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
      });
  }
  ~CpuHogs() { stop(); }
  // Stops and joins the hogs; returns the CPU seconds they used.
  double stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    return cpu_s_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  double cpu_s_ = 0;
  std::vector<std::thread> threads_;
};

void epoch_beside_hogs(benchmark::State& state) {
  const int hogs = int(state.range(0));
  AttributedGraph g = bench_graph(1000);
  BenchEpoch epoch(g, Device::CPU);
  const double cpu_before = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  CpuHogs hog_threads(hogs, std::chrono::seconds(120));
  for (auto _ : state) benchmark::DoNotOptimize(epoch.step());
  const double hog_cpu_s = hog_threads.stop();
  // CPU seconds the epoch itself burned (all its threads, hogs excluded): spinning at barriers shows here.
  state.counters["epoch_cpu_s"] =
      (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_before - hog_cpu_s) / double(state.iterations());
  state.counters["threads"] = double(omp_get_max_threads());
  state.counters["hogs"] = double(hogs);
  state.counters["cores"] = double(cpu_cores_available());
}

}  // namespace

int main(int argc, char** argv) {
  ad::restart_with_cpu_environment(argv);  // OpenMP wait policy and OpenBLAS kernels (runtime/cpu_threads.h)
  const int threads = use_cpu_threads("", "bench_contention");
  std::fprintf(stderr, "bench_contention: %d OpenMP threads on %d available cores, wait policy %s\n", threads,
               cpu_cores_available(), omp_wait_policy().c_str());
  benchmark::RegisterBenchmark("anomalydae_epoch_beside_hogs/cpu", epoch_beside_hogs)
      ->Arg(0)
      ->Arg(1)
      ->Arg(threads)
      ->Iterations(20)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
