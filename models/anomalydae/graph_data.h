// Attributed graphs for AnomalyDAE: reading the shared format (edges.csv, features.npy or CSR parts,
// labels.csv; see ../shared/data/README.md), a synthetic generator with injected anomalies (DOMINANT's
// protocol: cliques for structural anomalies, attributes copied from a far node for contextual ones), and
// the network's inputs built from adjacency + attributes (Â = D^-1/2 (A+I) D^-1/2, the target A+I).
// Attributes are held either dense or as CSR (`feature_storage`); sparse ones stay CSR from the files to the
// loss: the encoders read them through SpMM and the attribute error reads a CSR target (kernels/recon_loss.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/graph_attention.h"
#include "models/anomalydae/settings.h"
#include "runtime/csr.h"
#include "runtime/tensor.h"

namespace ad::anomalydae {

struct AttributedGraph {
  CsrMatrix adjacency;             // N x N, binary, symmetric, no self loops (pattern + values 1)
  Tensor features;                 // F32 [N, d], CPU, when held dense (features.npy, generated graphs)
  CsrMatrix sparse_features;       // F32 CSR [N, d], CPU, when held sparse (the CSR parts); one of the two is set
  std::vector<int> labels;         // per node (0/1); empty when the graph has none
  std::vector<std::string> kinds;  // per node: contextual / structural / both / "" (when known)
  std::vector<std::string> names;  // per node id written to node_scores.csv; empty: the index
  int64_t nodes() const { return adjacency.rows; }
  int64_t attrs() const { return features.defined() ? features.size(1) : sparse_features.cols; }
  bool sparse() const { return !features.defined() && sparse_features.row_ptr.defined(); }
};

// Strict: missing files, bad rows (file:line), ids out of range, shape mismatches are ad::Errors.
// Self loops in edges.csv are dropped; each undirected edge may appear once or twice.
AttributedGraph load_graph_dir(const std::string& dir);
AttributedGraph make_synthetic_graph(const SyntheticGraphSettings& s, uint64_t seed);

// `feature_storage`: "auto" keeps the attributes as they are, "csr" / "dense" converts them (same values).
void set_feature_storage(AttributedGraph& g, const std::string& storage);
// attribute_scaling "minmax": each column to [0, 1] (constant columns become 0). The official weights
// B = 1 + (eta-1) X assume binary attributes; raw counts in the hundreds of thousands (books) make them
// meaningless. CSR attributes stay CSR when every column's minimum is 0 (non-negative values with an absent
// entry, the usual count data: absent entries stay 0); otherwise they are made dense first, since a shifted
// zero is no longer sparse.
void scale_attributes_minmax(AttributedGraph& g);

// Symmetric binary CSR (values 1) from undirected edge pairs; self loops dropped, duplicates merged.
CsrMatrix undirected_adjacency(int64_t nodes, const std::vector<int64_t>& src, const std::vector<int64_t>& dst);

// What the network reads, on one device.
struct GraphInputs {
  int64_t nodes = 0, attrs = 0;
  DType dtype = DType::F32;
  Device device = Device::CPU;
  CsrMatrix x, x_t;    // attributes as CSR [N, d] and its transpose [d, N] (SpMM inputs)
  Tensor x_dense;      // [N, d]: the attribute reconstruction target for dense attributes; undefined for
                       // sparse ones, whose target is x itself
  AttentionGraph att;  // Â = D^-1/2 (A+I) D^-1/2 with its transpose map
  CsrMatrix target;    // pattern of A + I: the structure reconstruction target
  Tensor ranges;       // I64 [N, 2] per-node column block (batched traces) or undefined (one graph)
};

// adjacency: binary symmetric without self loops; features [N, d]; ranges as above. `dtype` F32, or F64
// on the CPU for gradient checks.
GraphInputs make_inputs(const CsrMatrix& adjacency, const Tensor& features, const Tensor& ranges, Device device,
                        DType dtype = DType::F32);
// The same for CSR attributes [N, d]: nothing N x d is made (x_dense stays undefined).
GraphInputs make_inputs(const CsrMatrix& adjacency, const CsrMatrix& features, const Tensor& ranges, Device device,
                        DType dtype = DType::F32);
// A graph's inputs, with its attributes as it holds them.
GraphInputs make_inputs(const AttributedGraph& g, Device device, DType dtype = DType::F32);

}  // namespace ad::anomalydae
