#include "models/anomalydae/settings.h"

#include "runtime/checked.h"
#include "runtime/error.h"
#include "runtime/settings.h"

namespace ad::anomalydae {

namespace {
// Ranges (models/anomalydae/README.md, "Accepted ranges"): values outside them cannot give a meaningful run.
constexpr int64_t kMaxWidth = 1 << 16;     // embed_dim, hidden_dim, synthetic attrs
constexpr int64_t kMaxCount = 100'000'000;  // nodes, traces, anomalies
}  // namespace

Settings load_settings(const std::string& path) {
  SettingsReader r(load_json_file(path), path);
  Settings s;
  s.dataset_name = r.get_string("dataset_name", s.dataset_name);
  s.mode = r.get_choice("mode", s.mode, {"graph", "traces"});
  if (s.mode == "graph") {
    s.graph_source = r.get_choice("graph_source", s.graph_source, {"dir", "synthetic", "trace_vectors"});
    if (s.graph_source == "dir") {
      s.graph_dir = r.get_string("graph_dir");
    } else if (s.graph_source == "trace_vectors") {
      SettingsReader t = r.section("trace_vectors");
      TraceVectorGraphSettings& v = s.trace_vectors;
      v.normal = t.get_string("normal");
      v.abnormal = t.get_string("abnormal");
      v.normal_count = t.get_int_in("normal_count", v.normal_count, 0, kMaxCount);
      v.abnormal_count = t.get_int_in("abnormal_count", v.abnormal_count, 0, kMaxCount);
      v.knn = t.get_int_in("knn", v.knn, 1, 1000);
      // The archive caps (runtime/zip.h): raise them for a larger archive you trust, never past 64 GiB.
      v.zip.max_member_bytes = uint64_t(
          t.get_int_in("zip_max_member_bytes", int64_t(v.zip.max_member_bytes), 1024, int64_t(1) << 36));
      v.zip.max_ratio = uint64_t(t.get_int_in("zip_max_ratio", int64_t(v.zip.max_ratio), 1, 100000));
    } else {
      SettingsReader g = r.section("synthetic");
      SyntheticGraphSettings& y = s.synthetic;
      y.nodes = g.get_int_in("nodes", y.nodes, 2, kMaxCount);
      y.attrs = g.get_int_in("attrs", y.attrs, 1, kMaxWidth);
      y.communities = g.get_int_in("communities", y.communities, 1, kMaxCount);
      y.avg_degree = g.get_number_in("avg_degree", y.avg_degree, 1e-3, 1e4);
      y.cliques = g.get_int_in("cliques", y.cliques, 0, kMaxCount);
      y.clique_size = g.get_int_in("clique_size", y.clique_size, 2, 10000);
      y.attribute_anomalies = g.get_int_in("attribute_anomalies", y.attribute_anomalies, 0, kMaxCount);
      y.candidates = g.get_int_in("candidates", y.candidates, 1, kMaxCount);
    }
    s.attribute_scaling = r.get_choice("attribute_scaling", s.attribute_scaling, {"none", "minmax"});
    s.feature_storage = r.get_choice("feature_storage", s.feature_storage, {"auto", "csr", "dense"});
  } else {
    s.train_spans = r.get_string("train_spans");
    s.test_spans = r.get_string("test_spans");
    s.test_labels = r.get_string("test_labels", "");
    s.span_format = r.get_choice("span_format", s.span_format, {"auto", "csv", "jaeger"});
    s.node_kind = r.get_choice("node_kind", s.node_kind, {"span", "operation"});
    s.trace_score = r.get_choice("trace_score", s.trace_score, {"max", "mean"});
    s.threshold_quantile = r.get_number_in("threshold_quantile", s.threshold_quantile, 1e-9, 1);
    s.top_nodes = r.get_int_in("top_nodes", s.top_nodes, 1, 1000);
  }
  s.embed_dim = r.get_int_in("embed_dim", s.embed_dim, 1, kMaxWidth);
  s.hidden_dim = r.get_int_in("hidden_dim", s.hidden_dim, 1, kMaxWidth);
  s.alpha = r.get_number_in("alpha", s.alpha, 0, 1);
  s.eta = r.get_number_in("eta", s.eta, 1e-6, 1e6);
  s.theta = r.get_number_in("theta", s.theta, 1e-6, 1e6);
  s.epochs = r.get_int_in("epochs", s.epochs, 1, kMaxEpochs);
  s.lr = r.get_number_in("lr", s.lr, 1e-12, 10);
  s.attention_logits = r.get_choice("attention_logits", s.attention_logits, {"scaled", "plain"});
  s.loss_form = r.get_choice("loss_form", s.loss_form, {"official", "paper", "pygod"});
  s.attribute_encoder = r.get_choice("attribute_encoder", s.mode == "traces" ? "mlp" : "transposed",
                                     {"transposed", "mlp"});
  s.seed = r.get_int("seed", s.seed);
  s.device = r.get_choice("device", s.device, {"auto", "cpu", "cuda"});
  s.tf32 = r.get_bool("tf32", s.tf32);
  s.output_dir = r.get_string("output_dir", s.output_dir);
  s.plots = r.get_bool("plots", s.plots);
  s.eval_every = r.get_int_in("eval_every", s.eval_every, 0, kMaxEpochs);
  s.log_every = r.get_int_in("log_every", s.log_every, 1, kMaxEpochs);
  r.finish();
  s.resolved = r.resolved();

  const std::string ctx = "settings " + path;
  const char* c = ctx.c_str();
  AD_CHECK(s.embed_dim >= 1 && s.hidden_dim >= 1, c, "embed_dim and hidden_dim must be >= 1");
  AD_CHECK(s.alpha >= 0 && s.alpha <= 1, c, "alpha must be in [0, 1], got ", s.alpha);
  AD_CHECK(s.eta > 0 && s.theta > 0, c, "eta and theta must be > 0, got ", s.eta, " and ", s.theta);
  AD_CHECK(s.epochs >= 1, c, "epochs must be >= 1, got ", s.epochs);
  AD_CHECK(s.lr > 0, c, "lr must be > 0, got ", s.lr);
  AD_CHECK(s.eval_every >= 0, c, "eval_every must be >= 0");
  AD_CHECK(s.mode == "graph" || s.attribute_encoder == "mlp", c,
           "traces need attribute_encoder \"mlp\": the transposed encoder's input size is the node count of one "
           "fixed graph");
  AD_CHECK(s.threshold_quantile > 0 && s.threshold_quantile <= 1, c, "threshold_quantile must be in (0, 1]");
  AD_CHECK(s.top_nodes >= 1, c, "top_nodes must be >= 1");
  AD_CHECK(s.trace_vectors.normal_count >= 0 && s.trace_vectors.abnormal_count >= 0 && s.trace_vectors.knn >= 1, c,
           "trace_vectors: counts must be >= 0 and knn >= 1");
  const SyntheticGraphSettings& y = s.synthetic;
  AD_CHECK(y.nodes >= 2 && y.attrs >= 1 && y.communities >= 1 && y.avg_degree > 0 && y.cliques >= 0 &&
               y.clique_size >= 2 && y.attribute_anomalies >= 0 && y.candidates >= 1,
           c, "synthetic graph sizes out of range");
  // The synthetic graph's dense attributes and the network's per-node activations (f32, with gradients and
  // the attention scores over about avg_degree neighbours), estimated before anything is allocated.
  if (s.mode == "graph" && s.graph_source == "synthetic") {
    const int64_t per_node = checked_add(checked_mul(y.attrs, 8, c, "synthetic.attrs"),
                                         checked_mul(s.hidden_dim + s.embed_dim, 8, c, "hidden_dim + embed_dim"), c,
                                         "per-node floats");
    const int64_t floats = checked_mul(y.nodes, per_node + int64_t(y.avg_degree) * 4, c, "synthetic.nodes");
    check_fits_in_memory(uint64_t(floats) * 4, c, "synthetic.nodes, attrs, hidden_dim and embed_dim");
  }
  AD_CHECK(y.cliques * y.clique_size + y.attribute_anomalies <= y.nodes, c,
           "synthetic graph: more anomalies than nodes");
  return s;
}

}  // namespace ad::anomalydae
