// MUAD's data: a service call graph and "chunks" (windows of telemetry), each with per service
//   metrics [T, 7] (container metrics), trace latency [T, 1], log-template intensities [L]
// and a label (0 normal, 1 anomalous) plus the culprit service (0 = none, else service id + 1, Eadro's code).
//
// On disk (a folder; tools/convert_eadro_chunks.py writes the same from the Eadro/MUAD chunk pickles):
//   services.csv  node_id,service         (node ids 0 .. S-1 in order)
//   edges.csv     src,dst                 (directed call edges caller -> callee by node id; self loops allowed)
//   chunks.csv    chunk,start_s,label,culprit,split    (split: 0 train, 1 test)
//   metrics.npy   f32 [K, S, T, 7];  traces.npy f32 [K, S, T, 1];  logs.npy f32 [K, S, L]
// Every input is checked: a chunk whose service count does not match the graph, a non-finite value, an
// edge naming an unknown service: one ad::Error naming the file and the key or line.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ad::muad {

struct ServiceGraph {
  std::vector<std::string> services;
  std::vector<std::pair<int, int>> edges;  // (caller, callee)
  int size() const { return int(services.size()); }
};

// Reads services.csv and edges.csv from `dir`.
ServiceGraph read_service_graph(const std::string& dir);
void write_service_graph(const std::string& dir, const ServiceGraph& g);

struct ChunkSet {
  int64_t services = 0, steps = 0, metric_channels = 7, log_templates = 15;
  std::vector<float> metrics;  // [K, S, T, M]
  std::vector<float> traces;   // [K, S, T]
  std::vector<float> logs;     // [K, S, L]
  std::vector<int> label, culprit, split;  // [K]; split 0 train, 1 test
  std::vector<double> start_s;             // [K] window start (seconds), for blocked splits and plots
  int64_t size() const { return int64_t(label.size()); }
};

ChunkSet read_chunks(const std::string& dir, const ServiceGraph& graph);
void write_chunks(const std::string& dir, const ChunkSet& c);

// Per-channel standardisation (metrics by channel, traces, logs by template), statistics from `rows`
// (the training windows) only; a channel with no spread is centred only.
void standardise(ChunkSet& c, const std::vector<int64_t>& rows);

// ---- synthetic generator (models/muad/README.md, "Data") ----------------------------------------------
struct GeneratorSettings {
  int64_t seconds = 3000;        // length of the simulated timeline
  int64_t window = 10;           // chunk length (s)
  int64_t stride = 1;            // step between chunk starts (s)
  std::string split = "random";  // "random": windows shuffled 60/40 (overlapping, like the published data);
                                 // "blocked": first train_fraction of the time is train, the rest test,
                                 // windows across the boundary dropped (no overlap)
  double train_fraction = 0.6;
  double anomaly_ratio = 0.2;    // target fraction of anomalous windows
  int64_t fault_min_s = 30, fault_max_s = 120;
  std::vector<std::string> faults = {"cpu", "delay", "loss"};  // also "memory", "kill"
  double base_rate = 50;         // requests/s entering at the front service
  uint64_t seed = 1;
};

// Simulates the telemetry of `graph` (front service: the one that nobody calls) and cuts it into chunks.
ChunkSet generate_chunks(const GeneratorSettings& s, const ServiceGraph& graph);

}  // namespace ad::muad
