// A synthetic log generator of ours (not from the paper) for the default run: per-entry labelled log keys
// with the structure GLEAD looks for, at any size, without a data set.
//
// Normal traffic: four workflows written as key grammars (job run, file I/O, network session, maintenance
// scan), each a fixed order of steps with optional steps and repeated steps (loops). Instances run one after
// another; 30 % of them interleave with the next instance (two workflows in flight), and a benign noise key
// (clock sync, RAS info) appears before 5 % of entries.
// Anomalies: each workflow instance is anomalous with probability `anomaly_rate`, of one of four kinds:
//   rare key       an error key (kernel panic, machine check, TLB error, storage failure) inside the workflow
//   missing step   a required step dropped; the entry that follows the gap is labelled
//   out of order   two neighbouring required steps swapped; both are labelled
//   burst          3 to 8 repeated link-failure entries inserted; all labelled
// Only the entries named are anomalous (per-entry labels, like loghub's). The rare key and burst kinds are
// what a key detector (and the trivial baseline) sees; missing and out-of-order steps need order or counts,
// which GLEAD's order-blind attention only partly sees.
#pragma once
#include <cstdint>

#include "models/glead/data.h"

namespace ad::glead {

struct SyntheticLogOptions {
  int64_t entries = 60000;
  double anomaly_rate = 0.03;
  uint64_t seed = 42;
};

LogEntries generate_synthetic_log(const SyntheticLogOptions& o);

}  // namespace ad::glead
