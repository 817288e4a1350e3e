#include "models/dcvae/pipeline.h"

#include <filesystem>
#include <ostream>

#include <nlohmann/json.hpp>

#include "models/dcvae/dcvae.h"
#include "models/dcvae/leaderboard.h"
#include "runtime/csv.h"
#include "runtime/error.h"
#include "runtime/fs_util.h"
#include "runtime/json.h"

namespace ad::dcvae {

std::vector<SummaryRow> run_pipeline(const Settings& s, Device device, const std::string& stage,
                                     const std::string& run_dir, std::ostream& out, std::ostream& log,
                                     const std::function<void(const std::string&)>& begin_stage) {
  auto begin = [&](const char* name) {
    if (begin_stage) begin_stage(name);
  };
  if (s.protocol == "skab_leaderboard") {
    AD_CHECK(stage == "all", "run_dcvae", "protocol \"skab_leaderboard\" runs as one stage: use --stage all");
    begin("train");
    LeaderboardReport rep = run_leaderboard(s, device, run_dir, log);
    out << "\nSKAB leaderboard protocol on " << s.test_data << " (one model per experiment on its first "
        << s.train_rows << " rows; rows " << s.train_rows << ".. scored; counts summed over experiments)\n"
        << summary_table(rep.rows);
    return rep.rows;
  }
  auto channel_names = [&] {
    auto j = read_json_file(run_dir + "/preprocessing.json", "run_dcvae");
    return j.at("channels").get<std::vector<std::string>>();
  };
  if (stage == "all" || stage == "train") {
    begin("train");
    log << "[train] " << s.train_data << "\n";
    train_stage(s, device, run_dir, log);
  }
  if (stage == "all" || stage == "alpha") {
    begin("alpha");
    log << "[alpha] " << s.alpha_data << "\n";
    auto sc = alpha_stage(s, device, run_dir, log);
    out << "\nAlpha selection on " << s.alpha_data << "\n" << channel_table(channel_names(), sc);
  }
  if (stage == "all" || stage == "test") {
    begin("test");
    log << "[test] " << s.test_data << "\n";
    StageReport rep = test_stage(s, device, run_dir, log);
    out << "\nTest on " << s.test_data << " (range-based: prts alpha 0, reciprocal, front; point-wise)\n"
        << channel_table(channel_names(), rep.channels) << "\n"
        << summary_table(rep.rows);
    return rep.rows;
  }
  return {};
}

void run_seeds(const Settings& s, Device device, int64_t n, const std::string& run_dir, std::ostream& out,
               std::ostream& log) {
  AD_CHECK(n >= 1, "run_dcvae", "--seeds must be >= 1, got ", n);
  std::vector<int64_t> seeds;
  std::vector<std::vector<SummaryRow>> per_seed;
  std::vector<std::string> first_col;
  std::vector<std::vector<double>> cols;
  std::vector<std::string> head = {"seed_row"};
  for (int64_t k = 0; k < n; ++k) {
    Settings sk = s;
    sk.seed = s.seed + k;
    sk.resolved["seed"] = sk.seed;
    std::string dir = run_dir + "/seed_" + std::to_string(sk.seed);
    std::filesystem::create_directories(dir);
    write_text_atomic(dir + "/settings.json", sk.resolved.dump(2));
    log << "=== seed " << sk.seed << " (" << k + 1 << "/" << n << ") ===\n";
    out << "\n=== seed " << sk.seed << " ===";
    std::vector<SummaryRow> rows = run_pipeline(sk, device, "all", dir, out, log);
    AD_CHECK(!rows.empty(), "run_dcvae", "seed ", sk.seed, ": the run produced no scored rows (no test labels?)");
    seeds.push_back(sk.seed);
    per_seed.push_back(rows);
    // seeds.csv: one line per seed and row; "seed_row" is "<seed>|<row name>".
    nlohmann::json j = summary_json(rows);
    for (const auto& r : j) {
      first_col.push_back(std::to_string(sk.seed) + "|" + r.at("row").get<std::string>());
      std::vector<double> v;
      std::vector<std::string> names;
      for (auto it = r.begin(); it != r.end(); ++it)
        if (it.key() != "row") {
          names.push_back(it.key());
          v.push_back(it.value().get<double>());
        }
      if (cols.empty()) {
        head.insert(head.end(), names.begin(), names.end());
        cols.resize(v.size());
      }
      for (size_t i = 0; i < v.size(); ++i) cols[i].push_back(v[i]);
    }
  }
  write_csv_atomic(run_dir + "/seeds.csv", head, first_col, cols, 8);
  nlohmann::json m = seed_json(seeds, per_seed);
  m["protocol"] = s.protocol;
  m["test_file"] = s.test_data;
  write_text_atomic(run_dir + "/metrics.json", m.dump(2));
  out << "\n" << seed_table(per_seed);
}

}  // namespace ad::dcvae
