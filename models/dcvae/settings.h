// DC-VAE settings: the original's keys (so an existing model_settings file works) plus ours.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ad::dcvae {

struct Settings {
  // ---- the original's keys (GastonGarciaGonzalez/DC-VAE settings/model_settings.txt) ----
  std::string dataset_name = "TELCO";
  std::string model_name = "dc-vae";
  bool scale = true;            // standard scaler fitted on train
  bool wo_outliers = true;      // mask |z| > max_std before training
  double max_std = 7;
  int64_t T = 128;              // window length
  int64_t M = 12;               // channels
  std::vector<int64_t> cnn_units{64, 64, 64, 64, 64, 64};
  std::vector<int64_t> dil_rate{1, 2, 4, 8, 16, 32, 64};
  int64_t kernel = 2;
  int64_t strs = 1;             // only 1 is supported (as in every published configuration)
  std::string activation = "tanh";  // read for compatibility; the original's encoder is always tanh, decoder elu
  double alpha_reg = 1e-4;      // read for compatibility; unused by the original's network
  int64_t batch_size = 32;
  int64_t J = 4;                // latent channels
  int64_t epochs = 100;
  double lr = 1e-4;
  bool lr_decay = false;
  double decay_rate = 0.96;
  int64_t decay_step = 7000;
  double val_percent = 0.2;
  int64_t seed = 123;
  bool summary = true;          // print the layer table
  bool custom_metrics = true;   // alpha criterion: range-based F1 (true) or point-wise F1 (false)

  // ---- ours ----
  std::string train_data, alpha_data, alpha_labels, test_data, test_labels;
  std::string test_system_labels;            // one label per step: adds the system-level rows to the report
  std::string alpha_system_labels;          // for score_alpha_set
  std::string test_segments, alpha_segments;  // experiment,start_row,end_row: the leaderboard protocol's experiments
  std::string output_dir = "runs/dcvae";
  bool plots = true;  // end-of-run PNGs and report.html (tools/plot_dcvae.py); --no-plots also turns them off
  std::string device = "auto";            // auto | cpu | cuda
  bool tf32 = false;  // GPU matrix products in TF32 (kernels/gemm.h): faster, ~1e-3 relative error
  bool cuda_graphs = false;               // on a device: capture the training step once and replay it (opt-in
                                          // until a real GPU has run it: see the README)
  std::string outlier_stats = "none";     // none | train | own: whose mean/std mask the scored (alpha, test) rows
  bool inference_sampling = false;        // false: z = z_mean at inference (deterministic); true: sample
  std::string loss_reduction = "mean";    // mean (latest code) | sum (paper-era: sum over T and channels)
  double early_stopping_min_delta = 0.01;
  int64_t early_stopping_patience = 5;
  double adam_epsilon = 1e-7;             // Keras' default
  int64_t max_alpha = 7, min_alpha = 2;
  bool early_stopping = true;             // false: train exactly `epochs` epochs and keep the last weights
  std::string validation_split = "rows";  // rows: last val_percent of rows (the original) | windows: last
                                          // val_percent of the training windows (Keras validation_split)
  int64_t seeds = 1;                      // run the pipeline for seed, seed+1, ..., seed+seeds-1

  // ---- the SKAB leaderboard protocol (protocol "skab_leaderboard") ----
  std::string protocol = "split";         // split: train/alpha/test files | skab_leaderboard
  int64_t train_rows = 400;               // each experiment's first rows: training only, never scored
  double residual_quantile = 0.999;       // training-residual threshold: quantile of |x - mu| / sigma over the
  double residual_factor = 4.0 / 3.0;     // training rows, times this factor (SKAB's Conv-AE notebook)
  bool score_alpha_set = false;           // also score the alpha set (alphas from the scored set), same models

  nlohmann::json resolved;  // every value used, defaults filled in
};

// Reads and validates a settings file; relative data paths are taken relative to the working directory.
Settings load_settings(const std::string& path);

}  // namespace ad::dcvae
