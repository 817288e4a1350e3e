#include "models/glead/settings.h"

#include <algorithm>

#include "runtime/checked.h"
#include "runtime/error.h"
#include "runtime/settings.h"

namespace ad::glead {

namespace {
// Ranges (models/glead/README.md, "Accepted ranges"): values outside them cannot give a meaningful run.
constexpr int64_t kMaxCount = 1'000'000'000;  // rows, entries, windows of a split part, step
constexpr int64_t kMaxWidth = 1 << 14;        // hidden and attention sizes
constexpr int64_t kMaxWindow = 10'000;
constexpr int64_t kMaxBatch = 1 << 20;

// Bytes a training or test step needs, roughly (f32), before the vocabulary is known: the weights with
// gradients and two Adam moments, and per window of the largest batch the embeddings, the attention's hidden
// layer and scores, and the heads' outputs, kept for the backward pass with their gradients.
uint64_t step_bytes(const Settings& s, const char* op) {
  const int64_t D = s.hidden_size, A = s.attention_size, K = s.n_attention_heads, T = s.window_size;
  const int64_t B = std::max({s.batch_size_train, s.batch_size_val, s.batch_size_test});
  int64_t params = checked_add(checked_mul(D, A, op, "hidden_size x attention_size"),
                               checked_mul(A, K, op, "attention_size x n_attention_heads"), op, "weights");
  params = checked_add(params, checked_mul(checked_mul(3, K, op, "heads"), D, op, "prototypes"), op, "weights");
  params = checked_add(params, checked_mul(T, D, op, "positions"), op, "weights");
  const int64_t per_step = checked_add(checked_add(D, A, op, "widths"), K, op, "widths");
  int64_t act = checked_mul(checked_mul(B, T, op, "batch x window_size"), per_step, op, "activations");
  act = checked_add(act, checked_mul(checked_mul(B, K, op, "batch x heads"), D, op, "head outputs"), op, "activations");
  const int64_t floats = checked_add(checked_mul(params, 4, op, "weights"), checked_mul(act, 2, op, "activations"),
                                     op, "training memory");
  return uint64_t(checked_mul(floats, 4, op, "training bytes"));
}
}  // namespace

Settings load_settings(const std::string& path) {
  SettingsReader r(load_json_file(path), path);
  Settings s;
  s.path = path;
  SettingsReader d = r.section("data");
  s.format = d.get_choice("format", s.format, {"loghub", "sessions", "synthetic"});
  s.structured_csv = d.get_string("structured_csv", "");
  s.templates_csv = d.get_string("templates_csv", "");
  s.max_rows = d.get_int_in("max_rows", s.max_rows, 1, kMaxCount);
  s.sessions_normal = d.get_string("sessions_normal", "");
  s.sessions_anomalous = d.get_string("sessions_anomalous", "");
  s.synthetic_entries = d.get_int_in("synthetic_entries", s.synthetic_entries, 1, 100'000'000);
  s.synthetic_anomaly_rate = d.get_number_in("synthetic_anomaly_rate", s.synthetic_anomaly_rate, 0, 1);
  s.window_size = r.get_int_in("window_size", s.window_size, 1, kMaxWindow);
  s.step_size = r.get_int_in("step_size", s.step_size, 1, kMaxCount);

  SettingsReader sp = r.section("split");
  s.split = sp.get_choice("kind", s.split, {"random", "time_ordered"});
  s.train_fraction = sp.get_number_in("train_fraction", s.train_fraction, 0, 1);
  s.val_fraction = sp.get_number_in("val_fraction", s.val_fraction, 0, 1);
  SplitSizes& z = s.sizes;
  z.train_labelled_normal = sp.get_int_in("train_labelled_normal", z.train_labelled_normal, 0, kMaxCount);
  z.train_unlabelled_normal = sp.get_int_in("train_unlabelled_normal", z.train_unlabelled_normal, 0, kMaxCount);
  z.train_unlabelled_anomalous =
      sp.get_int_in("train_unlabelled_anomalous", z.train_unlabelled_anomalous, 0, kMaxCount);
  z.train_labelled_anomalous = sp.get_int_in("train_labelled_anomalous", z.train_labelled_anomalous, 0, kMaxCount);
  z.val_normal = sp.get_int_in("val_normal", z.val_normal, 0, kMaxCount);
  z.val_anomalous = sp.get_int_in("val_anomalous", z.val_anomalous, 0, kMaxCount);
  z.test_normal = sp.get_int_in("test_normal", z.test_normal, -1, kMaxCount);  // -1: every window left
  z.test_anomalous = sp.get_int_in("test_anomalous", z.test_anomalous, -1, kMaxCount);

  s.epochs = r.get_int_in("epochs", s.epochs, 1, 1'000'000);
  s.lambda_p = r.get_number_in("lambda_p", s.lambda_p, 0, 1e6);
  s.hidden_size = r.get_int_in("hidden_size", s.hidden_size, 1, kMaxWidth);
  s.attention_size = r.get_int_in("attention_size", s.attention_size, 1, kMaxWidth);
  s.n_attention_heads = r.get_int_in("n_attention_heads", s.n_attention_heads, 1, 1024);
  s.batch_size_train = r.get_int_in("batch_size_train", s.batch_size_train, 1, kMaxBatch);
  s.batch_size_val = r.get_int_in("batch_size_val", s.batch_size_val, 1, kMaxBatch);
  s.batch_size_test = r.get_int_in("batch_size_test", s.batch_size_test, 1, kMaxBatch);
  s.learning_rate = r.get_number_in("learning_rate", s.learning_rate, 1e-12, 10);
  s.alpha = r.get_number_in("alpha", s.alpha, 0, 1e3);
  s.margin = r.get_number_in("margin", s.margin, 0, 1e3);
  s.loss_plus_one = r.get_bool("loss_plus_one", s.loss_plus_one);
  s.entry_threshold = r.get_number_in("entry_threshold", s.entry_threshold, 0, 0.999999);
  s.drop_last_train = r.get_bool("drop_last_train", s.drop_last_train);
  s.model_selection = r.get_choice("model_selection", s.model_selection, {"both_improve", "window_f1", "last"});
  s.positional_embedding = r.get_bool("positional_embedding", s.positional_embedding);
  s.seed = r.get_int("seed", s.seed);
  s.device = r.get_choice("device", s.device, {"auto", "cpu", "cuda"});
  s.output_dir = r.get_string("output_dir", s.output_dir);
  r.finish();
  s.resolved = r.resolved();

  const std::string ctx = "settings " + path;
  const char* c = ctx.c_str();
  AD_CHECK(s.train_fraction > 0 && s.val_fraction > 0 && s.train_fraction + s.val_fraction < 1, c,
           "split.train_fraction and split.val_fraction must be > 0 with a sum below 1");
  if (s.format == "loghub") AD_CHECK(!s.structured_csv.empty(), c, "data.structured_csv is required for format loghub");
  if (s.format == "sessions")
    AD_CHECK(!s.sessions_normal.empty() && !s.sessions_anomalous.empty(), c,
             "data.sessions_normal and data.sessions_anomalous are required for format sessions");
  if (s.format == "synthetic")
    AD_CHECK(s.synthetic_anomaly_rate > 0 && s.synthetic_anomaly_rate < 1, c,
             "data.synthetic_anomaly_rate must be in (0, 1)");
  check_fits_in_memory(step_bytes(s, c), c,
                       "window_size, hidden_size, attention_size, n_attention_heads and the batch sizes");
  return s;
}

}  // namespace ad::glead
