// run_dcvae: train -> alpha -> test for DC-VAE, from one settings file.
//   ./experiments/run_dcvae --settings settings/model_settings.json                 # all three stages
//   ./experiments/run_dcvae --settings S --stage alpha --run runs/dcvae/20261125-101500  # one stage on a run
//   ./experiments/run_dcvae --settings settings/dcvae_skab_valve1.json --seeds 5        # SKAB protocol, 5 seeds
// A new run is written under <output_dir>/<timestamp>.partial-<pid> and renamed when every stage
// succeeded; on error one "error: ..." line is printed and the partial folder is removed (runtime/run_folder.h).
#include <iostream>

#include "experiments/cli.h"
#include "kernels/gemm.h"
#include "models/dcvae/dcvae.h"
#include "models/dcvae/pipeline.h"
#include "runtime/run_folder.h"

using namespace ad;

int main(int argc, char** argv) {
  CLI::App app{"DC-VAE: per-channel, per-step anomalies in multivariate time series"};
  RunCli cli;
  add_run_options(app, cli, {"all", "train", "alpha", "test"}, "all | train | alpha | test",
                  "settings JSON (the original's keys plus data paths)");
  int64_t seeds = 0;
  app.add_option("--seeds", seeds, "run the whole pipeline for seeds seed .. seed+N-1 (overrides the settings' seeds)")
      ->check(CLI::Range(int64_t(1), int64_t(1000)));
  if (int rc = parse_command_line(app, "run_dcvae", argc, argv); rc >= 0) return rc;
  const std::string& stage = cli.stage;

  try {
    dcvae::Settings s = dcvae::load_settings(cli.settings_path);
    if (!cli.device_override.empty()) s.device = cli.device_override;
    if (seeds > 0) s.seeds = seeds;
    s.resolved["seeds"] = s.seeds;
    AD_CHECK(s.seeds == 1 || stage == "all", "run_dcvae", "--seeds ", s.seeds, " needs --stage all");
    Device device = choose_device(s.device, "dcvae");
    set_gemm_tf32(device == Device::CUDA && s.tf32);  // off unless asked: parity with the f32 CPU path
    std::cerr << "DC-VAE on " << (device == Device::CUDA ? "cuda: " : "") << device_description(device)
              << ", seed " << s.seed << ", stage " << stage << "\n";
    AD_CHECK(!cli.run_dir.empty() || stage == "all" || stage == "train", "run_dcvae", "--stage ", stage,
             " needs --run with a trained run folder");
    RunFolder run(cli.run_options("run_dcvae", s.output_dir, s.plots), &std::cerr);
    const std::string& run_dir = run.path();
    run.record_start(cli.settings_path, s.resolved, s.seed, device);

    // The pipeline says when each stage begins, so every file is recorded under the stage that wrote it and a
    // rerun of one stage removes exactly the results that depended on it. Several seeds run as one stage.
    if (s.seeds == 1) {
      dcvae::run_pipeline(s, device, stage, run_dir, std::cout, std::cerr,
                          [&](const std::string& name) { run.begin_stage(name); });
    } else {
      run.begin_stage("train");
      dcvae::run_seeds(s, device, s.seeds, run_dir, std::cout, std::cerr);
    }
    std::string final_dir = run.finish();  // draws the plots (stderr) first
    std::cout << "\nrun folder: " << final_dir << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
