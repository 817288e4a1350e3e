#include "models/anomalydae/anomalydae.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

#include "layers/optimizer.h"
#include "models/anomalydae/graph_data.h"
#include "models/anomalydae/network.h"
#include "models/anomalydae/trace_vectors.h"
#include "models/anomalydae/traces.h"
#include "runtime/csv.h"
#include "runtime/cuda_context.h"
#include "runtime/fs_util.h"
#include "runtime/json.h"
#include "runtime/metrics.h"
#include "runtime/progress.h"
#include "runtime/safetensors.h"

namespace ad::anomalydae {
namespace {

constexpr const char* kCheckpoint = "checkpoint.safetensors";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<double> host(const Tensor& t) { return t.to_vector(); }

// ROC-AUC, AP, best F1 and PyGOD's Recall@k (k = number of anomalies) of scores against 0/1 labels.
nlohmann::json score_metrics(const std::vector<double>& scores, const std::vector<int>& labels) {
  nlohmann::json m;
  int64_t pos = std::count(labels.begin(), labels.end(), 1);
  m["count"] = labels.size();
  m["anomalies"] = pos;
  if (pos == 0 || pos == int64_t(labels.size())) {
    m["note"] = "labels hold a single class: ROC-AUC, AP and best F1 are undefined";
    return m;
  }
  m["roc_auc"] = roc_auc(scores, labels);
  m["average_precision"] = average_precision(scores, labels);
  BestF1 b = best_f1_threshold(scores, labels);
  m["best_f1"] = {{"threshold", b.threshold}, {"precision", b.prf.precision}, {"recall", b.prf.recall},
                  {"f1", b.prf.f1}};
  m["recall_at_k"] = recall_at_k(scores, labels, pos);
  m["k"] = pos;
  return m;
}

struct TrainResult {
  std::vector<double> last_step_scores;  // the scores of the last training step's forward (pre-update)
  double seconds = 0;
  double final_loss = 0;
};

// Full-batch training, as the official code: one forward/backward/Adam step per epoch.
TrainResult train(Network& net, const GraphInputs& in, const Settings& s, const std::vector<int>& labels,
                  const std::string& run_dir, std::ostream& log) {
  LossConfig lc = LossConfig::from(s);
  AdamOptions ao;
  ao.lr = s.lr;  // TF AdamOptimizer defaults otherwise: beta 0.9/0.999, eps 1e-8
  Adam opt(net.parameters(), ao);
  std::vector<std::string> rows;
  std::vector<std::vector<double>> cols(4);
  ProgressBar bar("train", s.epochs, log);
  TrainResult r;
  auto t0 = std::chrono::steady_clock::now();
  bool has_labels = !labels.empty() && std::count(labels.begin(), labels.end(), 1) > 0 &&
                    std::count(labels.begin(), labels.end(), 0) > 0;
  // The training log (loss, mean attribute error, mean structure error) is written on the device, one row per
  // epoch, and read to the host every log_every epochs, at evaluations and at the end: a step itself never waits
  // for the device. The log still has every epoch's row.
  Tensor log_rows;            // [log_every, 3] on the device: the epochs since the last read
  int64_t read_through = 0;   // epochs whose rows are on the host
  auto read_log = [&](int64_t through) {
    std::vector<double> v = log_rows.narrow0(0, through - read_through).to_vector();
    for (int64_t k = 0; k < through - read_through; ++k) {
      const int64_t epoch = read_through + k + 1;
      AD_CHECK(std::isfinite(v[size_t(3 * k)]), "anomalydae::train", "loss is not finite at epoch ", epoch,
               " (lr too high, or NaN in the inputs?)");
      for (int c = 0; c < 3; ++c) cols[size_t(c)].push_back(v[size_t(3 * k + c)]);
    }
    read_through = through;
  };
  for (int64_t epoch = 1; epoch <= s.epochs; ++epoch) {
    if (!log_rows.defined()) log_rows = Tensor::empty({s.log_every, 3}, in.dtype, in.device);
    Tensor row = log_rows.narrow0(epoch - 1 - read_through, 1).view({3});
    NodeErrors e = train_step(net, opt, in, lc, row);
    double auc = NAN;
    bool eval = has_labels && s.eval_every > 0 && (epoch % s.eval_every == 0 || epoch == s.epochs);
    if (eval || epoch == s.epochs) {
      std::vector<double> sc = host(e.score);
      if (eval) auc = roc_auc(sc, labels);
      if (epoch == s.epochs) r.last_step_scores = sc;
    }
    rows.push_back(std::to_string(epoch));
    cols[3].push_back(auc);
    if (eval || epoch == s.epochs || epoch - read_through == s.log_every) {
      read_log(epoch);
      std::ostringstream extra;
      extra << std::setprecision(5) << "loss=" << cols[0].back() << " attr=" << cols[1].back()
            << " struct=" << cols[2].back();
      if (!std::isnan(auc)) extra << " auc=" << std::setprecision(4) << auc;
      bar.update(epoch, extra.str());
    }
  }
  r.final_loss = cols[0].back();
  bar.finish();
  r.seconds = seconds_since(t0);
  write_csv_atomic(run_dir + "/train_log.csv", {"epoch", "loss", "attribute_error", "structure_error", "roc_auc"},
                   rows, cols, 8);
  return r;
}

void save_checkpoint(Network& net, const Settings& s, const std::string& run_dir, int64_t attrs, int64_t nodes) {
  std::vector<std::pair<std::string, Tensor>> ts;
  for (Parameter* p : net.parameters()) ts.emplace_back(p->name, p->value);
  save_safetensors(run_dir + "/" + kCheckpoint, ts,
                   {{"model", "anomalydae"},
                    {"attrs", std::to_string(attrs)},
                    {"nodes", std::to_string(nodes)},
                    {"settings", s.resolved.dump()}});
}

void load_checkpoint(Network& net, const std::string& run_dir) {
  std::string path = run_dir + "/" + kCheckpoint;
  AD_CHECK(std::filesystem::exists(path), "anomalydae", "no ", kCheckpoint, " in ", run_dir,
           ": run the train stage first");
  auto tensors = load_safetensors(path);
  for (Parameter* p : net.parameters()) {
    auto it = tensors.find(p->name);
    AD_CHECK(it != tensors.end(), "anomalydae", path, " has no tensor \"", p->name,
             "\" (settings differ from training?)");
    AD_CHECK(it->second.shape() == p->value.shape(), "anomalydae", path, ": \"", p->name, "\" is ",
             it->second.describe(), ", the network expects ", p->value.describe());
    for (double v : it->second.to_vector())  // NaN weights would score every node NaN and exit 0
      AD_CHECK(std::isfinite(v), "anomalydae", path, ": \"", p->name, "\" holds NaN or inf (training diverged?)");
    p->value.copy_from(it->second.device() == p->value.device() ? it->second : it->second.to(p->value.device()));
  }
}

std::string fmt(double v, int prec = 4) {
  if (std::isnan(v)) return "-";
  std::ostringstream o;
  o << std::fixed << std::setprecision(prec) << v;
  return o.str();
}

// Per-trace aggregate of node scores over the batch's trace blocks.
std::vector<double> trace_scores(const std::vector<double>& node, const std::vector<int64_t>& begin,
                                 const std::string& how) {
  std::vector<double> out;
  for (size_t t = 0; t + 1 < begin.size(); ++t) {
    double agg = how == "max" ? -INFINITY : 0.0;
    for (int64_t i = begin[t]; i < begin[t + 1]; ++i) agg = how == "max" ? std::max(agg, node[size_t(i)]) : agg + node[size_t(i)];
    if (how == "mean") agg /= double(std::max<int64_t>(1, begin[t + 1] - begin[t]));
    out.push_back(agg);
  }
  return out;
}

double quantile(std::vector<double> v, double q) {
  AD_CHECK(!v.empty(), "quantile", "no values");
  std::sort(v.begin(), v.end());
  double pos = q * double(v.size() - 1);
  size_t lo = size_t(std::floor(pos)), hi = size_t(std::ceil(pos));
  return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

// "auto": a .json file is a Jaeger export, anything else span CSV.
std::vector<tracedae::Span> read_spans(const std::string& path, const std::string& format) {
  bool json = format == "jaeger" ||
              (format == "auto" && path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0);
  return json ? tracedae::read_jaeger_json(path) : tracedae::read_spans_csv(path);
}

}  // namespace

nlohmann::json run_graph(const Settings& s, Device device, const std::string& run_dir, std::ostream& log) {
  AttributedGraph g = s.graph_source == "dir"             ? load_graph_dir(s.graph_dir)
                      : s.graph_source == "trace_vectors" ? load_trace_vectors(s.trace_vectors, uint64_t(s.seed))
                                                          : make_synthetic_graph(s.synthetic, uint64_t(s.seed));
  set_feature_storage(g, s.feature_storage);
  if (s.attribute_scaling == "minmax") scale_attributes_minmax(g);
  log << "graph: " << g.nodes() << " nodes, " << g.adjacency.nnz() / 2 << " undirected edges, " << g.attrs()
      << " attributes" << (g.sparse() ? " (CSR, " + std::to_string(g.sparse_features.nnz()) + " nonzeros)" : "")
      << (g.labels.empty() ? ", no labels" : "") << "\n";
  GraphInputs in = make_inputs(g, device);
  Network net(NetworkConfig::from(s, g.attrs(), g.nodes()), device);
  TrainResult tr = train(net, in, s, g.labels, run_dir, log);
  NodeErrors e = net.forward(in, LossConfig::from(s));
  std::vector<double> score = host(e.score), att = host(e.attribute), st = host(e.structure);
  save_checkpoint(net, s, run_dir, g.attrs(), g.nodes());

  std::vector<std::string> ids;
  std::vector<std::vector<double>> cols(4);
  for (int64_t i = 0; i < g.nodes(); ++i) {
    ids.push_back(g.names.empty() ? std::to_string(i) : g.names[size_t(i)]);
    cols[0].push_back(score[size_t(i)]);
    cols[1].push_back(att[size_t(i)]);
    cols[2].push_back(st[size_t(i)]);
    cols[3].push_back(g.labels.empty() ? NAN : double(g.labels[size_t(i)]));
  }
  write_csv_atomic(run_dir + "/node_scores.csv", {"node", "score", "attribute_error", "structure_error", "label"}, ids,
                   cols, 8);
  nlohmann::json m;
  m["mode"] = "graph";
  m["dataset"] = s.dataset_name;
  m["nodes"] = g.nodes();
  m["edges"] = g.adjacency.nnz() / 2;
  m["attrs"] = g.attrs();
  m["epochs"] = s.epochs;
  m["train_seconds"] = tr.seconds;
  m["final_loss"] = tr.final_loss;
  m["seed"] = s.seed;
  m["device"] = device == Device::CUDA ? cuda_status() : "cpu";
  if (!g.labels.empty()) {
    m["nodes_metrics"] = score_metrics(score, g.labels);
    // The official script's number: AUC of the last training step's scores (before its update).
    if (m["nodes_metrics"].contains("roc_auc")) {
      m["nodes_metrics"]["roc_auc_last_train_step"] = roc_auc(tr.last_step_scores, g.labels);
      // Each term on its own: which half of the score finds the anomalies (diagnostic; the score is the sum).
      m["nodes_metrics"]["roc_auc_attribute_error"] = roc_auc(att, g.labels);
      m["nodes_metrics"]["roc_auc_structure_error"] = roc_auc(st, g.labels);
    }
    // Per anomaly kind (injected sets): AUC of each kind against the normal nodes.
    std::map<std::string, std::pair<std::vector<double>, std::vector<int>>> by_kind;
    for (int64_t i = 0; i < g.nodes(); ++i) {
      const std::string& k = g.kinds.empty() ? std::string() : g.kinds[size_t(i)];
      if (g.labels[size_t(i)] == 1 && !k.empty()) {
        by_kind[k].first.push_back(score[size_t(i)]);
        by_kind[k].second.push_back(1);
      }
    }
    for (auto& [k, sv] : by_kind) {
      for (int64_t i = 0; i < g.nodes(); ++i)
        if (g.labels[size_t(i)] == 0) {
          sv.first.push_back(score[size_t(i)]);
          sv.second.push_back(0);
        }
      m["nodes_metrics"]["roc_auc_by_kind"][k] = roc_auc(sv.first, sv.second);
    }
  }
  write_text_atomic(run_dir + "/metrics.json", m.dump(2));
  return m;
}

nlohmann::json train_traces(const Settings& s, Device device, const std::string& run_dir, std::ostream& log) {
  std::vector<tracedae::Span> spans = read_spans(s.train_spans, s.span_format);
  AD_CHECK(!spans.empty(), "anomalydae", s.train_spans, ": no spans to train on");
  tracedae::TraceGraphOptions opt;
  opt.node_kind = tracedae::parse_node_kind(s.node_kind);
  tracedae::TraceFeaturizer feat = tracedae::TraceFeaturizer::fit(spans, opt);
  tracedae::TraceGraphBatch b = tracedae::build_trace_graphs(spans, feat, opt);
  log << "train traces: " << b.trace_ids.size() << " traces, " << b.num_nodes << " nodes, "
      << b.adjacency.nnz() / 2 << " call edges, " << b.features.size(1) << " node attributes\n";
  GraphInputs in = make_inputs(b.adjacency, b.features, b.ranges, device);
  Network net(NetworkConfig::from(s, b.features.size(1), b.num_nodes), device);
  TrainResult tr = train(net, in, s, {}, run_dir, log);
  NodeErrors e = net.forward(in, LossConfig::from(s));
  std::vector<double> ts = trace_scores(host(e.score), b.trace_begin, s.trace_score);
  double threshold = quantile(ts, s.threshold_quantile);
  feat.save_json(run_dir + "/featurizer.json");
  save_checkpoint(net, s, run_dir, b.features.size(1), b.num_nodes);
  nlohmann::json m = {{"mode", "traces"},          {"stage", "train"},
                      {"traces", b.trace_ids.size()}, {"nodes", b.num_nodes},
                      {"attrs", b.features.size(1)}, {"epochs", s.epochs},
                      {"train_seconds", tr.seconds}, {"final_loss", tr.final_loss},
                      {"threshold", threshold},      {"threshold_quantile", s.threshold_quantile},
                      {"seed", s.seed},              {"device", device == Device::CUDA ? cuda_status() : "cpu"}};
  write_text_atomic(run_dir + "/train_metrics.json", m.dump(2));
  return m;
}

nlohmann::json test_traces(const Settings& s, Device device, const std::string& run_dir, std::ostream& log) {
  auto tm = read_json_file(run_dir + "/train_metrics.json", "anomalydae");
  double threshold = tm.at("threshold").get<double>();
  tracedae::TraceGraphOptions opt;
  opt.node_kind = tracedae::parse_node_kind(s.node_kind);
  tracedae::TraceFeaturizer feat = tracedae::TraceFeaturizer::load_json(run_dir + "/featurizer.json");
  std::vector<tracedae::Span> spans = read_spans(s.test_spans, s.span_format);
  tracedae::TraceGraphBatch b = tracedae::build_trace_graphs(spans, feat, opt);
  log << "test traces: " << b.trace_ids.size() << " traces, " << b.num_nodes << " nodes\n";
  AD_CHECK(!b.trace_ids.empty(), "anomalydae", s.test_spans, ": no traces to score (an empty test set is an error)");
  GraphInputs in = make_inputs(b.adjacency, b.features, b.ranges, device);
  Network net(NetworkConfig::from(s, b.features.size(1), b.num_nodes), device);
  load_checkpoint(net, run_dir);
  NodeErrors e = net.forward(in, LossConfig::from(s));
  std::vector<double> node = host(e.score), att = host(e.attribute), st = host(e.structure);
  std::vector<double> ts = trace_scores(node, b.trace_begin, s.trace_score);

  std::vector<int> labels;
  std::map<std::string, tracedae::TraceLabel> lab;
  if (!s.test_labels.empty()) {
    lab = tracedae::read_trace_labels(s.test_labels);
    labels = tracedae::labels_for(b, lab);
  }
  // trace_scores.csv: one row per trace with its top nodes (service:operation=score).
  const size_t nt = b.trace_ids.size();
  std::ostringstream csv;
  csv << "trace_id,score,predicted,label,kind,top_nodes\n";
  csv << std::setprecision(8);
  for (size_t t = 0; t < nt; ++t) {
    std::vector<int64_t> idx;
    for (int64_t i = b.trace_begin[t]; i < b.trace_begin[t + 1]; ++i) idx.push_back(i);
    std::sort(idx.begin(), idx.end(), [&](int64_t a, int64_t c) { return node[size_t(a)] > node[size_t(c)]; });
    std::string top;
    for (size_t k = 0; k < idx.size() && k < size_t(s.top_nodes); ++k) {
      const auto& ni = b.nodes[size_t(idx[k])];
      top += (k ? " " : "") + ni.service + ":" + ni.operation + "=" + fmt(node[size_t(idx[k])], 3);
    }
    int label = labels.empty() ? -1 : labels[t];
    std::string kind;
    auto it = lab.find(b.trace_ids[t]);
    if (it != lab.end()) kind = it->second.kind;
    csv << csv_quote(b.trace_ids[t]) << "," << ts[t] << "," << (ts[t] >= threshold ? 1 : 0) << ","
        << (label < 0 ? std::string() : std::to_string(label)) << "," << csv_quote(kind) << "," << csv_quote(top)
        << "\n";
  }
  write_text_atomic(run_dir + "/trace_scores.csv", csv.str());
  std::ostringstream ncsv;
  ncsv << "trace_id,span_id,service,operation,duration_us,status_code,score,attribute_error,structure_error,depth\n"
       << std::setprecision(8);
  for (int64_t i = 0; i < b.num_nodes; ++i) {
    const auto& ni = b.nodes[size_t(i)];
    ncsv << csv_quote(b.trace_ids[size_t(b.node_trace[size_t(i)])]) << "," << csv_quote(ni.span_id) << ","
         << csv_quote(ni.service) << "," << csv_quote(ni.operation) << "," << ni.duration_us << "," << ni.status_code
         << "," << node[size_t(i)] << "," << att[size_t(i)] << "," << st[size_t(i)] << "," << ni.depth << "\n";
  }
  write_text_atomic(run_dir + "/node_scores.csv", ncsv.str());
  // call_edges.csv: the call graph the network saw, for the plots (tools/plot_tracedae.py). Nodes are
  // numbered by their row within the trace in node_scores.csv; each undirected edge once (a < b).
  std::ostringstream ecsv;
  ecsv << "trace_id,a,b\n";
  const int64_t* row_ptr = b.adjacency.row_ptr.data<int64_t>();
  const int32_t* col = b.adjacency.col.data<int32_t>();
  for (int64_t i = 0; i < b.num_nodes; ++i) {
    const int64_t first = b.trace_begin[size_t(b.node_trace[size_t(i)])];
    for (int64_t k = row_ptr[i]; k < row_ptr[i + 1]; ++k)
      if (col[k] > i) ecsv << b.trace_ids[size_t(b.node_trace[size_t(i)])] << "," << i - first << "," << col[k] - first << "\n";
  }
  write_text_atomic(run_dir + "/call_edges.csv", ecsv.str());

  nlohmann::json m = {{"mode", "traces"}, {"stage", "test"}, {"dataset", s.dataset_name},
                      {"traces", nt},     {"nodes", b.num_nodes}, {"threshold", threshold},
                      {"trace_score", s.trace_score}, {"seed", s.seed},
                      {"device", device == Device::CUDA ? cuda_status() : "cpu"}};
  std::vector<int> known;
  std::vector<double> known_scores;
  for (size_t t = 0; t < labels.size(); ++t)
    if (labels[t] >= 0) {
      known.push_back(labels[t]);
      known_scores.push_back(ts[t]);
    }
  if (!known.empty()) {
    m["traces_metrics"] = score_metrics(known_scores, known);
    PRF p = prf_at_threshold(known_scores, known, threshold);
    m["traces_metrics"]["at_train_threshold"] = {{"precision", p.precision}, {"recall", p.recall}, {"f1", p.f1}};
    // Recall per anomaly kind at the train threshold.
    std::map<std::string, std::pair<int64_t, int64_t>> kinds;
    for (size_t t = 0; t < nt; ++t) {
      auto it = lab.find(b.trace_ids[t]);
      if (it == lab.end() || it->second.label != 1) continue;
      auto& c = kinds[it->second.kind];
      c.second++;
      if (ts[t] >= threshold) c.first++;
    }
    for (auto& [k, c] : kinds)
      m["traces_metrics"]["recall_by_kind_at_train_threshold"][k] = double(c.first) / double(c.second);
    m["labelled_traces"] = known.size();
  }
  write_text_atomic(run_dir + "/metrics.json", m.dump(2));
  return m;
}

std::string summary_table(const nlohmann::json& m) {
  std::ostringstream o;
  auto block = [&](const char* what, const nlohmann::json& x) {
    if (!x.contains("roc_auc")) {
      o << what << ": " << x.value("note", std::string("no labels")) << "\n";
      return;
    }
    o << what << " (" << x["count"] << ", " << x["anomalies"] << " anomalous)\n";
    o << "  ROC-AUC " << fmt(x["roc_auc"]) << "   AP " << fmt(x["average_precision"]) << "   Recall@" << x["k"] << " "
      << fmt(x["recall_at_k"]) << "\n";
    o << "  best F1 " << fmt(x["best_f1"]["f1"]) << " (P " << fmt(x["best_f1"]["precision"]) << ", R "
      << fmt(x["best_f1"]["recall"]) << ")\n";
    if (x.contains("at_train_threshold"))
      o << "  at the train threshold: P " << fmt(x["at_train_threshold"]["precision"]) << ", R "
        << fmt(x["at_train_threshold"]["recall"]) << ", F1 " << fmt(x["at_train_threshold"]["f1"]) << "\n";
    if (x.contains("recall_by_kind_at_train_threshold"))
      for (auto& [k, v] : x["recall_by_kind_at_train_threshold"].items())
        o << "  recall on " << k << " anomalies: " << fmt(v.get<double>()) << "\n";
    if (x.contains("roc_auc_by_kind"))
      for (auto& [k, v] : x["roc_auc_by_kind"].items()) o << "  ROC-AUC on " << k << " anomalies: " << fmt(v.get<double>()) << "\n";
  };
  if (m.contains("nodes_metrics")) block("nodes", m["nodes_metrics"]);
  if (m.contains("traces_metrics")) block("traces", m["traces_metrics"]);
  return o.str();
}

}  // namespace ad::anomalydae
