// run_dcvae: train -> alpha -> test for DC-VAE, from one settings file.
//   ./experiments/run_dcvae --settings settings/model_settings.json                 # all three stages
//   ./experiments/run_dcvae --settings S --stage alpha --run runs/dcvae/20261125-101500  # one stage on a run
// A new run is written under <output_dir>/<timestamp>.partial-<pid> and renamed when every stage
// succeeded; on error one "error: ..." line is printed and the partial folder is removed.
#include <CLI/CLI.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "models/dcvae/dcvae.h"
#include "runtime/cuda_context.h"
#include "runtime/fs_util.h"
#include "runtime/progress.h"

using namespace ad;

namespace {
std::string timestamp() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return buf;
}

std::string git_commit() {
  FILE* p = popen("git rev-parse --short HEAD 2>/dev/null", "r");
  if (!p) return "unknown";
  char buf[64] = {0};
  std::string out = fgets(buf, sizeof buf, p) ? std::string(buf) : "unknown";
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"DC-VAE: per-channel, per-step anomalies in multivariate time series"};
  std::string settings_path, stage = "all", run_dir, device_override;
  app.add_option("--settings", settings_path, "settings JSON (the original's keys plus data paths)")->required();
  app.add_option("--stage", stage, "all | train | alpha | test")->check(CLI::IsMember({"all", "train", "alpha", "test"}));
  app.add_option("--run", run_dir, "existing run folder for --stage alpha/test (default: a new one)");
  app.add_option("--device", device_override, "cpu | cuda (overrides the settings)")->check(CLI::IsMember({"cpu", "cuda"}));
  CLI11_PARSE(app, argc, argv);

  try {
    dcvae::Settings s = dcvae::load_settings(settings_path);
    if (!device_override.empty()) s.device = device_override;
    Device device = dcvae::choose_device(s);
    std::cerr << "DC-VAE on " << (device == Device::CUDA ? "cuda: " + cuda_status() : std::string("cpu"))
              << ", seed " << s.seed << ", stage " << stage << "\n";

    bool new_run = run_dir.empty();
    AD_CHECK(new_run || std::filesystem::is_directory(run_dir), "run_dcvae", "--run ", run_dir, " is not a folder");
    AD_CHECK(!new_run || stage == "all" || stage == "train", "run_dcvae", "--stage ", stage,
             " needs --run with a trained run folder");
    std::unique_ptr<StagingDir> staging;
    if (new_run) {
      std::filesystem::create_directories(s.output_dir);
      staging = std::make_unique<StagingDir>(s.output_dir + "/" + timestamp());
      run_dir = staging->path();
    }
    nlohmann::json meta = {{"settings_file", settings_path}, {"settings", s.resolved},   {"seed", s.seed},
                           {"device", device == Device::CUDA ? cuda_status() : "cpu"}, {"git_commit", git_commit()},
                           {"stage", stage}};
    write_text_atomic(run_dir + "/run_" + stage + ".json", meta.dump(2));

    std::vector<std::string> channels;
    if (stage == "all" || stage == "train") {
      std::cerr << "[train] " << s.train_data << "\n";
      dcvae::train_stage(s, device, run_dir, std::cerr);
    }
    auto channel_names = [&] {
      auto j = nlohmann::json::parse(read_file_bytes(run_dir + "/preprocessing.json", "run_dcvae"));
      return j.at("channels").get<std::vector<std::string>>();
    };
    if (stage == "all" || stage == "alpha") {
      std::cerr << "[alpha] " << s.alpha_data << "\n";
      auto sc = dcvae::alpha_stage(s, device, run_dir, std::cerr);
      std::cout << "\nAlpha selection on " << s.alpha_data << "\n" << dcvae::channel_table(channel_names(), sc);
    }
    if (stage == "all" || stage == "test") {
      std::cerr << "[test] " << s.test_data << "\n";
      auto sc = dcvae::test_stage(s, device, run_dir, std::cerr);
      std::cout << "\nTest on " << s.test_data << " (range-based: prts alpha 0, reciprocal, front; point-wise)\n"
                << dcvae::channel_table(channel_names(), sc);
    }
    if (staging) {
      staging->commit();
      run_dir = staging->final_path();
    }
    std::cout << "\nrun folder: " << run_dir << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
