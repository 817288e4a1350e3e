// One full-batch AnomalyDAE training epoch (zero_grad + forward + both reconstruction errors + backward + Adam
// step) on a synthetic graph (bench_graph(n)) at the official sizes (make_synthetic_graph: ~8 neighbours per node,
// 64 binary attributes; hidden 256, embed 128, eta 5, theta 40, alpha 0.7, transposed encoder). Shared by
// bench_anomalydae (scaling) and bench_contention (beside CPU hogs) so both time the same step.
#pragma once
#include <algorithm>
#include <cstdint>

#include "layers/optimizer.h"
#include "models/anomalydae/graph_data.h"
#include "models/anomalydae/network.h"

namespace ad::anomalydae {

inline AttributedGraph bench_graph(int64_t n) {
  SyntheticGraphSettings y;
  y.nodes = n;
  y.attrs = 64;
  y.communities = std::max<int64_t>(1, n / 100);
  y.avg_degree = 8;
  y.cliques = std::min<int64_t>(10, n / 100);
  y.clique_size = 15;
  y.attribute_anomalies = std::min<int64_t>(150, n / 10);
  y.candidates = 50;
  return make_synthetic_graph(y, 1);
}

struct BenchEpoch {
  Settings settings;  // official defaults
  GraphInputs inputs;
  Network net;
  Adam opt;
  LossConfig loss;

  BenchEpoch(const AttributedGraph& graph, Device device)
      : inputs(make_inputs(graph, device)),
        net(NetworkConfig::from(settings, graph.attrs(), graph.nodes()), device),
        opt(net.parameters(), adam_options(settings)),
        loss(LossConfig::from(settings)) {}

  double step() {
    opt.zero_grad();
    NodeErrors e = net.forward(inputs, loss);
    net.backward();
    opt.step();
    return e.loss.item();  // the host waits here: the epoch is done
  }

 private:
  static AdamOptions adam_options(const Settings& s) {
    AdamOptions ao;
    ao.lr = s.lr;
    return ao;
  }
};

}  // namespace ad::anomalydae
