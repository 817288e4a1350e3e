// DC-VAE model benchmark: one training step (zero_grad + forward + loss + backward + Adam step) and
// inference (forward in eval mode, z = z_mean) of ad::dcvae::Network on one batch, for
//   demo:     settings/model_settings.json        (T 64,  M 12, cnn_units 5x32, dil_rate 1..32, J 4, batch 32)
//   original: settings/dcvae_telco_original.json  (T 128, M 12, cnn_units 6x64, dil_rate 1..64, J 4, batch 32)
// on the CPU and, when a GPU is usable, on CUDA (registered at runtime). The settings files are found
// next to this source file (or under the working directory); when neither is there the same values are
// built in. Counters: items_per_second = windows/s (SetItemsProcessed with the batch size) and peak_MiB,
// the peak of ad::memory_stats over the run (parameters, Adam state, activations). Each CUDA iteration
// ends with cuda_synchronize(), so the real time covers the kernels. tools/sweeps/dcvae_vs_torch.sh puts
// these next to the PyTorch reference (tools/reference/dcvae_bench.py).
//   ./build/experiments/bench_dcvae --benchmark_filter=train
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "layers/optimizer.h"
#include "models/dcvae/network.h"
#include "models/dcvae/settings.h"
#include "runtime/cuda_context.h"
#include "runtime/memory.h"
#include "runtime/tensor.h"
#include "runtime/cpu_threads.h"

using namespace ad;

namespace {

struct Config {
  std::string name, file;
  dcvae::Settings s;
  std::string source;  // where the values came from
};

// Values of the two settings files, used only when the files cannot be found.
dcvae::Settings builtin(bool original) {
  dcvae::Settings s;
  s.M = 12;
  s.J = 4;
  s.kernel = 2;
  s.batch_size = 32;
  if (original) {
    s.T = 128;
    s.cnn_units = {64, 64, 64, 64, 64, 64};
    s.dil_rate = {1, 2, 4, 8, 16, 32, 64};
    s.lr = 1e-4;
  } else {
    s.T = 64;
    s.cnn_units = {32, 32, 32, 32, 32};
    s.dil_rate = {1, 2, 4, 8, 16, 32};
    s.lr = 1e-3;
  }
  return s;
}

Config load_config(const std::string& name, const std::string& file, bool original) {
  namespace fs = std::filesystem;
  const fs::path repo = fs::path(__FILE__).parent_path().parent_path().parent_path();
  for (const fs::path& p : {repo / "settings" / file, fs::current_path() / "settings" / file}) {
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    try {
      return {name, file, dcvae::load_settings(p.string()), p.string()};
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_dcvae: %s: %s (using built-in values)\n", p.string().c_str(), e.what());
      break;
    }
  }
  return {name, file, builtin(original), "built-in"};
}

// A deterministic batch [B, T, M]: per-channel sines plus Gaussian noise (roughly standardized data).
Tensor make_batch(const dcvae::Settings& s, Device d) {
  std::mt19937_64 gen(12345);
  std::normal_distribution<double> noise(0.0, 0.3);
  std::vector<double> v(size_t(s.batch_size * s.T * s.M));
  size_t k = 0;
  for (int64_t b = 0; b < s.batch_size; ++b)
    for (int64_t t = 0; t < s.T; ++t)
      for (int64_t c = 0; c < s.M; ++c)
        v[k++] = std::sin(0.1 * double(t + 7 * b) * double(c + 1) / 4.0) + noise(gen);
  Tensor x = Tensor::from_vector(v, {s.batch_size, s.T, s.M});
  return d == Device::CPU ? x : x.to(d);
}

void finish(benchmark::State& st, const Config& c, Device d) {
  st.SetItemsProcessed(int64_t(st.iterations()) * c.s.batch_size);
  st.counters["peak_MiB"] = double(memory_stats(d).peak) / (1024.0 * 1024.0);
  st.counters["batch"] = double(c.s.batch_size);
  st.counters["T"] = double(c.s.T);
  st.SetLabel(c.name + " (" + c.file + ")");
}

void bench_train(benchmark::State& st, const Config& c, Device d) {
  reset_peak_memory(d);
  {
    dcvae::Network net(c.s, d);
    AdamOptions ao;
    ao.lr = c.s.lr;
    ao.eps = c.s.adam_epsilon;
    Adam adam(net.parameters(), ao);
    PhiloxStream rng(uint64_t(c.s.seed));
    Tensor x = make_batch(c.s, d);
    double last_loss = 0;
    auto step = [&] {
      net.zero_grad();
      dcvae::Outputs o = net.forward(x, true, true, rng);
      last_loss = net.loss(x, o).total;  // .item(): a host sync on CUDA, as in the train loop
      net.backward(x, o);
      adam.step();
      if (d == Device::CUDA) cuda_synchronize();
    };
    step();  // warm-up: module loading, allocator caching, Adam state
    for (auto _ : st) step();
    if (!std::isfinite(last_loss)) st.SkipWithError("training loss became non-finite");
    finish(st, c, d);
  }
}

void bench_infer(benchmark::State& st, const Config& c, Device d) {
  reset_peak_memory(d);
  {
    dcvae::Network net(c.s, d);
    PhiloxStream rng(uint64_t(c.s.seed));
    Tensor x = make_batch(c.s, d);
    auto pass = [&] {
      dcvae::Outputs o = net.forward(x, false, false, rng);  // eval BN, z = z_mean
      benchmark::DoNotOptimize(o.x_mean.raw());
      if (d == Device::CUDA) cuda_synchronize();
    };
    pass();
    for (auto _ : st) pass();
    finish(st, c, d);
  }
}

void register_all(const std::vector<Config>& configs, Device d) {
  const std::string dev = device_name(d);
  for (const Config& c : configs) {
    benchmark::RegisterBenchmark(("dcvae_train/" + c.name + "/" + dev).c_str(),
                                 [c, d](benchmark::State& st) { bench_train(st, c, d); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("dcvae_infer/" + c.name + "/" + dev).c_str(),
                                 [c, d](benchmark::State& st) { bench_infer(st, c, d); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  ad::restart_with_cpu_environment(argv);  // OpenMP wait policy and OpenBLAS kernels (runtime/cpu_threads.h)
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const std::vector<Config> configs{load_config("demo", "model_settings.json", false),
                                    load_config("original", "dcvae_telco_original.json", true)};
  register_all(configs, Device::CPU);
  if (cuda_available()) register_all(configs, Device::CUDA);
  benchmark::AddCustomContext("cuda", cuda_status());
  benchmark::AddCustomContext("openblas_core", blas_coretype());
  benchmark::AddCustomContext("omp_wait_policy", omp_wait_policy());
  for (const Config& c : configs)
    benchmark::AddCustomContext("config_" + c.name,
                                "T " + std::to_string(c.s.T) + ", M " + std::to_string(c.s.M) + ", layers " +
                                    std::to_string(c.s.cnn_units.size()) + "x" + std::to_string(c.s.cnn_units[0]) +
                                    ", J " + std::to_string(c.s.J) + ", batch " + std::to_string(c.s.batch_size) +
                                    " (" + c.source + ")");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
