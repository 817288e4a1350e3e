// The three stages of DC-VAE, as the original's train.py / alpha_definition.py / test.py:
//   train: preprocess the train file, fit the network with early stopping, keep the best checkpoint;
//   alpha: tune alpha_up/alpha_down per channel on a labelled file;
//   test:  flag a file with the stored alphas and write per-step results.
// Every stage reads and writes the run folder, so stages can run separately (--stage) on one run.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "models/dcvae/detect.h"
#include "models/dcvae/settings.h"
#include "runtime/tensor.h"

namespace ad::dcvae {

struct RunPaths {
  std::string dir;  // the run folder being written
};

struct TrainReport {
  int64_t epochs_run = 0, best_epoch = 0;
  double best_val_loss = 0;
  double seconds = 0;
};

Device choose_device(const Settings& s);

TrainReport train_stage(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);
std::vector<ChannelScore> alpha_stage(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);
std::vector<ChannelScore> test_stage(const Settings& s, Device device, const std::string& run_dir, std::ostream& log);

// The per-channel table printed at the end of alpha and test.
std::string channel_table(const std::vector<std::string>& channels, const std::vector<ChannelScore>& scores);

}  // namespace ad::dcvae
