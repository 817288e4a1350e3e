// run_dcvae: train -> alpha -> test for DC-VAE, from one settings file.
//   ./experiments/run_dcvae --settings settings/model_settings.json                 # all three stages
//   ./experiments/run_dcvae --settings S --stage alpha --run runs/dcvae/20261125-101500  # one stage on a run
// A new run is written under <output_dir>/<timestamp>.partial-<pid> and renamed when every stage
// succeeded; on error one "error: ..." line is printed and the partial folder is removed (runtime/run_folder.h).
#include <iostream>

#include <nlohmann/json.hpp>

#include "experiments/cli.h"
#include "models/dcvae/dcvae.h"
#include "runtime/fs_util.h"
#include "runtime/run_folder.h"

using namespace ad;

int main(int argc, char** argv) {
  CLI::App app{"DC-VAE: per-channel, per-step anomalies in multivariate time series"};
  RunCli cli;
  add_run_options(app, cli, {"all", "train", "alpha", "test"}, "all | train | alpha | test",
                  "settings JSON (the original's keys plus data paths)");
  CLI11_PARSE(app, argc, argv);
  const std::string& stage = cli.stage;

  try {
    dcvae::Settings s = dcvae::load_settings(cli.settings_path);
    if (!cli.device_override.empty()) s.device = cli.device_override;
    Device device = dcvae::choose_device(s);
    std::cerr << "DC-VAE on " << (device == Device::CUDA ? "cuda: " : "") << device_description(device)
              << ", seed " << s.seed << ", stage " << stage << "\n";
    AD_CHECK(!cli.run_dir.empty() || stage == "all" || stage == "train", "run_dcvae", "--stage ", stage,
             " needs --run with a trained run folder");
    RunFolder run(cli.run_options("run_dcvae", s.output_dir, s.plots), &std::cerr);
    const std::string& run_dir = run.path();
    run.record_start(cli.settings_path, s.resolved, s.seed, device);

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
    std::string final_dir = run.finish();  // draws the plots (stderr) first
    std::cout << "\nrun folder: " << final_dir << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
