#include "models/dcvae/settings.h"

#include "runtime/checked.h"
#include "runtime/error.h"
#include "runtime/settings.h"

namespace ad::dcvae {

namespace {
// Ranges (models/dcvae/README.md, "Accepted ranges"): values outside them cannot give a meaningful run.
constexpr int64_t kMaxExtent = 1 << 20;  // T, M, J, widths, dilations, batch size
constexpr size_t kMaxLayers = 64;
constexpr int64_t kMaxEpochs = 1'000'000;
constexpr int64_t kMaxAlpha = 1000;
constexpr int64_t kMaxAlphaPairs = 400;  // (max_alpha - min_alpha + 1)^2 pairs are scored per channel

// Bytes one training step needs, roughly (f32): weights with gradients and two Adam moments, and the
// activations of every layer kept for the backward pass, with their gradients. Refusing a run that cannot
// fit is better than minutes of swapping or a bare allocation failure.
uint64_t training_bytes(const Settings& s) {
  const char* op = "settings";
  int64_t params = 0, widths = s.M * 4;  // input, reconstruction mean/std, their gradients
  int64_t prev = s.M;
  for (int64_t u : s.cnn_units) {
    params = checked_add(params, checked_mul(checked_mul(s.kernel, prev, op, "cnn_units"), u, op, "cnn_units"), op,
                         "cnn_units");
    widths = checked_add(widths, u, op, "cnn_units");
    prev = u;
  }
  params = checked_mul(params, 2, op, "cnn_units");  // encoder and decoder
  widths = checked_mul(widths, 2, op, "cnn_units");
  const int64_t act = checked_mul(checked_mul(s.batch_size, s.T, op, "batch_size x T"), widths, op,
                                  "batch_size x T x widths");
  const int64_t floats = checked_add(checked_mul(params, 4, op, "weights"), checked_mul(act, 4, op, "activations"),
                                     op, "training memory");
  return uint64_t(checked_mul(floats, 4, op, "training bytes"));
}
}  // namespace

Settings load_settings(const std::string& path) {
  SettingsReader r(load_json_file(path), path);
  Settings s;
  s.dataset_name = r.get_string("dataset_name", s.dataset_name);
  s.model_name = r.get_string("model_name", s.model_name);
  s.scale = r.get_bool("scale", s.scale);
  s.wo_outliers = r.get_bool("wo_outliers", s.wo_outliers);
  s.max_std = r.get_number_in("max_std", s.max_std, 1e-3, 1e3);
  s.T = r.get_int_in("T", s.T, 1, kMaxExtent);
  s.M = r.get_int_in("M", s.M, 1, kMaxExtent);
  s.cnn_units = r.get_int_list_in("cnn_units", s.cnn_units, 1, kMaxExtent, kMaxLayers);
  s.dil_rate = r.get_int_list_in("dil_rate", s.dil_rate, 1, kMaxExtent, kMaxLayers);
  s.kernel = r.get_int_in("kernel", s.kernel, 1, 1024);
  s.strs = r.get_int_in("strs", s.strs, 1, 1);
  s.activation = r.get_string("activation", s.activation);
  s.alpha_reg = r.get_number_in("alpha_reg", s.alpha_reg, 0, 1e6);
  s.batch_size = r.get_int_in("batch_size", s.batch_size, 1, kMaxExtent);
  s.J = r.get_int_in("J", s.J, 1, kMaxExtent);
  s.epochs = r.get_int_in("epochs", s.epochs, 1, kMaxEpochs);
  s.lr = r.get_number_in("lr", s.lr, 1e-12, 10);
  s.lr_decay = r.get_bool("lr_decay", s.lr_decay);
  s.decay_rate = r.get_number_in("decay_rate", s.decay_rate, 1e-6, 1);
  s.decay_step = r.get_int_in("decay_step", s.decay_step, 1, int64_t(1e12));
  s.val_percent = r.get_number_in("val_percent", s.val_percent, 0, 0.99);
  s.seed = r.get_int("seed", s.seed);
  s.summary = r.get_bool("summary", s.summary);
  s.custom_metrics = r.get_bool("custom_metrics", s.custom_metrics);

  SettingsReader d = r.section("data");
  s.train_data = d.get_string("train", "");
  s.alpha_data = d.get_string("alpha", "");
  s.alpha_labels = d.get_string("alpha_labels", "");
  s.test_data = d.get_string("test", "");
  s.test_labels = d.get_string("test_labels", "");
  s.test_system_labels = d.get_string("test_system_labels", "");
  s.test_segments = d.get_string("test_segments", "");
  s.alpha_segments = d.get_string("alpha_segments", "");
  s.alpha_system_labels = d.get_string("alpha_system_labels", "");
  s.output_dir = r.get_string("output_dir", s.output_dir);
  s.device = r.get_choice("device", s.device, {"auto", "cpu", "cuda"});
  s.tf32 = r.get_bool("tf32", s.tf32);
  s.cuda_graphs = r.get_bool("cuda_graphs", s.cuda_graphs);
  s.outlier_stats = r.get_choice("outlier_stats", s.outlier_stats, {"none", "train", "own"});
  s.inference_sampling = r.get_bool("inference_sampling", s.inference_sampling);
  s.loss_reduction = r.get_choice("loss_reduction", s.loss_reduction, {"mean", "sum"});
  s.early_stopping_min_delta = r.get_number_in("early_stopping_min_delta", s.early_stopping_min_delta, 0, 1e30);
  s.early_stopping_patience = r.get_int_in("early_stopping_patience", s.early_stopping_patience, 0, kMaxEpochs);
  s.adam_epsilon = r.get_number_in("adam_epsilon", s.adam_epsilon, 1e-30, 1);
  s.max_alpha = r.get_int_in("max_alpha", s.max_alpha, 1, kMaxAlpha);
  s.min_alpha = r.get_int_in("min_alpha", s.min_alpha, 1, kMaxAlpha);
  s.plots = r.get_bool("plots", s.plots);
  s.early_stopping = r.get_bool("early_stopping", s.early_stopping);
  s.validation_split = r.get_choice("validation_split", s.validation_split, {"rows", "windows"});
  s.seeds = r.get_int("seeds", s.seeds);
  s.protocol = r.get_choice("protocol", s.protocol, {"split", "skab_leaderboard"});
  s.train_rows = r.get_int("train_rows", s.train_rows);
  s.residual_quantile = r.get_number("residual_quantile", s.residual_quantile);
  s.residual_factor = r.get_number("residual_factor", s.residual_factor);
  s.score_alpha_set = r.get_bool("score_alpha_set", s.score_alpha_set);
  r.finish();
  s.resolved = r.resolved();

  const std::string ctx = "settings " + path;
  const size_t L = s.cnn_units.size();
  AD_CHECK(L >= 2, ctx.c_str(), "cnn_units needs at least 2 entries, got ", L);
  // The encoder uses dil_rate[0..L-2], the decoder dil_rate[-1..-(L-1)] and dil_rate[0]: L entries at least.
  AD_CHECK(s.dil_rate.size() >= L, ctx.c_str(), "dil_rate needs at least len(cnn_units) = ", L, " entries, got ",
           s.dil_rate.size());
  for (int64_t d : s.dil_rate) AD_CHECK(d >= 1, ctx.c_str(), "dil_rate entries must be >= 1, got ", d);
  for (int64_t u : s.cnn_units) AD_CHECK(u >= 1, ctx.c_str(), "cnn_units entries must be >= 1, got ", u);
  AD_CHECK(s.strs == 1, ctx.c_str(), "strs must be 1 (causal stride-1 convolutions), got ", s.strs);
  AD_CHECK(s.kernel >= 1, ctx.c_str(), "kernel must be >= 1, got ", s.kernel);
  AD_CHECK(s.T >= 1 && s.M >= 1 && s.J >= 1, ctx.c_str(), "T, M and J must be >= 1");
  AD_CHECK(s.batch_size >= 1 && s.epochs >= 0, ctx.c_str(), "batch_size must be >= 1 and epochs >= 0");
  AD_CHECK(s.val_percent >= 0 && s.val_percent < 1, ctx.c_str(), "val_percent must be in [0, 1), got ",
           s.val_percent);
  AD_CHECK(s.lr > 0, ctx.c_str(), "lr must be > 0, got ", s.lr);
  AD_CHECK(s.min_alpha >= 1 && s.max_alpha >= s.min_alpha, ctx.c_str(), "need 1 <= min_alpha <= max_alpha");
  AD_CHECK(s.seeds >= 1 && s.seeds <= 1000, ctx.c_str(), "seeds must be in [1, 1000], got ", s.seeds);
  AD_CHECK(s.residual_quantile >= 0 && s.residual_quantile <= 1, ctx.c_str(),
           "residual_quantile must be in [0, 1], got ", s.residual_quantile);
  AD_CHECK(s.residual_factor > 0, ctx.c_str(), "residual_factor must be > 0, got ", s.residual_factor);
  if (s.protocol == "skab_leaderboard") {
    AD_CHECK(s.train_rows >= s.T, ctx.c_str(), "train_rows (", s.train_rows, ") must be >= T (", s.T,
             "): a scored step's window must lie inside its experiment");
    AD_CHECK(!s.test_data.empty() && !s.test_segments.empty(), ctx.c_str(),
             "protocol \"skab_leaderboard\" needs data.test and data.test_segments");
    AD_CHECK(s.alpha_data.empty() == s.alpha_segments.empty(), ctx.c_str(),
             "data.alpha and data.alpha_segments go together in protocol \"skab_leaderboard\"");
    AD_CHECK(!s.score_alpha_set || !s.alpha_system_labels.empty(), ctx.c_str(),
             "score_alpha_set needs data.alpha and data.alpha_system_labels");
  }
  const int64_t alphas = s.max_alpha - s.min_alpha + 1;
  AD_CHECK(alphas * alphas <= kMaxAlphaPairs, ctx.c_str(), "min_alpha ", s.min_alpha, " .. max_alpha ", s.max_alpha,
           " gives ", alphas * alphas, " alpha pairs per channel, at most ", kMaxAlphaPairs, " are accepted");
  check_fits_in_memory(training_bytes(s), ctx.c_str(), "batch_size, T, M, cnn_units and kernel");
  return s;
}

}  // namespace ad::dcvae
