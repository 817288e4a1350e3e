#include "models/deepsphere/settings.h"

#include "runtime/checked.h"
#include "runtime/error.h"
#include "runtime/settings.h"

namespace ad::deepsphere {

namespace {
void in_range(const std::string& file, const char* key, double v, double lo, double hi, bool lo_open = false) {
  AD_CHECK(v <= hi && (lo_open ? v > lo : v >= lo), file.c_str(), key, ": ", v, " is outside ", lo_open ? "(" : "[", lo,
           ", ", hi, "]");
}
}  // namespace

Settings load_settings(const std::string& path) {
  SettingsReader r(load_json_file(path), path);
  Settings s;
  s.mode = r.get_choice("mode", s.mode, {"synthetic", "callgraph"});
  SettingsReader data = r.section("data");
  for (auto [name, files] : {std::pair{"train", &s.train}, std::pair{"test", &s.test}}) {
    SettingsReader f = data.section(name);
    files->data = f.get_string("data", "");
    files->labels = f.get_string("labels", "");
    files->deviations = f.get_string("deviations", "");
  }
  SettingsReader cg = r.section("callgraph");
  s.callgraph.train_spans = cg.get_string("train_spans", "");
  s.callgraph.test_spans = cg.get_string("test_spans", "");
  s.callgraph.test_labels = cg.get_string("test_labels", "");
  s.callgraph.value = cg.get_choice("value", s.callgraph.value, {"count", "latency"});
  s.callgraph.window_us = cg.get_int("window_us", s.callgraph.window_us);
  s.callgraph.steps = cg.get_int("steps", s.callgraph.steps);
  s.callgraph.log1p = cg.get_bool("log1p", s.callgraph.log1p);

  SettingsReader m = r.section("model");
  const int64_t hidden = m.get_int("hidden", s.hidden);  // checked before it narrows to int
  s.gamma = m.get_number("gamma", s.gamma);
  s.lambda = m.get_number("lambda", s.lambda);
  s.radius_init = m.get_number("radius_init", s.radius_init);
  s.tolerance = m.get_number("tolerance", s.tolerance);
  s.keep_prob = m.get_number("keep_prob", s.keep_prob);
  s.dropout_at_test = m.get_bool("dropout_at_test", s.dropout_at_test);
  s.hypersphere = m.get_bool("hypersphere", s.hypersphere);
  s.weight_form = m.get_choice("weight_form", s.weight_form, {"exp", "softmax"});
  SettingsReader t = r.section("train");
  s.epochs = t.get_int("epochs", s.epochs);
  s.learning_rate = t.get_number("learning_rate", s.learning_rate);
  const int64_t seed = t.get_int("seed", int64_t(s.seed));
  in_range(path, "train.seed", double(seed), 0, 9.007199254740992e15);
  s.seed = uint64_t(seed);
  s.progress_every = t.get_int("progress_every", s.progress_every);
  s.flush_denormals = t.get_bool("flush_denormals", s.flush_denormals);
  SettingsReader n = r.section("nested");
  s.nested_k = n.get_number("k_sigma", s.nested_k);
  s.nested_max_rows = n.get_int("max_rows", s.nested_max_rows);
  s.ae_quantile = r.section("lstm_ae").get_number("threshold_quantile", s.ae_quantile);
  s.device = r.get_choice("device", s.device, {"auto", "cpu", "cuda"});
  s.output_dir = r.get_string("output_dir", s.output_dir);
  s.plots = r.get_bool("plots", s.plots);
  r.finish();

  in_range(path, "model.hidden", double(hidden), 1, 4096);
  s.hidden = int(hidden);
  in_range(path, "model.gamma", s.gamma, 0, 1e6);
  in_range(path, "model.lambda", s.lambda, 0, 1e6);
  in_range(path, "model.radius_init", s.radius_init, -1e3, 1e3);
  in_range(path, "model.tolerance", s.tolerance, 0, 1e3);
  in_range(path, "model.keep_prob", s.keep_prob, 0, 1, /*lo_open=*/true);
  in_range(path, "train.epochs", double(s.epochs), 1, 1e7);
  in_range(path, "train.learning_rate", s.learning_rate, 0, 10, true);
  in_range(path, "train.progress_every", double(s.progress_every), 1, 1e9);
  in_range(path, "nested.k_sigma", s.nested_k, 0, 1e3);
  in_range(path, "nested.max_rows", double(s.nested_max_rows), 0, 1e9);
  in_range(path, "lstm_ae.threshold_quantile", s.ae_quantile, 0, 1);
  in_range(path, "callgraph.window_us", double(s.callgraph.window_us), 1, 1e15);
  in_range(path, "callgraph.steps", double(s.callgraph.steps), 1, 1e6);
  if (s.mode == "synthetic") {
    AD_CHECK(!s.train.data.empty(), path.c_str(), "data.train.data: required in mode \"synthetic\"");
    AD_CHECK(!s.test.data.empty(), path.c_str(), "data.test.data: required in mode \"synthetic\"");
  } else {
    AD_CHECK(!s.callgraph.train_spans.empty(), path.c_str(), "callgraph.train_spans: required in mode \"callgraph\"");
    AD_CHECK(!s.callgraph.test_spans.empty(), path.c_str(), "callgraph.test_spans: required in mode \"callgraph\"");
  }
  s.resolved = r.resolved();
  return s;
}

void check_training_memory(const Settings& s, int64_t cases, int64_t T, int64_t N, const std::string& source) {
  // Every case is in every step (the original's full-batch training): per case and time step the LSTM
  // encoder's and decoder's gates and states (about 10 x hidden) and the input, reconstruction and
  // residual (3 x N^2), kept for the backward pass with their gradients; the weights with gradients and
  // two Adam moments.
  const char* op = source.c_str();
  const int64_t H = s.hidden;
  const int64_t D = checked_mul(N, N, op, "N x N");
  const int64_t per_step = checked_add(checked_mul(10, H, op, "hidden"), checked_mul(3, D, op, "N x N"), op, "widths");
  const int64_t act = checked_mul(checked_mul(checked_mul(cases, T, op, "cases x T"), per_step, op, "activations"), 2,
                                  op, "activations");
  const int64_t params = checked_mul(checked_mul(8, H, op, "hidden"), checked_add(D, H, op, "widths"), op, "weights");
  const int64_t floats = checked_add(act, checked_mul(params, 4, op, "weights"), op, "training memory");
  check_fits_in_memory(uint64_t(checked_mul(floats, 4, op, "training bytes")), op,
                       "cases x T x (N^2 and model.hidden) of the training data");
}

}  // namespace ad::deepsphere
