// run_deepsphere: DeepSphere (or its LSTM-AE ablation) on dynamic networks, from one settings file.
//   ./experiments/run_deepsphere --settings settings/deepsphere_synthetic.json
//   ./experiments/run_deepsphere --settings settings/deepsphere_callgraph.json
// Trains on the training cases, scores the test cases and writes a run folder under output_dir:
// case_scores.csv, nested_anomalies.csv, metrics.json, checkpoint.safetensors, train_log.csv, the top case's
// residual (.npy) and, when matplotlib is there, its heat map (tools/plot_deepsphere.py).
// On error: one "error: ..." line, exit code 1, and the partial run folder removed.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "models/deepsphere/callgraph_cases.h"
#include "models/deepsphere/deepsphere.h"
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
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"DeepSphere: anomalous cases and nested anomalies in dynamic networks"};
  std::string settings_path, device_override, output_override;
  bool no_hypersphere = false;
  app.add_option("--settings", settings_path, "settings JSON")->required();
  app.add_option("--device", device_override, "cpu | cuda (overrides the settings)")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--output-dir", output_override, "parent folder of the run folder (overrides output_dir)");
  app.add_flag("--lstm-ae", no_hypersphere, "the LSTM autoencoder ablation (hypersphere off)");
  CLI11_PARSE(app, argc, argv);

  try {
    deepsphere::Settings s = deepsphere::load_settings(settings_path);
    if (!device_override.empty()) s.device = device_override;
    if (!output_override.empty()) s.output_dir = output_override;
    if (no_hypersphere) s.hypersphere = false;
    const Device device = deepsphere::choose_device(s);
    std::cerr << "DeepSphere on " << (device == Device::CUDA ? "cuda: " + cuda_status() : std::string("cpu"))
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

    std::filesystem::create_directories(s.output_dir);
    StagingDir staging(s.output_dir + "/" + timestamp() + (s.hypersphere ? "" : "-lstm_ae"));
    nlohmann::json meta = {{"settings_file", settings_path}, {"settings", s.resolved},
                           {"device", device == Device::CUDA ? cuda_status() : "cpu"}};
    write_text_atomic(staging.file("run.json"), meta.dump(2));
    nlohmann::json m = deepsphere::run(s, train, test, device, staging.path(), std::cerr);
    staging.commit();
    const std::string run_dir = staging.final_path();

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
    if (s.plot) {
      const std::string cmd = "/usr/bin/python3 tools/plot_deepsphere.py " + run_dir + " > /dev/null 2>&1";
      if (std::system(cmd.c_str()) == 0)
        std::cout << "  heat map: " << run_dir << "/top_case_residual.png\n";
      else
        std::cout << "  (no heat map: tools/plot_deepsphere.py needs python3 with numpy and matplotlib)\n";
    }
    std::cout << "run folder: " << run_dir << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
