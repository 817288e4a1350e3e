// AnomalyDAE runs, as run_tracedae drives them:
//   graph mode  (transductive, as the official code): train on one attributed graph, score its nodes,
//               compare with its labels when it has them.
//   traces mode (TraceDAE): train stage fits the trace featurizer and the network on normal training
//               traces (one block-diagonal batch graph) and fixes a threshold from their scores; test stage
//               scores new traces with the stored model and reports per trace and per node.
// Every stage reads and writes the run folder.
#pragma once
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "models/anomalydae/settings.h"
#include "runtime/tensor.h"

namespace ad::anomalydae {


// Returns the metrics JSON it wrote (also printed as a summary by the caller).
nlohmann::json run_graph(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);
nlohmann::json train_traces(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);
nlohmann::json test_traces(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);

// One-screen summary of a metrics JSON written by the functions above.
std::string summary_table(const nlohmann::json& metrics);

}  // namespace ad::anomalydae
