// The command-line options every run_<model> program shares, so that they read the same everywhere:
//   --settings S  --stage X  --run R  --force  --device cpu|cuda  --threads N  --remove-stale-partials  --no-plots
#pragma once
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "runtime/cpu_threads.h"
#include "runtime/run_folder.h"

namespace ad {

struct RunCli {
  std::string settings_path;
  std::string stage = "all";
  std::string run_dir;          // empty: a new run
  std::string device_override;  // empty: the settings' device
  bool remove_stale_partials = false;
  bool no_plots = false;
  std::string threads;  // --threads as typed: checked by run_options (one error line, exit 1), not by CLI11
  bool force = false;
  std::vector<std::string> stage_order;  // the --stage values but "all", in order (set by add_run_options)

  // The RunFolder options for this invocation. `settings_plots`: the settings' "plots" key (default true);
  // the end-of-run pictures are drawn unless it or --no-plots turns them off. Also sizes the CPU thread
  // pool from --threads (runtime/cpu_threads.h; throws on a bad value) and records it in run_<stage>.json.
  RunOptions run_options(const std::string& program, const std::string& output_dir, bool settings_plots = true) const {
    const int cpu_threads = use_cpu_threads(threads, program.c_str());
    if (const std::string note = blas_kernel_note(); !note.empty()) std::cerr << note << "\n";
    return {program, output_dir, run_dir, stage, remove_stale_partials, settings_plots && !no_plots, cpu_threads,
            stage_order, force};
  }
};

// Parses the command line. Returns -1 to go on, or the exit code: 0 after --help, 1 after a bad option,
// printed as the one "error: <program>: ..." line every input error gives.
// First re-executes the program once with the CPU environment set (runtime/cpu_threads.h).
inline int parse_command_line(CLI::App& app, const char* program, int argc, char** argv) {
  restart_with_cpu_environment(argv);
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << program << ": " << e.what() << "\n";
    return 1;
  }
}

// `stages` lists the values --stage accepts ("all" first); `stage_help` explains them.
inline void add_run_options(CLI::App& app, RunCli& cli, const std::vector<std::string>& stages,
                            const std::string& stage_help, const std::string& settings_help = "settings JSON") {
  for (const auto& s : stages)
    if (s != "all") cli.stage_order.push_back(s);
  app.add_flag("--force", cli.force,
               "with --run: rerun the first stage of a finished run (replacing its checkpoint) and remove the "
               "results of every later stage");
  app.add_option("--settings", cli.settings_path, settings_help)->required();
  app.add_option("--stage", cli.stage, stage_help)->check(CLI::IsMember(stages));
  app.add_option("--run", cli.run_dir, "a finished run folder to resume with one --stage (default: a new run)");
  app.add_option("--device", cli.device_override, "cpu | cuda (overrides the settings)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--threads", cli.threads,
                 "CPU threads, 1..the cores available to the process (0 or absent: all of them, or OMP_NUM_THREADS)");
  app.add_flag("--remove-stale-partials", cli.remove_stale_partials,
               "remove <output_dir>/*.partial-<pid> folders whose process is gone (they are reported otherwise)");
  app.add_flag("--no-plots", cli.no_plots,
               "no PNGs or report.html at the end (tools/plot_<model>.py; also the settings key \"plots\": false)");
}

}  // namespace ad
