// Op benchmarks: gemm (FLOP/s), softmax, reductions and the fused Adam update (bytes/s), on the CPU and,
// when a GPU is usable, on CUDA (registered at runtime). Each reports the peak tensor memory of its
// device during the run as the `peak_bytes` counter (runtime/memory.h).
//   ./build/experiments/bench_ops --benchmark_filter=cuda
#include <benchmark/benchmark.h>

#include <functional>
#include <string>

#include "kernels/adam.h"
#include "kernels/gemm.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"
#include "runtime/cuda_context.h"
#include "runtime/memory.h"
#include "runtime/tensor.h"
#include "runtime/cpu_threads.h"

using namespace ad;

namespace {

Tensor filled(const Shape& s, double v, Device d) { return Tensor::full(s, v, DType::F32, d); }

// Runs `body` per iteration (synchronizing CUDA so the time covers the kernels), then sets the counters.
void run_loop(benchmark::State& state, Device d, const std::function<void()>& body, double bytes, double flops) {
  body();  // warm up: first-call library setup and allocator growth stay out of the timing
  if (d == Device::CUDA) cuda_synchronize();
  for (auto _ : state) {
    body();
    if (d == Device::CUDA) cuda_synchronize();
  }
  if (bytes > 0) state.SetBytesProcessed(int64_t(bytes * double(state.iterations())));
  if (flops > 0) {
    state.SetItemsProcessed(int64_t(flops * double(state.iterations())));
    state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  }
  state.counters["peak_bytes"] = double(memory_stats(d).peak);
}

void bench_gemm(benchmark::State& state, Device d) {
  int64_t n = state.range(0);
  reset_peak_memory(d);
  Tensor a = filled({n, n}, 0.5, d), b = filled({n, n}, 0.25, d), c = filled({n, n}, 0, d);
  run_loop(state, d, [&] { gemm(false, true, 1.0, a, b, 0.0, c); }, 3.0 * double(n * n) * 4, 2.0 * double(n) * n * n);
}

void bench_softmax(benchmark::State& state, Device d) {
  int64_t rows = state.range(0), cols = state.range(1);
  reset_peak_memory(d);
  Tensor x = filled({rows, cols}, 0.1, d), y = filled({rows, cols}, 0, d);
  run_loop(state, d, [&] { softmax_forward(x, y); }, 2.0 * double(rows * cols) * 4, 0);
}

void bench_softmax_backward(benchmark::State& state, Device d) {
  int64_t rows = state.range(0), cols = state.range(1);
  reset_peak_memory(d);
  Tensor y = filled({rows, cols}, 1.0 / double(cols), d), dy = filled({rows, cols}, 0.5, d), dx = filled({rows, cols}, 0, d);
  run_loop(state, d, [&] { softmax_backward(y, dy, dx); }, 3.0 * double(rows * cols) * 4, 0);
}

// axis 0, 1: sum_axis; 2: sum_all.
void bench_reduce(benchmark::State& state, Device d) {
  int64_t rows = state.range(0), cols = state.range(1), axis = state.range(2);
  reset_peak_memory(d);
  Tensor x = filled({rows, cols}, 0.5, d);
  Tensor out = filled({axis == 0 ? cols : axis == 1 ? rows : 1}, 0, d);
  run_loop(
      state, d,
      [&] {
        if (axis == 2) sum_all(x, out);
        else sum_axis(x, int(axis), out);
      },
      double(rows * cols) * 4, 0);
}

void bench_adam(benchmark::State& state, Device d) {
  int64_t n = state.range(0);
  reset_peak_memory(d);
  Tensor p = filled({n}, 1, d), g = filled({n}, 0.01, d), m = filled({n}, 0, d), v = filled({n}, 0, d);
  AdamStepArgs a;
  a.bias_correction1 = 0.1;
  a.bias_correction2 = 0.001;
  // Reads p, g, m, v; writes p, m, v.
  run_loop(state, d, [&] { adam_step(p, g, m, v, a); }, 7.0 * double(n) * 4, 0);
}

void register_all(Device d) {
  std::string dev = device_name(d);
  auto reg = [&](const std::string& name, void (*fn)(benchmark::State&, Device)) {
    return benchmark::RegisterBenchmark((name + "/" + dev).c_str(), [fn, d](benchmark::State& s) { fn(s, d); });
  };
  reg("gemm", bench_gemm)->Arg(128)->Arg(512)->Arg(1024)->Unit(benchmark::kMicrosecond)->UseRealTime();
  reg("softmax_forward", bench_softmax)->Args({1024, 256})->Args({4096, 1024})->Args({256, 8191})
      ->Unit(benchmark::kMicrosecond)->UseRealTime();
  reg("softmax_backward", bench_softmax_backward)->Args({4096, 1024})->Unit(benchmark::kMicrosecond)->UseRealTime();
  reg("reduce", bench_reduce)
      ->ArgNames({"rows", "cols", "axis"})
      ->Args({4096, 1024, 0})
      ->Args({4096, 1024, 1})
      ->Args({4096, 1024, 2})
      ->Args({1 << 20, 8, 0})
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
  reg("adam_step", bench_adam)->Arg(1 << 16)->Arg(1 << 20)->Arg(1 << 23)->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  ad::restart_with_cpu_environment(argv);  // OpenMP wait policy and OpenBLAS kernels (runtime/cpu_threads.h)
  register_all(Device::CPU);
  if (cuda_available()) register_all(Device::CUDA);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("cuda", cuda_status());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
