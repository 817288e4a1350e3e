// Settings for AnomalyDAE / TraceDAE (run_tracedae). Keys follow the official run script's flags where it
// has one (embed_dim, hidden1 = hidden_dim, alpha, eta, theta, iterations = epochs, learning_rate = lr,
// seed); everything else is ours. Unknown keys are errors (runtime/settings.h).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/zip.h"

namespace ad::anomalydae {

struct SyntheticGraphSettings {
  int64_t nodes = 2000, attrs = 64, communities = 20;
  double avg_degree = 8;
  int64_t cliques = 10, clique_size = 15;  // structural anomalies (DOMINANT protocol)
  int64_t attribute_anomalies = 150;       // contextual anomalies: attributes copied from the farthest of 50
  int64_t candidates = 50;
};

// TraceAnomaly's service trace vectors as a kNN graph of traces (models/anomalydae/trace_vectors.h).
struct TraceVectorGraphSettings {
  std::string normal, abnormal;                       // text files or .zip archives holding one
  int64_t normal_count = 3000, abnormal_count = 300;  // sampled with the seed; 0 = every trace
  int64_t knn = 10;
  ZipLimits zip;  // caps on a .zip member's inflated size and ratio (zip_max_member_bytes, zip_max_ratio)
};

struct Settings {
  std::string dataset_name = "graph";
  std::string mode = "graph";  // graph | traces

  // graph mode
  std::string graph_source = "dir";  // dir | synthetic | trace_vectors
  std::string graph_dir;             // edges.csv, features(.npy | CSR), labels.csv
  SyntheticGraphSettings synthetic;
  TraceVectorGraphSettings trace_vectors;
  std::string attribute_scaling = "none";  // none (official) | minmax (per column to [0, 1])
  // How the attributes are held from the loader to the loss (same scores either way): auto (as the graph gives
  // them: CSR parts stay CSR, features.npy and generated graphs dense) | csr | dense.
  std::string feature_storage = "auto";

  // traces mode
  std::string train_spans, test_spans, test_labels;
  std::string span_format = "auto";  // auto (.json -> jaeger) | csv | jaeger
  std::string node_kind = "span";   // span | operation
  std::string trace_score = "max";  // max | mean
  double threshold_quantile = 0.99;  // of the training traces' scores -> the test threshold
  int64_t top_nodes = 3;

  // model (defaults: the official run script, BlogCatalog)
  int64_t embed_dim = 128, hidden_dim = 256;
  double alpha = 0.7, eta = 5, theta = 40;
  int64_t epochs = 180;
  double lr = 1e-3;
  std::string attention_logits = "scaled";        // scaled (official: a_ij * (f1_i + f2_j)) | plain (GAT)
  std::string loss_form = "official";             // official | paper | pygod
  std::string attribute_encoder = "transposed";   // transposed (X^T W3, transductive) | mlp (node rows, inductive)
  int64_t seed = 7;
  std::string device = "auto";
  bool tf32 = false;  // GPU matrix products in TF32 (kernels/gemm.h): faster, ~1e-3 relative error
  std::string output_dir = "runs/tracedae";
  bool plots = true;  // end-of-run PNGs and report.html (tools/plot_tracedae.py); --no-plots also turns them off
  int64_t log_every = 10;   // epochs between host reads of the training log (each read waits for the device)
  int64_t eval_every = 10;  // epochs between progress lines with the current AUC (labels only; never used to train)

  nlohmann::json resolved;  // every value used, defaults included
};

// The largest epochs value accepted, from the settings or --epochs.
inline constexpr int64_t kMaxEpochs = 10'000'000;

Settings load_settings(const std::string& path);

}  // namespace ad::anomalydae
