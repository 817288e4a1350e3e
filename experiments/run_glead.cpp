// run_glead: GLEAD (log anomaly detection with global and local explanations) from one settings file:
// read or generate the log, window, split, train with validation-based selection, test, explain.
//   ./experiments/run_glead --settings settings/glead_synthetic.json
//   ./experiments/run_glead --settings settings/glead_bgl_2k.json --device cpu
// A new run is written under <output_dir>/<timestamp>.partial-<pid> and renamed when it succeeded; on error
// one "error: ..." line is printed and the partial folder is removed (runtime/run_folder.h).
#include <iostream>

#include "experiments/cli.h"
#include "models/glead/glead.h"
#include "runtime/cuda_context.h"
#include "runtime/run_folder.h"
#include "runtime/cpu_threads.h"

using namespace ad;

int main(int argc, char** argv) {
  ad::restart_with_cpu_environment(argv);  // OpenMP wait policy and OpenBLAS kernels (runtime/cpu_threads.h)
  CLI::App app{"GLEAD: log anomaly detection with prototypes, attention and explanations"};
  RunCli cli;
  add_run_options(app, cli, {"all"}, "all (GLEAD trains, selects and tests in one stage)");
  if (int rc = parse_command_line(app, "run_glead", argc, argv); rc >= 0) return rc;
  try {
    AD_CHECK(cli.run_dir.empty(), "run_glead", "--run: GLEAD has one stage; start a new run instead");
    glead::Settings s = glead::load_settings(cli.settings_path);
    if (!cli.device_override.empty()) s.device = cli.device_override;
    const Device device = choose_device(s.device, cli.settings_path);
    std::cerr << "GLEAD on " << device_description(device) << ", seed " << s.seed << ", data " << s.format << "\n";
    RunFolder run(cli.run_options("run_glead", s.output_dir), &std::cerr);
    run.record_start(cli.settings_path, s.resolved, uint64_t(s.seed), device);
    glead::Results r = glead::run(s, device, run.path(), std::cerr);
    std::cout << "\nGLEAD test, " << r.split_description << "\nbest epoch " << r.best_epoch << " of " << r.epochs_run
              << ", training " << r.train_seconds << " s, test " << r.test_seconds << " s\n"
              << glead::summary_table(r) << "(P/R/F1 of the anomalous class; entry level: every test entry of every "
              << "window, overlapping windows counted each time, as the original)\n";
    const std::string final_dir = run.finish();  // draws the plots (stderr, which flushes cout) first
    std::cout << "run folder: " << final_dir << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
