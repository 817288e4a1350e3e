// run_muad: MUAD's active-learning loop from one settings file (models/muad/README.md).
//   ./experiments/run_muad --settings settings/muad_synthetic.json
// Prints one line per round (labels used, pseudo-labels, validation and test F1, the trivial all-anomalous
// F1 beside it) and writes a run folder (runtime/run_folder.h): metrics.json, scores.csv (per test window),
// and, through the end-of-run plot hook, plots/f1_vs_labels.png, plots/roc_pr.png and report.html
// (tools/plot_muad.py; skipped without matplotlib, or with --no-plots / "plots": false).
#include <CLI/CLI.hpp>

#include <iostream>

#include "experiments/cli.h"
#include "models/muad/muad.h"
#include "runtime/checked.h"
#include "runtime/run_folder.h"
#include "runtime/cpu_threads.h"

using namespace ad;

int main(int argc, char** argv) {
  ad::restart_with_cpu_environment(argv);  // OpenMP wait policy and OpenBLAS kernels (runtime/cpu_threads.h)
  CLI::App app{"MUAD: multimodal anomaly detection for microservices with active learning"};
  RunCli cli;
  add_run_options(app, cli, {"all"}, "all (MUAD's loop is one stage)");
  std::string epochs_text;  // checked like the settings' training.epochs (one error line, exit 1)
  app.add_option("--epochs", epochs_text, "override the settings' epochs (quick trials)");
  if (int rc = parse_command_line(app, "run_muad", argc, argv); rc >= 0) return rc;
  try {
    AD_CHECK(cli.run_dir.empty(), "run_muad", "--run: MUAD's loop is one stage; start a new run");
    muad::Settings s = muad::load_settings(cli.settings_path);
    if (!cli.device_override.empty()) s.device = s.resolved["device"] = cli.device_override;
    const Device device = choose_device(s.device, "run_muad");
    s.device = device == Device::CUDA ? "cuda" : "cpu";  // "auto" resolved once
    if (!epochs_text.empty())
      s.epochs = s.resolved["training"]["epochs"] = parse_int_in_range(epochs_text, 1, 100000, "run_muad", "--epochs");
    RunFolder run(cli.run_options("run_muad", s.output_dir, s.plots), &std::cerr);
    run.record_start(cli.settings_path, s.resolved, s.seed, device);
    std::cerr << "MUAD (" << s.mode << ", query " << s.query << ") on " << device_description(device) << ", seed "
              << s.seed << "\n";
    muad::RunResult r = muad::run(s, std::cerr);
    muad::write_results(run.path(), s, r);
    const muad::RoundResult& f = r.rounds.back();
    const std::string final_dir = run.finish();  // draws the plots (stderr, which flushes cout) first
    std::cout << "MUAD final: " << f.labels << " labels, test F1 " << f.test_f1 << " (trivial all-anomalous F1 "
              << r.trivial_f1 << ")\nrun folder: " << final_dir << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
