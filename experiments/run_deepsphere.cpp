// run_deepsphere: DeepSphere (or its LSTM-AE ablation) on dynamic networks, from one settings file.
//   ./experiments/run_deepsphere --settings settings/deepsphere_synthetic.json
//   ./experiments/run_deepsphere --settings settings/deepsphere_callgraph.json
// Trains on the training cases, scores the test cases and writes a run folder under output_dir:
// case_scores.csv, nested_anomalies.csv, metrics.json, checkpoint.safetensors, train_log.csv, the top case's
// residual (.npy) and, when matplotlib is there, plots/ with its heat map and report.html (tools/plot_deepsphere.py).
// On error: one "error: ..." line, exit code 1, and the partial run folder removed.
#include <iostream>

#include "experiments/cli.h"
#include "models/deepsphere/callgraph_cases.h"
#include "models/deepsphere/deepsphere.h"
#include "runtime/run_folder.h"
#include "runtime/cpu_threads.h"

using namespace ad;

int main(int argc, char** argv) {
  ad::restart_with_cpu_environment(argv);  // OpenMP wait policy and OpenBLAS kernels (runtime/cpu_threads.h)
  CLI::App app{"DeepSphere: anomalous cases and nested anomalies in dynamic networks"};
  RunCli cli;
  add_run_options(app, cli, {"all"}, "all (train, then score the test cases)");
  std::string output_override;
  bool no_hypersphere = false;
  app.add_option("--output-dir", output_override, "parent folder of the run folder (overrides output_dir)");
  app.add_flag("--lstm-ae", no_hypersphere, "the LSTM autoencoder ablation (hypersphere off)");
  if (int rc = parse_command_line(app, "run_deepsphere", argc, argv); rc >= 0) return rc;

  try {
    AD_CHECK(cli.run_dir.empty(), "run_deepsphere", "--run: DeepSphere has one stage; start a new run");
    deepsphere::Settings s = deepsphere::load_settings(cli.settings_path);
    if (!cli.device_override.empty()) s.device = cli.device_override;
    if (!output_override.empty()) s.output_dir = output_override;
    if (no_hypersphere) {
      s.hypersphere = false;
      s.resolved["model"]["hypersphere"] = false;
    }
    const Device device = choose_device(s.device, "deepsphere");
    std::cerr << "DeepSphere on " << (device == Device::CUDA ? "cuda: " : "") << device_description(device)
              << ", mode " << s.mode << ", seed " << s.seed << "\n";

    // Inputs are read and checked before the run folder exists.
    deepsphere::Dataset train, test;
    if (s.mode == "synthetic") {
      train = deepsphere::load_dataset(s.train.data, s.train.labels, s.train.deviations);
      test = deepsphere::load_dataset(s.test.data, s.test.labels, s.test.deviations);
    } else {
      auto cases = deepsphere::callgraph_datasets(s.callgraph);
      train = std::move(cases.first);
      test = std::move(cases.second);
    }

    deepsphere::check_training_memory(s, train.C, train.T, train.N, train.source);
    RunFolder run(cli.run_options("run_deepsphere", s.output_dir, s.plots), &std::cerr);
    run.record_start(cli.settings_path, s.resolved, s.seed, device);
    nlohmann::json m = deepsphere::run(s, train, test, device, run.path(), std::cerr);
    const std::string run_dir = run.finish();  // draws the plots (tools/plot_deepsphere.py) first

    std::cout << "\n" << m.at("model").get<std::string>() << " on " << test.C << " test cases\n";
    if (m["case"].contains("auc"))
      std::cout << "  case AUC " << m["case"]["auc"] << "  F1 " << m["case"]["prf"]["f1"] << "  best F1 "
                << m["case"]["best_f1"] << "  (baselines: distance to the mean case AUC "
                << m["case"]["baselines"]["distance_to_mean_case_auc"] << ", all-anomalous F1 "
                << m["case"]["baselines"]["all_anomalous_f1"] << ")\n";
    if (m["nested"].contains("rmse"))
      std::cout << "  nested RMSE " << m["nested"]["rmse"] << " (no-deviation baseline "
                << m["nested"]["rmse_baseline_zero"] << ")  entry AUC " << m["nested"]["entry_auc"]
                << " (entry-mean baseline " << m["nested"]["entry_auc_baseline_entry_mean"] << ")  rule F1 "
                << m["nested"]["rule"]["prf"]["f1"] << "\n";
    std::cout << "  flagged entries " << m["nested"]["rule"]["flagged"] << " (ranked in nested_anomalies.csv)\n";
    std::cout << "run folder: " << run_dir << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
