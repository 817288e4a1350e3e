#include "models/glead/settings.h"

#include "runtime/error.h"
#include "runtime/settings.h"

namespace ad::glead {

Settings load_settings(const std::string& path) {
  SettingsReader r(load_json_file(path), path);
  Settings s;
  s.path = path;
  SettingsReader d = r.section("data");
  s.format = d.get_choice("format", s.format, {"loghub", "sessions", "synthetic"});
  s.structured_csv = d.get_string("structured_csv", "");
  s.templates_csv = d.get_string("templates_csv", "");
  s.max_rows = d.get_int("max_rows", s.max_rows);
  s.sessions_normal = d.get_string("sessions_normal", "");
  s.sessions_anomalous = d.get_string("sessions_anomalous", "");
  s.synthetic_entries = d.get_int("synthetic_entries", s.synthetic_entries);
  s.synthetic_anomaly_rate = d.get_number("synthetic_anomaly_rate", s.synthetic_anomaly_rate);
  s.window_size = r.get_int("window_size", s.window_size);
  s.step_size = r.get_int("step_size", s.step_size);

  SettingsReader sp = r.section("split");
  s.split = sp.get_choice("kind", s.split, {"random", "time_ordered"});
  s.train_fraction = sp.get_number("train_fraction", s.train_fraction);
  s.val_fraction = sp.get_number("val_fraction", s.val_fraction);
  SplitSizes& z = s.sizes;
  z.train_labelled_normal = sp.get_int("train_labelled_normal", z.train_labelled_normal);
  z.train_unlabelled_normal = sp.get_int("train_unlabelled_normal", z.train_unlabelled_normal);
  z.train_unlabelled_anomalous = sp.get_int("train_unlabelled_anomalous", z.train_unlabelled_anomalous);
  z.train_labelled_anomalous = sp.get_int("train_labelled_anomalous", z.train_labelled_anomalous);
  z.val_normal = sp.get_int("val_normal", z.val_normal);
  z.val_anomalous = sp.get_int("val_anomalous", z.val_anomalous);
  z.test_normal = sp.get_int("test_normal", z.test_normal);
  z.test_anomalous = sp.get_int("test_anomalous", z.test_anomalous);

  s.epochs = r.get_int("epochs", s.epochs);
  s.lambda_p = r.get_number("lambda_p", s.lambda_p);
  s.hidden_size = r.get_int("hidden_size", s.hidden_size);
  s.attention_size = r.get_int("attention_size", s.attention_size);
  s.n_attention_heads = r.get_int("n_attention_heads", s.n_attention_heads);
  s.batch_size_train = r.get_int("batch_size_train", s.batch_size_train);
  s.batch_size_val = r.get_int("batch_size_val", s.batch_size_val);
  s.batch_size_test = r.get_int("batch_size_test", s.batch_size_test);
  s.learning_rate = r.get_number("learning_rate", s.learning_rate);
  s.alpha = r.get_number("alpha", s.alpha);
  s.margin = r.get_number("margin", s.margin);
  s.loss_plus_one = r.get_bool("loss_plus_one", s.loss_plus_one);
  s.entry_threshold = r.get_number("entry_threshold", s.entry_threshold);
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
  auto positive = [&](const char* key, int64_t v) { AD_CHECK(v >= 1, c, key, " must be >= 1, got ", v); };
  positive("window_size", s.window_size);
  positive("step_size", s.step_size);
  positive("hidden_size", s.hidden_size);
  positive("attention_size", s.attention_size);
  positive("n_attention_heads", s.n_attention_heads);
  positive("batch_size_train", s.batch_size_train);
  positive("batch_size_val", s.batch_size_val);
  positive("batch_size_test", s.batch_size_test);
  positive("data.max_rows", s.max_rows);
  AD_CHECK(s.epochs >= 0, c, "epochs must be >= 0, got ", s.epochs);
  AD_CHECK(s.learning_rate > 0, c, "learning_rate must be > 0, got ", s.learning_rate);
  AD_CHECK(s.lambda_p >= 0, c, "lambda_p must be >= 0, got ", s.lambda_p);
  AD_CHECK(s.entry_threshold >= 0 && s.entry_threshold < 1, c, "entry_threshold must be in [0, 1), got ",
           s.entry_threshold);
  AD_CHECK(s.train_fraction > 0 && s.val_fraction > 0 && s.train_fraction + s.val_fraction < 1, c,
           "split.train_fraction and split.val_fraction must be > 0 with a sum below 1");
  for (auto [key, v] : {std::pair{"split.train_labelled_normal", z.train_labelled_normal},
                        {"split.train_unlabelled_normal", z.train_unlabelled_normal},
                        {"split.train_unlabelled_anomalous", z.train_unlabelled_anomalous},
                        {"split.train_labelled_anomalous", z.train_labelled_anomalous},
                        {"split.val_normal", z.val_normal}, {"split.val_anomalous", z.val_anomalous}})
    AD_CHECK(v >= 0, c, key, " must be >= 0, got ", v);
  AD_CHECK(z.test_normal >= -1 && z.test_anomalous >= -1, c,
           "split.test_normal and split.test_anomalous must be >= 0, or -1 for every window left");
  if (s.format == "loghub") AD_CHECK(!s.structured_csv.empty(), c, "data.structured_csv is required for format loghub");
  if (s.format == "sessions")
    AD_CHECK(!s.sessions_normal.empty() && !s.sessions_anomalous.empty(), c,
             "data.sessions_normal and data.sessions_anomalous are required for format sessions");
  if (s.format == "synthetic") {
    positive("data.synthetic_entries", s.synthetic_entries);
    AD_CHECK(s.synthetic_anomaly_rate > 0 && s.synthetic_anomaly_rate < 1, c,
             "data.synthetic_anomaly_rate must be in (0, 1)");
  }
  return s;
}

}  // namespace ad::glead
