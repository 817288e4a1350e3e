// run_tracedae: AnomalyDAE on an attributed graph, or TraceDAE on microservice traces, from one settings file.
//   ./experiments/run_tracedae --settings settings/tracedae_traces.json             # traces: train -> test
//   ./experiments/run_tracedae --settings settings/tracedae_blogcatalog.json        # graph: train + score
//   ./experiments/run_tracedae --settings S --stage test --run runs/tracedae/...      # traces: score new spans
// A new run is written under <output_dir>/<timestamp>.partial-<pid> and renamed when every stage
// succeeded; on error one "error: ..." line is printed and the partial folder is removed.
#include <CLI/CLI.hpp>

#include <ctime>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "models/anomalydae/anomalydae.h"
#include "runtime/cuda_context.h"
#include "runtime/fs_util.h"

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
  CLI::App app{"TraceDAE / AnomalyDAE: anomalous nodes in attributed graphs and anomalous microservice traces"};
  std::string settings_path, stage = "all", run_dir, device_override;
  int64_t epochs_override = 0;
  app.add_option("--settings", settings_path, "settings JSON")->required();
  app.add_option("--stage", stage, "all | train | test (test and train apply to traces mode)")
      ->check(CLI::IsMember({"all", "train", "test"}));
  app.add_option("--run", run_dir, "existing run folder for --stage test (default: a new one)");
  app.add_option("--device", device_override, "cpu | cuda (overrides the settings)")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--epochs", epochs_override, "override the settings' epochs (quick trials)")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  try {
    anomalydae::Settings s = anomalydae::load_settings(settings_path);
    if (!device_override.empty()) s.device = s.resolved["device"] = device_override;
    if (epochs_override > 0) s.epochs = s.resolved["epochs"] = epochs_override;
    Device device = anomalydae::choose_device(s);
    std::cerr << "AnomalyDAE (" << s.mode << " mode, " << s.dataset_name << ") on "
              << (device == Device::CUDA ? "cuda: " + cuda_status() : std::string("cpu")) << ", seed " << s.seed
              << ", stage " << stage << "\n";
    AD_CHECK(s.mode == "traces" || stage == "all", "run_tracedae", "graph mode trains and scores in one stage: use --stage all");
    bool new_run = run_dir.empty();
    AD_CHECK(new_run || std::filesystem::is_directory(run_dir), "run_tracedae", "--run ", run_dir, " is not a folder");
    AD_CHECK(!new_run || stage != "test", "run_tracedae", "--stage test needs --run with a trained run folder");
    std::unique_ptr<StagingDir> staging;
    if (new_run) {
      std::filesystem::create_directories(s.output_dir);
      staging = std::make_unique<StagingDir>(s.output_dir + "/" + timestamp());
      run_dir = staging->path();
    }
    nlohmann::json meta = {{"settings_file", settings_path}, {"settings", s.resolved}, {"seed", s.seed},
                           {"device", device == Device::CUDA ? cuda_status() : "cpu"}, {"git_commit", git_commit()},
                           {"stage", stage}};
    write_text_atomic(run_dir + "/run_" + stage + ".json", meta.dump(2));

    nlohmann::json metrics;
    if (s.mode == "graph") {
      metrics = anomalydae::run_graph(s, device, run_dir, std::cerr);
    } else {
      if (stage == "all" || stage == "train") {
        std::cerr << "[train] " << s.train_spans << "\n";
        metrics = anomalydae::train_traces(s, device, run_dir, std::cerr);
      }
      if (stage == "all" || stage == "test") {
        std::cerr << "[test] " << s.test_spans << "\n";
        metrics = anomalydae::test_traces(s, device, run_dir, std::cerr);
      }
    }
    std::cout << "\n" << anomalydae::summary_table(metrics);
    if (staging) {
      staging->commit();
      run_dir = staging->final_path();
    }
    std::cout << "run folder: " << run_dir << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
