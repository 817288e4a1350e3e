#include "models/muad/data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "runtime/csv.h"
#include "runtime/error.h"
#include "runtime/fs_util.h"
#include "runtime/npy.h"
#include "runtime/tensor.h"

namespace ad::muad {

namespace {

const char* kOp = "muad data";

int64_t parse_int(const std::string& path, size_t line, const std::string& text) {
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  AD_CHECK(used == text.size() && !text.empty(), path.c_str(), "line ", line, ": \"", text, "\" is not an integer");
  return v;
}

}  // namespace

ServiceGraph read_service_graph(const std::string& dir) {
  ServiceGraph g;
  const std::string sp = dir + "/services.csv";
  // RFC 4180 (runtime/csv.h): a service name may hold commas, quotes or newlines when quoted.
  const CsvText st = read_csv_text(sp);
  AD_CHECK(st.header == std::vector<std::string>({"node_id", "service"}), sp.c_str(),
           "line 1: header must be \"node_id,service\"");
  for (size_t i = 0; i < st.rows.size(); ++i) {
    const int64_t id = parse_int(sp, i + 2, st.rows[i][0]);
    AD_CHECK(id == int64_t(g.services.size()), sp.c_str(), "line ", i + 2, ": node ids must run 0, 1, ... in order, got ",
             id);
    const std::string& name = st.rows[i][1];
    AD_CHECK(!name.empty(), sp.c_str(), "line ", i + 2, ": empty service name");
    g.services.push_back(name);
  }
  AD_CHECK(!g.services.empty(), sp.c_str(), "no services");
  const std::string ep = dir + "/edges.csv";
  CsvTable t = read_csv(ep);
  AD_CHECK(t.header.size() == 2 && t.header[0] == "src" && t.header[1] == "dst", ep.c_str(),
           "line 1: header must be \"src,dst\"");
  for (size_t r = 0; r < t.rows(); ++r) {
    const int64_t a = parse_int(ep, r + 2, t.first_column[r]);
    const double bd = t.columns[0][r];
    AD_CHECK(bd == std::floor(bd), ep.c_str(), "line ", r + 2, ": dst ", bd, " is not an integer");
    AD_CHECK(bd >= 0 && bd < double(g.size()), ep.c_str(), "line ", r + 2, ": edge names unknown service ", bd, " (",
             g.size(), " services in services.csv)");  // before the conversion: 1e300 has no int64 value
    const int64_t b = int64_t(bd);
    for (int64_t v : {a, b})
      AD_CHECK(v >= 0 && v < g.size(), ep.c_str(), "line ", r + 2, ": edge names unknown service ", v, " (",
               g.size(), " services in services.csv)");
    g.edges.emplace_back(int(a), int(b));
  }
  return g;
}

void write_service_graph(const std::string& dir, const ServiceGraph& g) {
  std::ostringstream s, e;
  s << "node_id,service\n";
  for (int i = 0; i < g.size(); ++i) s << i << "," << csv_quote(g.services[size_t(i)]) << "\n";
  e << "src,dst\n";
  for (auto [a, b] : g.edges) e << a << "," << b << "\n";
  write_text_atomic(dir + "/services.csv", s.str());
  write_text_atomic(dir + "/edges.csv", e.str());
}

ChunkSet read_chunks(const std::string& dir, const ServiceGraph& graph) {
  ChunkSet c;
  const std::string cp = dir + "/chunks.csv";
  CsvTable t = read_csv(cp);
  const size_t i_start = t.column_index("start_s"), i_label = t.column_index("label"),
               i_culprit = t.column_index("culprit"), i_split = t.column_index("split");
  const int64_t K = int64_t(t.rows());
  AD_CHECK(K > 0, cp.c_str(), "no chunks");
  for (int64_t k = 0; k < K; ++k) {
    const double lab = t.columns[i_label][size_t(k)], cul = t.columns[i_culprit][size_t(k)],
                 sp = t.columns[i_split][size_t(k)];
    AD_CHECK(lab == 0 || lab == 1, cp.c_str(), "line ", k + 2, ": label must be 0 or 1, got ", lab);
    AD_CHECK(cul == std::floor(cul) && cul >= 0 && cul <= graph.size(), cp.c_str(), "line ", k + 2,
             ": culprit must be 0 (none) or a service id + 1 in 1..", graph.size(), ", got ", cul);
    AD_CHECK(sp == 0 || sp == 1, cp.c_str(), "line ", k + 2, ": split must be 0 (train) or 1 (test), got ", sp);
    c.label.push_back(int(lab));
    c.culprit.push_back(int(cul));
    c.split.push_back(int(sp));
    c.start_s.push_back(t.columns[i_start][size_t(k)]);
  }
  const int64_t S = graph.size();
  auto load = [&](const char* name, int dims) {
    const std::string p = dir + "/" + name;
    Tensor a = load_npy(p);
    AD_CHECK(a.dtype() == DType::F32, p.c_str(), "dtype: must be float32, got ", dtype_name(a.dtype()));
    AD_CHECK(a.dim() == dims || (dims == 3 && a.dim() == 4 && a.size(3) == 1 && std::string(name) == "traces.npy"),
             p.c_str(), "shape: expected ", dims, " dimensions, got ", a.describe());
    AD_CHECK(a.size(0) == K, p.c_str(), "shape: ", a.size(0), " chunks, chunks.csv lists ", K);
    AD_CHECK(a.size(1) == S, p.c_str(), "shape: ", a.size(1), " services per chunk, the graph has ", S);
    const float* d = a.data<float>();
    const int64_t per = a.numel() / K;
    for (int64_t i = 0; i < a.numel(); ++i)
      AD_CHECK(std::isfinite(d[i]), p.c_str(), "chunk ", i / per, ": non-finite value ", d[i]);
    return a;
  };
  Tensor m = load("metrics.npy", 4), tr = load("traces.npy", 3), lg = load("logs.npy", 3);
  c.services = S;
  c.steps = m.size(2);
  c.metric_channels = m.size(3);
  c.log_templates = lg.size(2);
  AD_CHECK(c.steps >= 1 && c.metric_channels >= 1, (dir + "/metrics.npy").c_str(), "shape: ", m.shape().str(),
           " has no steps or no metric channels");
  AD_CHECK(c.log_templates >= 1, (dir + "/logs.npy").c_str(), "shape: ", lg.shape().str(), " has no log templates");
  AD_CHECK(tr.size(2) == c.steps, (dir + "/traces.npy").c_str(), "shape: ", tr.size(2), " steps, metrics.npy has ", c.steps);
  c.metrics.assign(m.data<float>(), m.data<float>() + m.numel());
  c.traces.assign(tr.data<float>(), tr.data<float>() + tr.numel());
  c.logs.assign(lg.data<float>(), lg.data<float>() + lg.numel());
  return c;
}

void write_chunks(const std::string& dir, const ChunkSet& c) {
  const int64_t K = c.size(), S = c.services, T = c.steps;
  auto save = [&](const char* name, const std::vector<float>& v, const Shape& shape) {
    std::vector<double> d(v.begin(), v.end());
    save_npy(dir + "/" + name, Tensor::from_vector(d, shape, DType::F32));
  };
  save("metrics.npy", c.metrics, {K, S, T, c.metric_channels});
  save("traces.npy", c.traces, {K, S, T, 1});
  save("logs.npy", c.logs, {K, S, c.log_templates});
  std::vector<std::string> ids;
  std::vector<std::vector<double>> cols(4);
  for (int64_t k = 0; k < K; ++k) {
    ids.push_back(std::to_string(k));
    cols[0].push_back(c.start_s[size_t(k)]);
    cols[1].push_back(c.label[size_t(k)]);
    cols[2].push_back(c.culprit[size_t(k)]);
    cols[3].push_back(c.split[size_t(k)]);
  }
  write_csv_atomic(dir + "/chunks.csv", {"chunk", "start_s", "label", "culprit", "split"}, ids, cols);
}

void standardise(ChunkSet& c, const std::vector<int64_t>& rows) {
  const int64_t S = c.services, T = c.steps, M = c.metric_channels, L = c.log_templates, K = c.size();
  // Standardises channel ch of `v` (chunk stride `per`, channel index = (i % per) % width) from `rows`.
  auto apply = [&](std::vector<float>& v, int64_t per, int64_t width) {
    std::vector<double> s(static_cast<size_t>(width), 0.0), q(static_cast<size_t>(width), 0.0), n(static_cast<size_t>(width), 0.0);
    for (int64_t k : rows)
      for (int64_t i = 0; i < per; ++i) {
        const double x = v[size_t(k * per + i)];
        s[size_t(i % width)] += x;
        q[size_t(i % width)] += x * x;
        n[size_t(i % width)] += 1;
      }
    std::vector<double> mean(static_cast<size_t>(width)), inv(static_cast<size_t>(width));
    for (int64_t ch = 0; ch < width; ++ch) {
      const double m = n[size_t(ch)] > 0 ? s[size_t(ch)] / n[size_t(ch)] : 0.0;
      const double var = n[size_t(ch)] > 0 ? std::max(0.0, q[size_t(ch)] / n[size_t(ch)] - m * m) : 0.0;
      mean[size_t(ch)] = m;
      inv[size_t(ch)] = var > 1e-12 ? 1.0 / std::sqrt(var) : 1.0;
    }
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < per; ++i) {
        float& x = v[size_t(k * per + i)];
        x = float((x - mean[size_t(i % width)]) * inv[size_t(i % width)]);
      }
  };
  apply(c.metrics, S * T * M, M);
  apply(c.traces, S * T, 1);
  apply(c.logs, S * L, L);
}

// ---- generator -------------------------------------------------------------------------------------------
namespace {

enum class Fault { Cpu, Delay, Loss, Memory, Kill };

Fault parse_fault(const std::string& f) {
  if (f == "cpu") return Fault::Cpu;
  if (f == "delay") return Fault::Delay;
  if (f == "loss") return Fault::Loss;
  if (f == "memory") return Fault::Memory;
  if (f == "kill") return Fault::Kill;
  AD_FAIL(kOp, "generator: faults: unknown fault \"", f, "\" (known: cpu, delay, loss, memory, kill)");
}

struct FaultEvent {
  int64_t begin, end;  // [begin, end) seconds
  int service;
  Fault kind;
  double strength;  // 0.3 .. 1: weak faults are hard on purpose
};

}  // namespace

ChunkSet generate_chunks(const GeneratorSettings& s, const ServiceGraph& graph) {
  const int S = graph.size();
  const int64_t T = s.seconds, W = s.window;
  constexpr int M = 7, L = 15, kErrorTemplates = 3;  // templates 12..14: error, timeout, retry
  AD_CHECK(T >= 10 * W && W >= 2 && s.stride >= 1, kOp, "generator: seconds must be >= 10 windows, window >= 2");
  AD_CHECK(s.anomaly_ratio > 0 && s.anomaly_ratio < 1, kOp, "generator: anomaly_ratio must be in (0, 1), got ",
           s.anomaly_ratio);
  AD_CHECK(s.fault_min_s >= 1 && s.fault_max_s >= s.fault_min_s, kOp, "generator: fault_min_s..fault_max_s invalid");
  AD_CHECK(!s.faults.empty(), kOp, "generator: faults: empty list");
  std::vector<Fault> kinds;
  for (const std::string& f : s.faults) kinds.push_back(parse_fault(f));
  std::mt19937_64 gen(s.seed);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  std::normal_distribution<double> N01(0.0, 1.0);

  // Call structure: the callee's request rate is the sum over callers of caller rate * calls per request.
  std::vector<std::vector<std::pair<int, double>>> callees(static_cast<size_t>(S));
  std::vector<int> indeg(static_cast<size_t>(S), 0);
  for (auto [a, b] : graph.edges)
    if (a != b) {
      callees[size_t(a)].push_back({b, 0.5 + U(gen)});
      ++indeg[size_t(b)];
    }
  std::vector<int> order;  // callers before callees (Kahn); a cycle keeps the rest in id order
  {
    std::vector<int> d = indeg, q;
    for (int i = 0; i < S; ++i)
      if (d[size_t(i)] == 0) q.push_back(i);
    for (size_t h = 0; h < q.size(); ++h) {
      order.push_back(q[h]);
      for (auto [b, w] : callees[size_t(q[h])])
        if (--d[size_t(b)] == 0) q.push_back(b);
    }
    for (int i = 0; i < S; ++i)
      if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
  }
  // Per-service constants: own latency (ms), CPU cost per request, memory base, bytes per request, log mix.
  std::vector<double> own_ms(static_cast<size_t>(S)), cpu_cost(static_cast<size_t>(S)), mem_base(static_cast<size_t>(S)), bytes(static_cast<size_t>(S));
  std::vector<std::array<double, L>> mix(static_cast<size_t>(S));
  for (int i = 0; i < S; ++i) {
    own_ms[size_t(i)] = 2 + 8 * U(gen);
    cpu_cost[size_t(i)] = 0.2 + 0.8 * U(gen);
    mem_base[size_t(i)] = 100 + 400 * U(gen);
    bytes[size_t(i)] = 1 + 4 * U(gen);
    for (int l = 0; l < L; ++l) mix[size_t(i)][size_t(l)] = l < L - kErrorTemplates && U(gen) < 0.5 ? 0.05 + U(gen) : 0.0;
  }

  // Faults: gaps drawn so that the expected anomalous-window fraction is anomaly_ratio. A window overlaps a
  // fault of length F for F + W - 1 of its starts (stride 1): gap = (F + W - 1) (1 - r) / r on average.
  std::vector<FaultEvent> events;
  const double mean_f = 0.5 * double(s.fault_min_s + s.fault_max_s);
  const double mean_gap = std::max(1.0, (mean_f + double(W) - 1) * (1 - s.anomaly_ratio) / s.anomaly_ratio);
  std::exponential_distribution<double> gap_dist(1.0 / mean_gap);
  std::uniform_int_distribution<int64_t> len_dist(s.fault_min_s, s.fault_max_s);
  for (int64_t t = int64_t(gap_dist(gen)) + W; t < T;) {
    FaultEvent e;
    e.begin = t;
    e.end = std::min(T, t + len_dist(gen));
    e.service = int(U(gen) * S) % S;
    e.kind = kinds[size_t(U(gen) * double(kinds.size())) % kinds.size()];
    e.strength = 0.3 + 0.7 * U(gen);
    events.push_back(e);
    t = e.end + 1 + int64_t(gap_dist(gen));
  }
  // Benign traffic bursts (not anomalies): confounders a detector must not flag.
  std::vector<double> burst(static_cast<size_t>(T), 1.0);
  for (int64_t t = 0; t < T; t += 200 + int64_t(400 * U(gen))) {
    const int64_t len = 20 + int64_t(40 * U(gen));
    const double f = 1.3 + 0.7 * U(gen);
    for (int64_t u = t; u < std::min(T, t + len); ++u) burst[size_t(u)] = f;
  }

  // Per-second telemetry.
  std::vector<float> met(size_t(T * S * M)), lat(size_t(T * S)), logc(size_t(T * S * L));
  std::vector<int> culprit_at(static_cast<size_t>(T), 0);
  std::vector<double> rate(static_cast<size_t>(S)), latency(static_cast<size_t>(S)), mem_extra(static_cast<size_t>(S), 0.0);
  std::vector<const FaultEvent*> active(static_cast<size_t>(S), nullptr);
  size_t next_event = 0;
  std::vector<const FaultEvent*> running;
  for (int64_t t = 0; t < T; ++t) {
    while (next_event < events.size() && events[next_event].begin == t) running.push_back(&events[next_event++]);
    running.erase(std::remove_if(running.begin(), running.end(), [&](const FaultEvent* e) { return e->end <= t; }),
                  running.end());
    std::fill(active.begin(), active.end(), nullptr);
    for (const FaultEvent* e : running) {
      active[size_t(e->service)] = e;
      culprit_at[size_t(t)] = e->service + 1;
    }
    const double front = s.base_rate * (1 + 0.3 * std::sin(2 * M_PI * double(t) / 600.0)) * burst[size_t(t)] *
                         std::exp(0.05 * N01(gen));
    std::fill(rate.begin(), rate.end(), 0.0);
    for (int i : order)
      if (indeg[size_t(i)] == 0) rate[size_t(i)] = front;
    std::vector<double> loss(static_cast<size_t>(S), 0.0);
    for (int i = 0; i < S; ++i)
      if (active[size_t(i)] && active[size_t(i)]->kind == Fault::Loss) loss[size_t(i)] = 0.1 + 0.3 * active[size_t(i)]->strength;
    for (int i : order) {
      const bool killed = active[size_t(i)] && active[size_t(i)]->kind == Fault::Kill;
      for (auto [b, w] : callees[size_t(i)])
        rate[size_t(b)] += killed ? 0.0 : rate[size_t(i)] * w * (1 + loss[size_t(b)]);  // retries on loss
    }
    // Latency: own time (slowed by load and faults) plus the callees' latency, callees first.
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      const int i = *it;
      const FaultEvent* f = active[size_t(i)];
      double own = own_ms[size_t(i)] * (1 + 0.3 * rate[size_t(i)] / (s.base_rate * 3)) * std::exp(0.1 * N01(gen));
      if (f && f->kind == Fault::Cpu) own *= 1 + 2.5 * f->strength;
      if (f && f->kind == Fault::Delay) own += 50 + 200 * f->strength;
      if (f && f->kind == Fault::Loss) own += 200 * loss[size_t(i)];
      if (f && f->kind == Fault::Memory) own *= 1 + 1.5 * f->strength * double(t - f->begin) / double(f->end - f->begin);
      double down = 0;
      for (auto [b, w] : callees[size_t(i)]) down += 0.5 * w * latency[size_t(b)];
      latency[size_t(i)] = (f && f->kind == Fault::Kill) ? 0.0 : own + down;
    }
    for (int i = 0; i < S; ++i) {
      const FaultEvent* f = active[size_t(i)];
      const bool killed = f && f->kind == Fault::Kill;
      const double r = killed ? 0.0 : rate[size_t(i)];
      double cpu = r * cpu_cost[size_t(i)] * 0.02 * std::exp(0.08 * N01(gen));
      if (f && f->kind == Fault::Cpu) cpu += 0.6 * f->strength + 0.2 * U(gen);
      if (f && f->kind == Fault::Memory) mem_extra[size_t(i)] += 3 * f->strength;
      else mem_extra[size_t(i)] *= 0.9;  // a restarted or collected service gives the memory back
      const double mem = killed ? 0.0 : mem_base[size_t(i)] + mem_extra[size_t(i)] + 0.02 * r + 5 * N01(gen);
      float* m = &met[size_t((t * S + i) * M)];
      m[0] = float(0.3 * cpu);                         // cpu_usage_system
      m[1] = float(cpu);                               // cpu_usage_total
      m[2] = float(0.7 * cpu);                         // cpu_usage_user
      m[3] = float(mem);                               // memory_usage
      m[4] = float(0.8 * mem + 2 * N01(gen));          // memory_working_set
      m[5] = float(r * bytes[size_t(i)] * std::exp(0.05 * N01(gen)));  // rx_bytes
      m[6] = float(r * bytes[size_t(i)] * 1.5 * std::exp(0.05 * N01(gen)));  // tx_bytes
      lat[size_t(t * S + i)] = float(latency[size_t(i)]);
      // Log templates: Poisson counts; errors from the faulty service, timeouts/retries at its callers.
      float* lc = &logc[size_t((t * S + i) * L)];
      for (int l = 0; l < L; ++l) {
        double lambda = r * 0.05 * mix[size_t(i)][size_t(l)];
        if (l >= L - kErrorTemplates) lambda = 0.01;  // rare background errors
        if (f && l == L - 3 && (f->kind == Fault::Loss || f->kind == Fault::Kill || f->kind == Fault::Cpu))
          lambda += 0.5 * f->strength;
        lc[l] = float(std::poisson_distribution<int>(std::max(lambda, 1e-9))(gen));
      }
      for (auto [b, w] : callees[size_t(i)]) {
        const FaultEvent* fb = active[size_t(b)];
        if (fb && fb->kind != Fault::Cpu) {
          lc[L - 2] += float(std::poisson_distribution<int>(0.3 * fb->strength)(gen));  // timeout
          if (fb->kind == Fault::Loss || fb->kind == Fault::Kill)
            lc[L - 1] += float(std::poisson_distribution<int>(0.5 * fb->strength)(gen));  // retry
        }
      }
    }
  }

  // Windows.
  ChunkSet c;
  c.services = S;
  c.steps = W;
  c.metric_channels = M;
  c.log_templates = L;
  std::vector<int64_t> starts;
  for (int64_t t0 = 0; t0 + W <= T; t0 += s.stride) starts.push_back(t0);
  const int64_t boundary = int64_t(double(T) * s.train_fraction);
  std::vector<int> split(starts.size());
  if (s.split == "random") {
    std::vector<size_t> idx(starts.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::shuffle(idx.begin(), idx.end(), gen);
    const size_t ntrain = size_t(double(idx.size()) * s.train_fraction);
    for (size_t k = 0; k < idx.size(); ++k) split[idx[k]] = k < ntrain ? 0 : 1;
  } else {
    AD_CHECK(s.split == "blocked", kOp, "generator: split must be \"random\" or \"blocked\", got \"", s.split, "\"");
    for (size_t k = 0; k < starts.size(); ++k)
      split[k] = starts[k] + W <= boundary ? 0 : (starts[k] >= boundary ? 1 : -1);  // -1: across, dropped
  }
  for (size_t k = 0; k < starts.size(); ++k) {
    if (split[k] < 0) continue;
    const int64_t t0 = starts[k];
    int cul = 0;
    for (int64_t u = t0; u < t0 + W && !cul; ++u) cul = culprit_at[size_t(u)];
    c.label.push_back(cul ? 1 : 0);
    c.culprit.push_back(cul);
    c.split.push_back(split[k]);
    c.start_s.push_back(double(t0));
    for (int i = 0; i < S; ++i) {
      for (int64_t u = 0; u < W; ++u) {
        for (int m = 0; m < M; ++m) c.metrics.push_back(met[size_t(((t0 + u) * S + i) * M + m)]);
      }
      for (int64_t u = 0; u < W; ++u) c.traces.push_back(lat[size_t((t0 + u) * S + i)]);
    }
    // Logs: log1p of the template counts over the window, per service (the chunk's log intensities).
    for (int i = 0; i < S; ++i)
      for (int l = 0; l < L; ++l) {
        double n = 0;
        for (int64_t u = t0; u < t0 + W; ++u) n += logc[size_t((u * S + i) * L + l)];
        c.logs.push_back(float(std::log1p(n)));
      }
  }
  // metrics were pushed service-major then time (S, T, M) per chunk: matches [K, S, T, M].
  return c;
}

}  // namespace ad::muad
