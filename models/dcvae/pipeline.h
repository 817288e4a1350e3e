// One DC-VAE run from its settings, whatever the protocol, once per seed: what run_dcvae calls.
//   protocol "split":            train -> alpha -> test on the three files (or one --stage of them);
//   protocol "skab_leaderboard": one model per experiment (leaderboard.h).
// With several seeds, seed k's run fills <run_dir>/seed_<seed+k>/ and the run folder gets seeds.csv
// (every row of every seed) and metrics.json (mean and sample std over seeds per row and metric).
#pragma once
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "models/dcvae/report.h"
#include "models/dcvae/settings.h"
#include "runtime/tensor.h"

namespace ad::dcvae {

// Runs `stage` (all | train | alpha | test; the leaderboard protocol has only "all") into run_dir; prints
// the tables on `out` and progress on `log`; returns the summary rows (empty when no test ran).
// `begin_stage` (may be empty) is called with "train", "alpha" or "test" before each stage runs, so the run
// folder records every file under the stage that wrote it (RunFolder::begin_stage; the leaderboard protocol
// is one stage, "train").
std::vector<SummaryRow> run_pipeline(const Settings& s, Device device, const std::string& stage,
                                     const std::string& run_dir, std::ostream& out, std::ostream& log,
                                     const std::function<void(const std::string&)>& begin_stage = {});

// The pipeline for seeds s.seed .. s.seed + n - 1 (needs stage "all"); prints each seed's table and the
// mean ± std table; writes seeds.csv and metrics.json into run_dir.
void run_seeds(const Settings& s, Device device, int64_t n, const std::string& run_dir, std::ostream& out,
               std::ostream& log);

}  // namespace ad::dcvae
