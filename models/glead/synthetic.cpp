#include "models/glead/synthetic.h"

#include <random>
#include <string>
#include <vector>

namespace ad::glead {

namespace {
struct Step {
  int key;
  double skip = 0;       // probability the step is left out (optional step)
  int min_rep = 1, max_rep = 1;
};
struct Entry {
  int key;
  int label;
};

const char* const kTemplates[] = {
    // 0..5 job run
    "job <*> submitted by user <*>", "job <*> scheduled on partition <*>", "node <*> allocated to job <*>",
    "job <*> started", "job <*> heartbeat ok", "job <*> finished with exit code 0",
    // 6..9 file I/O
    "open file <*> mode <*>", "read <*> bytes from <*>", "write <*> bytes to <*>", "close file <*>",
    // 10..15 network session
    "connect to <*> port <*>", "tls handshake with <*> complete", "sent <*> packets to <*>",
    "received <*> packets from <*>", "retransmit to <*>", "disconnect from <*>",
    // 16..18 maintenance scan
    "maintenance scan of rack <*> started", "instruction cache parity error corrected", "maintenance report for rack <*>",
    // 19..20 benign noise
    "clock synchronised to <*>", "ras info <*>",
    // 21..24 rare error keys
    "kernel panic in <*>", "machine check interrupt on core <*>", "data TLB error interrupt", "fatal storage error on <*>",
    // 25 burst key
    "link failure on <*>, retrying"};
constexpr int kNoise[] = {19, 20};
constexpr int kErrors[] = {21, 22, 23, 24};
constexpr int kBurst = 25;

std::string key_name(int key) { return std::string("E").append(std::to_string(key + 1)); }  // E1, E2, ...

const std::vector<std::vector<Step>>& workflows() {
  static const std::vector<std::vector<Step>> w = {
      {{0}, {1}, {2, 0, 1, 3}, {3}, {4, 0, 2, 5}, {5}},
      {{6}, {7, 0, 1, 4}, {8, 0.5, 1, 3}, {9}},
      {{10}, {11}, {12, 0, 1, 3}, {13, 0, 1, 3}, {14, 0.9}, {15}},
      {{16}, {17, 0.7, 1, 2}, {18}}};
  return w;
}
}  // namespace

LogEntries generate_synthetic_log(const SyntheticLogOptions& o) {
  std::mt19937_64 rng(o.seed * 0xD1B54A32D192ED03ull + 7);
  std::uniform_real_distribution<double> u01(0, 1);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const double workflow_weights[] = {0.3, 0.35, 0.25, 0.1};
  std::discrete_distribution<int> which(std::begin(workflow_weights), std::end(workflow_weights));

  auto instance = [&]() {
    const std::vector<Step>& steps = workflows()[size_t(which(rng))];
    std::vector<Entry> out;
    std::vector<size_t> required;  // positions in `out` of the first entry of each required step
    for (const Step& s : steps) {
      if (s.skip > 0 && u01(rng) < s.skip) continue;
      if (s.skip == 0) required.push_back(out.size());
      const int reps = pick(s.min_rep, s.max_rep);
      for (int r = 0; r < reps; ++r) out.push_back({s.key, 0});
    }
    if (u01(rng) < o.anomaly_rate) {
      switch (pick(0, 3)) {
        case 0: {  // rare key
          const size_t at = size_t(pick(0, int(out.size())));
          out.insert(out.begin() + long(at), Entry{kErrors[pick(0, 3)], 1});
          break;
        }
        case 1: {  // missing step (never the last, so an entry follows the gap)
          const size_t r = size_t(pick(0, int(required.size()) - 2));
          const size_t at = required[r];
          const int key = out[at].key;
          while (out[at].key == key) out.erase(out.begin() + long(at));  // every repetition of the step
          out[at].label = 1;
          break;
        }
        case 2: {  // out of order: swap a required step's first entry with the entry before it
          const size_t r = size_t(pick(1, int(required.size()) - 1));
          const size_t at = required[r];
          std::swap(out[at - 1], out[at]);
          out[at - 1].label = out[at].label = 1;
          break;
        }
        default: {  // burst
          const size_t at = size_t(pick(0, int(out.size())));
          const int n = pick(3, 8);
          out.insert(out.begin() + long(at), size_t(n), Entry{kBurst, 1});
        }
      }
    }
    return out;
  };

  std::vector<Entry> log;
  log.reserve(size_t(o.entries) + 64);
  while (int64_t(log.size()) < o.entries) {
    std::vector<Entry> a = instance();
    if (u01(rng) < 0.3) {  // two workflows in flight: interleave, keeping each one's order
      std::vector<Entry> b = instance(), merged;
      size_t i = 0, j = 0;
      while (i < a.size() || j < b.size())
        merged.push_back((j >= b.size() || (i < a.size() && u01(rng) < 0.5)) ? a[i++] : b[j++]);
      a.swap(merged);
    }
    for (const Entry& e : a) {
      if (u01(rng) < 0.05) log.push_back({kNoise[pick(0, 1)], 0});
      log.push_back(e);
    }
  }
  log.resize(size_t(o.entries));

  LogEntries e;
  for (const Entry& x : log) {
    e.keys.push_back(key_name(x.key));
    e.labels.push_back(x.label);
  }
  for (int k = 0; k < int(std::size(kTemplates)); ++k) e.templates[key_name(k)] = kTemplates[k];
  return e;
}

}  // namespace ad::glead
