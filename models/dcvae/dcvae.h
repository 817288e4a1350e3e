// The three stages of DC-VAE, as the original's train.py / alpha_definition.py / test.py:
//   train: preprocess the train file, fit the network with early stopping, keep the best checkpoint;
//   alpha: tune alpha_up/alpha_down per channel on a labelled file;
//   test:  flag a file with the stored alphas and write per-step results.
// Every stage reads and writes the run folder, so stages can run separately (--stage) on one run.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "models/dcvae/data.h"
#include "models/dcvae/detect.h"
#include "models/dcvae/report.h"
#include "models/dcvae/settings.h"
#include "runtime/tensor.h"

namespace ad::dcvae {

class Network;

struct RunPaths {
  std::string dir;  // the run folder being written
};

struct TrainReport {
  int64_t epochs_run = 0, best_epoch = 0;
  double best_val_loss = 0;  // NaN without early stopping
  double last_loss = 0;      // training loss of the last epoch run
  double seconds = 0;
};

// Per-epoch training record (history.csv).
struct History {
  std::vector<int64_t> epoch;
  std::vector<double> loss, reconstruction, kl, val_loss, seconds;
};

// The test stage's per-channel scores and the summary rows (channel mean, system level, trivial).
struct StageReport {
  std::vector<ChannelScore> channels;
  std::vector<SummaryRow> rows;
};


TrainReport train_stage(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);
std::vector<ChannelScore> alpha_stage(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);
StageReport test_stage(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);

// Building blocks the stages and the SKAB leaderboard protocol share.
// Trains `net` on scaled rows `x` with the given windows: Adam, early stopping on the validation loss and
// the best weights restored (s.early_stopping), or exactly s.epochs epochs keeping the last weights.
TrainReport fit_network(const Settings& s, Device device, const Series& x, WindowSplit windows, Network& net,
                        std::ostream& log, History* history = nullptr);
// Inference over every window of `x` (or the windows starting at `window_starts`); keeps the last step of
// each (rows T-1 .. N-1, or start+T-1 for each start).
Reconstruction reconstruct(const Settings& s, Network& net, const Series& x, Device device, std::ostream& log,
                           const std::vector<int64_t>* window_starts = nullptr);

// The per-channel table printed at the end of alpha and test.
std::string channel_table(const std::vector<std::string>& channels, const std::vector<ChannelScore>& scores);

}  // namespace ad::dcvae
