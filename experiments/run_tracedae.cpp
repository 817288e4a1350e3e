// run_tracedae: AnomalyDAE on an attributed graph, or TraceDAE on microservice traces, from one settings file.
//   ./experiments/run_tracedae --settings settings/tracedae_traces.json             # traces: train -> test
//   ./experiments/run_tracedae --settings settings/tracedae_blogcatalog.json        # graph: train + score
//   ./experiments/run_tracedae --settings S --stage test --run runs/tracedae/...      # traces: score new spans
// A new run is written under <output_dir>/<timestamp>.partial-<pid> and renamed when every stage
// succeeded; on error one "error: ..." line is printed and the partial folder is removed (runtime/run_folder.h).
#include <iostream>

#include <nlohmann/json.hpp>

#include "experiments/cli.h"
#include "kernels/gemm.h"
#include "models/anomalydae/anomalydae.h"
#include "runtime/checked.h"
#include "runtime/run_folder.h"

using namespace ad;

int main(int argc, char** argv) {
  CLI::App app{"TraceDAE / AnomalyDAE: anomalous nodes in attributed graphs and anomalous microservice traces"};
  RunCli cli;
  std::string epochs_text;
  add_run_options(app, cli, {"all", "train", "test"}, "all | train | test (test and train apply to traces mode)");
  app.add_option("--epochs", epochs_text, "override the settings' epochs (quick trials)");
  if (int rc = parse_command_line(app, "run_tracedae", argc, argv); rc >= 0) return rc;
  const std::string& stage = cli.stage;

  try {
    anomalydae::Settings s = anomalydae::load_settings(cli.settings_path);
    if (!cli.device_override.empty()) s.device = s.resolved["device"] = cli.device_override;
    if (!epochs_text.empty())
      s.epochs = s.resolved["epochs"] =
          parse_int_in_range(epochs_text, 1, anomalydae::kMaxEpochs, "run_tracedae", "--epochs");
    Device device = choose_device(s.device, "anomalydae");
    set_gemm_tf32(device == Device::CUDA && s.tf32);  // off unless asked: parity with the f32 CPU path
    std::cerr << "AnomalyDAE (" << s.mode << " mode, " << s.dataset_name << ") on "
              << (device == Device::CUDA ? "cuda: " : "") << device_description(device) << ", seed " << s.seed
              << ", stage " << stage << "\n";
    AD_CHECK(s.mode == "traces" || stage == "all", "run_tracedae", "graph mode trains and scores in one stage: use --stage all");
    AD_CHECK(!cli.run_dir.empty() || stage != "test", "run_tracedae", "--stage test needs --run with a trained run folder");
    RunFolder run(cli.run_options("run_tracedae", s.output_dir, s.plots), &std::cerr);
    const std::string& run_dir = run.path();
    run.record_start(cli.settings_path, s.resolved, s.seed, device);

    nlohmann::json metrics;
    if (s.mode == "graph") {
      run.begin_stage("train");  // trains and scores in one stage
      metrics = anomalydae::run_graph(s, device, run_dir, std::cerr);
    } else {
      if (stage == "all" || stage == "train") {
        run.begin_stage("train");
        std::cerr << "[train] " << s.train_spans << "\n";
        metrics = anomalydae::train_traces(s, device, run_dir, std::cerr);
      }
      if (stage == "all" || stage == "test") {
        run.begin_stage("test");
        std::cerr << "[test] " << s.test_spans << "\n";
        metrics = anomalydae::test_traces(s, device, run_dir, std::cerr);
      }
    }
    std::cout << "\n" << anomalydae::summary_table(metrics);
    std::string final_dir = run.finish();  // draws the plots (stderr) first
    std::cout << "run folder: " << final_dir << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
