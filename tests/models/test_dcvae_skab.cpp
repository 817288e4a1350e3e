// DC-VAE reports and the SKAB leaderboard protocol: summary rows (system level, trivial detectors) on a
// hand-made case, windows that stay inside their experiment, thresholds that never read the scored
// labels, scored files left unmasked by default, segment errors, seed aggregation.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "models/dcvae/leaderboard.h"
#include "models/dcvae/pipeline.h"
#include "models/dcvae/report.h"
#include "tests/support/helpers.h"

using namespace ad;
using namespace ad::dcvae;

namespace {

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("ad_test_dcvae_skab_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::ostream& quiet() {
  static std::ostream discard(nullptr);
  return discard;
}

void write(const std::string& path, const std::string& content) { std::ofstream(path) << content; }

// A tiny network so that a whole protocol run takes well under a second on the CPU.
Settings tiny_settings() {
  Settings s;
  s.T = 4;
  s.M = 2;
  s.J = 1;
  s.cnn_units = {3, 3};
  s.dil_rate = {1, 2};
  s.batch_size = 4;
  s.epochs = 2;
  s.seed = 11;
  s.summary = false;
  s.train_rows = 12;
  s.val_percent = 0.25;
  s.validation_split = "windows";
  s.protocol = "skab_leaderboard";
  return s;
}

// Three experiments of 20, 22 and 18 rows: quiet training rows, then a labelled anomaly (a level shift on
// channel 0) in the scored rows. Files: data, channel labels, system labels, segments.
struct SetFiles {
  std::string data, labels, system, segments;
};
SetFiles write_set(const std::string& dir, const std::string& name, uint64_t seed,
                   const std::vector<int64_t>& sizes = {20, 22, 18}) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::ostringstream d, l, sys, seg;
  d << "timestamp,a,b\n";
  l << "timestamp,a,b\n";
  sys << "timestamp,label,changepoint\n";
  seg << "experiment,start_row,end_row\n";
  int64_t row = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    seg << "data/" << name << "/" << k << ".csv," << row << "," << row + sizes[k] - 1 << "\n";
    for (int64_t i = 0; i < sizes[k]; ++i, ++row) {
      bool anomalous = i >= 15 && i < 18;
      double a = 10.0 * double(k + 1) + noise(gen) + (anomalous ? 25.0 : 0.0), b = -3.0 + noise(gen);
      std::string t = "t" + std::to_string(row);
      d << t << "," << a << "," << b << "\n";
      l << t << "," << anomalous << "," << anomalous << "\n";
      sys << t << "," << anomalous << "," << (i == 15) << "\n";
    }
  }
  SetFiles f{dir + "/" + name + "_data.csv", dir + "/" + name + "_labels.csv", dir + "/" + name + "_system.csv",
             dir + "/" + name + "_segments.csv"};
  write(f.data, d.str());
  write(f.labels, l.str());
  write(f.system, sys.str());
  write(f.segments, seg.str());
  return f;
}

// The same label files with their label rows shuffled (timestamps kept in place).
void scramble_labels(const std::string& path, uint64_t seed) {
  std::ifstream in(path);
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> stamps, rest;
  while (std::getline(in, line)) {
    stamps.push_back(line.substr(0, line.find(',')));
    rest.push_back(line.substr(line.find(',')));
  }
  in.close();
  std::shuffle(rest.begin(), rest.end(), std::mt19937_64(seed));
  std::ostringstream out;
  out << header << "\n";
  for (size_t i = 0; i < stamps.size(); ++i) out << stamps[i] << rest[i] << "\n";
  write(path, out.str());
}

const SummaryRow& row(const std::vector<SummaryRow>& rows, const std::string& name) {
  for (const SummaryRow& r : rows)
    if (r.name == name) return r;
  throw std::runtime_error("no row " + name);
}

}  // namespace

TEST(DcvaeReport, SystemAndTrivialRowsOnAHandMadeCase) {
  // 6 steps x 2 channels. System labels 0 1 1 1 0 0; channel a flags steps 1 and 4, channel b step 2.
  std::vector<int> flags = {0, 0, /**/ 1, 0, /**/ 0, 1, /**/ 0, 0, /**/ 1, 0, /**/ 0, 0};
  std::vector<int> system = {0, 1, 1, 1, 0, 0};
  std::vector<int> channel_labels;
  for (int l : system) channel_labels.insert(channel_labels.end(), {l, l});
  EXPECT_EQ(or_over_channels(flags, 6, 2), (std::vector<int>{0, 1, 1, 0, 1, 0}));
  auto rows = summary_rows(flags, 6, 2, channel_labels, system);
  ASSERT_EQ(rows.size(), 6u);

  const SummaryRow& sys = row(rows, "system (OR over channels)");
  EXPECT_EQ(sys.counts.tp, 2);  // steps 1, 2
  EXPECT_EQ(sys.counts.fp, 1);  // step 4
  EXPECT_EQ(sys.counts.fn, 1);  // step 3
  EXPECT_EQ(sys.counts.tn, 2);  // steps 0, 5
  EXPECT_DOUBLE_EQ(sys.counts.f1(), 2.0 / (2.0 + (1.0 + 1.0) / 2.0));
  EXPECT_DOUBLE_EQ(sys.counts.far(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(sys.counts.mar(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(sys.point_f1, sys.counts.f1());  // SKAB's F1 is point F1 on the pooled counts

  const SummaryRow& all = row(rows, "system: flag everything");
  EXPECT_EQ(all.counts.tp, 3);
  EXPECT_EQ(all.counts.fp, 3);
  EXPECT_DOUBLE_EQ(all.counts.f1(), 3.0 / (3.0 + 3.0 / 2.0));
  EXPECT_DOUBLE_EQ(all.counts.far(), 1.0);
  EXPECT_DOUBLE_EQ(all.counts.mar(), 0.0);
  const SummaryRow& none = row(rows, "system: flag nothing");
  EXPECT_EQ(none.flagged, 0);
  EXPECT_DOUBLE_EQ(none.counts.f1(), 0.0);
  EXPECT_DOUBLE_EQ(none.counts.far(), 0.0);
  EXPECT_DOUBLE_EQ(none.counts.mar(), 1.0);

  // Channel mean: a has TP 1 FP 1 FN 2 (point F1 0.4), b has TP 1 FN 2 (point F1 0.5).
  const SummaryRow& mean = row(rows, "channels (mean)");
  EXPECT_NEAR(mean.point_f1, (0.4 + 0.5) / 2, 1e-12);
  EXPECT_EQ(mean.counts.tp, 2);
  EXPECT_EQ(mean.counts.fp, 1);
  EXPECT_NEAR(row(rows, "channels: flag everything").point_f1, 2 * 0.5 / 1.5, 1e-12);
  EXPECT_EQ(row(rows, "channels: flag nothing").point_f1, 0.0);

  // Without system labels there are no system rows; without channel labels no channel rows.
  EXPECT_EQ(summary_rows(flags, 6, 2, channel_labels, {}).size(), 3u);
  EXPECT_EQ(summary_rows(flags, 6, 2, {}, system).size(), 3u);
  EXPECT_TRUE(test::error_contains([&] { summary_rows(flags, 6, 2, {}, {0, 1}); }, "system labels"));
}

TEST(DcvaeReport, SeedsGiveMeanAndSampleStd) {
  auto make = [](int64_t tp, int64_t fp) {
    SummaryRow r;
    r.name = "system (OR over channels)";
    r.counts.tp = tp;
    r.counts.fp = fp;
    r.counts.fn = 2;
    r.counts.tn = 10;
    return std::vector<SummaryRow>{r};
  };
  auto j = seed_json({1, 2}, {make(2, 0), make(6, 4)});
  auto f1 = j["rows"]["system (OR over channels)"]["skab_f1"];
  double a = 2.0 / (2 + 1.0), b = 6.0 / (6 + 3.0);
  EXPECT_NEAR(f1["mean"].get<double>(), (a + b) / 2, 1e-12);
  EXPECT_NEAR(f1["std"].get<double>(), std::abs(a - b) / std::sqrt(2.0), 1e-12);
  EXPECT_EQ(f1["per_seed"].size(), 2u);
  EXPECT_NE(seed_table({make(2, 0), make(6, 4)}).find("±"), std::string::npos);
}

TEST(DcvaeSkab, ScoredWindowsNeverCrossTheExperimentStart) {
  for (auto [rows, train_rows, T] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {1147, 400, 128}, {401, 400, 400}, {30, 12, 5}, {13, 12, 1}}) {
    ExperimentWindows w = experiment_windows(rows, train_rows, T);
    ASSERT_EQ(int64_t(w.scored_starts.size()), rows - train_rows);
    for (size_t i = 0; i < w.scored_starts.size(); ++i) {
      EXPECT_GE(w.scored_starts[i], 0);
      EXPECT_EQ(w.scored_starts[i] + T - 1, train_rows + int64_t(i));  // the window ends on its scored row
      EXPECT_LT(w.scored_starts[i] + T - 1, rows);
    }
  }
  EXPECT_TRUE(test::error_contains([] { experiment_windows(100, 50, 64); }, "train_rows"));
  EXPECT_TRUE(test::error_contains([] { experiment_windows(400, 400, 64); }, "nothing after"));
}

TEST(DcvaeSkab, EachExperimentIsScoredFromItsOwnRowsOnly) {
  std::string dir = temp_dir("own_rows");
  Settings s = tiny_settings();
  SetFiles f = write_set(dir, "valveX", 3);
  SetResult a = run_set(s, Device::CPU, f.data, f.labels, f.system, f.segments, quiet());
  ASSERT_EQ(a.experiments.size(), 3u);
  EXPECT_EQ(a.name, "valveX");
  EXPECT_EQ(a.scored.rows, (20 - 12) + (22 - 12) + (18 - 12));
  EXPECT_EQ(a.stamps.front(), "t12");  // rows 12.. of experiment 0, then rows 12.. of experiment 1
  EXPECT_EQ(a.stamps[8], "t32");
  EXPECT_EQ(a.system_labels.size(), size_t(a.scored.rows));

  // Change every value of experiment 0: experiments 1 and 2 must come out bit for bit the same.
  std::ifstream in(f.data);
  std::string header, line, changed;
  std::getline(in, header);
  changed = header + "\n";
  for (int i = 0; std::getline(in, line); ++i) {
    if (i < 20) line = line.substr(0, line.find(',')) + ",500,-500";
    changed += line + "\n";
  }
  in.close();
  write(f.data, changed);
  SetResult b = run_set(s, Device::CPU, f.data, f.labels, f.system, f.segments, quiet());
  for (size_t k = 1; k < 3; ++k) {
    EXPECT_EQ(a.experiments[k].scored.mu, b.experiments[k].scored.mu) << k;
    EXPECT_EQ(a.experiments[k].scored.sigma, b.experiments[k].scored.sigma) << k;
    EXPECT_EQ(a.experiments[k].residual_alpha, b.experiments[k].residual_alpha) << k;
  }
  EXPECT_NE(a.experiments[0].scored.x, b.experiments[0].scored.x);
}

TEST(DcvaeSkab, ThresholdsNeverReadTheScoredLabels) {
  std::string dir = temp_dir("labels");
  Settings s = tiny_settings();
  SetFiles scored = write_set(dir, "valve1", 5), other = write_set(dir, "valve2", 6, {19, 21});
  s.test_data = scored.data;
  s.test_labels = scored.labels;
  s.test_system_labels = scored.system;
  s.test_segments = scored.segments;
  s.alpha_data = other.data;
  s.alpha_labels = other.labels;
  s.alpha_segments = other.segments;
  s.alpha_system_labels = other.system;
  s.score_alpha_set = true;  // the mirror: valve2 scored with alphas from valve1, from the same models
  std::string run1 = temp_dir("labels_run1"), run2 = temp_dir("labels_run2");
  LeaderboardReport a = run_leaderboard(s, Device::CPU, run1, quiet());
  scramble_labels(scored.labels, 1);
  scramble_labels(scored.system, 2);
  LeaderboardReport b = run_leaderboard(s, Device::CPU, run2, quiet());

  EXPECT_EQ(a.residual_alphas, b.residual_alphas);
  ASSERT_EQ(a.other_set_alphas.size(), 2u);
  ASSERT_EQ(b.other_set_alphas.size(), 2u);
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(a.other_set_alphas[c].alpha_up, b.other_set_alphas[c].alpha_up);
    EXPECT_EQ(a.other_set_alphas[c].alpha_down, b.other_set_alphas[c].alpha_down);
  }
  // The scores did read the labels (so the comparison above is not vacuous) ...
  const SummaryRow& sa = row(a.rows, "valve1 | training residual | system (OR over channels)");
  const SummaryRow& sb = row(b.rows, "valve1 | training residual | system (OR over channels)");
  EXPECT_EQ(sa.flagged, sb.flagged);
  EXPECT_NE(sa.counts.tp, sb.counts.tp);
  for (const char* f : {"metrics.json", "thresholds.json", "experiments.csv", "scored_predictions.csv"})
    EXPECT_TRUE(std::filesystem::exists(run1 + "/" + f)) << f;
  // Every report carries the trivial rows for the same scored rows.
  EXPECT_EQ(row(a.rows, "valve1 | system: flag everything").flagged, sa.counts.tp + sa.counts.fp + sa.counts.tn + sa.counts.fn);
  EXPECT_EQ(row(a.rows, "valve1 | system: flag nothing").flagged, 0);
  EXPECT_NO_THROW(row(a.rows, "valve1 | alphas from valve2 | system (OR over channels)"));
  // The mirror's alphas come from valve1's labels, so scrambling them may move the mirror's rows, but
  // valve2's own training-residual rows cannot move: neither its models nor its thresholds saw valve1.
  const SummaryRow& ma = row(a.rows, "valve2 | training residual | system (OR over channels)");
  const SummaryRow& mb = row(b.rows, "valve2 | training residual | system (OR over channels)");
  EXPECT_EQ(ma.counts.tp, mb.counts.tp);
  EXPECT_EQ(ma.counts.fp, mb.counts.fp);
}

TEST(DcvaeSkab, ScoredRowsAreNotMaskedByDefault) {
  std::string dir = temp_dir("mask");
  Settings s = tiny_settings();
  s.max_std = 3;
  SetFiles f = write_set(dir, "valveM", 7, {20});
  SetResult plain = run_set(s, Device::CPU, f.data, f.labels, f.system, f.segments, quiet());
  EXPECT_EQ(plain.experiments[0].changed_values, 0);
  s.outlier_stats = "train";  // masked with the training rows' mean and std: the shift is overwritten
  SetResult masked = run_set(s, Device::CPU, f.data, f.labels, f.system, f.segments, quiet());
  EXPECT_GT(masked.experiments[0].changed_values, 0);
  // Scored step 15 (the first anomalous step) keeps its value unless asked: x is scored as it is.
  const int64_t i = 15 - s.train_rows;
  EXPECT_GT(plain.scored.x[size_t(i * 2)], masked.scored.x[size_t(i * 2)] + 5.0f);
}

TEST(DcvaeData, MaskingCountsOnlyValuesItChanged) {
  Series s;
  s.path = "mem";
  s.channels = {"a", "b"};
  s.timestamps = {"0", "1", "2", "3"};
  // a: step 1 is flagged and filled; b: every value is flagged, nothing to fill from: left as it is, and
  // not counted (the old count said 4).
  s.values = {1, 100, 5, 100, 1, 100, 1, 100};
  ChannelStats st{{1.0, 0.0}, {1.0, 1.0}};
  auto changed = mask_outliers(s, st, 3.0);
  EXPECT_EQ(changed, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(s.values[2], 1.f);
  EXPECT_EQ(s.values[3], 100.f);
  s.values = {5, 100, 1, 100, 5, 100, 1, 100};  // steps 0 and 2 flagged: back fill and forward fill change them
  changed = mask_outliers(s, st, 3.0);
  EXPECT_EQ(changed[0], 2);
  EXPECT_EQ(s.values[0], 1.f);
  EXPECT_EQ(s.values[4], 1.f);
}

TEST(DcvaeData, WindowSplitsByRowsAndByWindows) {
  WindowSplit r = split_windows(400, 128, 0.2, "rows");  // 80 validation rows hold no window of 128
  EXPECT_EQ(r.train.size(), size_t(320 - 128 + 1));
  EXPECT_TRUE(r.val.empty());
  WindowSplit w = split_windows(400, 128, 0.2, "windows");  // Keras: the last int(n * 0.2)-ish windows
  EXPECT_EQ(w.train.size() + w.val.size(), size_t(273));
  EXPECT_EQ(w.train.size(), size_t(int64_t(273 * 0.8)));
  EXPECT_EQ(w.val.front(), int64_t(w.train.size()));
  EXPECT_EQ(w.val.back(), 272);
}

TEST(DcvaeSkab, QuantileMatchesNumpyLinear) {
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2, 4}, 1.0), 4.0);
  EXPECT_NEAR(quantile({0, 10}, 0.999), 9.99, 1e-12);
  Reconstruction r;
  r.rows = 3;
  r.channels = 1;
  r.x = {1, -2, 4};
  r.mu = {0, 0, 0};
  r.sigma = {1, 1, 2};  // |x - mu| / sigma = 1, 2, 2
  EXPECT_NEAR(residual_alphas(r, 0.5, 1.5)[0], 3.0, 1e-12);
}

TEST(IoErrorsDcvaeSkab, SegmentsMustTileTheRows) {
  std::string dir = temp_dir("segments");
  auto msg = [&](const std::string& body, int64_t rows) {
    write(dir + "/s.csv", "experiment,start_row,end_row\n" + body);
    return test::error_of([&] { read_segments(dir + "/s.csv", rows); });
  };
  EXPECT_NE(msg("a,0,9\nb,11,19\n", 20).find("line 3: start_row 11, expected 10"), std::string::npos);
  EXPECT_NE(msg("a,0,9\nb,5,19\n", 20).find("expected 10"), std::string::npos);
  EXPECT_NE(msg("a,0,9\n", 20).find("cover rows 0..9"), std::string::npos);
  EXPECT_NE(msg("a,0,9.5\n", 10).find("whole numbers"), std::string::npos);
  write(dir + "/s.csv", "experiment,start_row,end_row\na,0,9\nb,10,19\n");
  EXPECT_EQ(read_segments(dir + "/s.csv", 20).size(), 2u);
}

TEST(DcvaeSkab, SplitProtocolReportsSystemAndTrivialRowsForEverySeed) {
  std::string dir = temp_dir("split");
  auto series = [&](const std::string& name, int64_t rows, uint64_t seed, bool with_labels) {
    std::mt19937_64 gen(seed);
    std::normal_distribution<double> noise(0.0, 1.0);
    std::ostringstream d, l, sys;
    d << "timestamp,a,b\n";
    l << "timestamp,a,b\n";
    sys << "timestamp,label\n";
    for (int64_t i = 0; i < rows; ++i) {
      bool anomalous = with_labels && i >= rows / 2 && i < rows / 2 + 4;
      d << "t" << i << "," << noise(gen) + (anomalous ? 9.0 : 0.0) << "," << noise(gen) << "\n";
      l << "t" << i << "," << anomalous << "," << anomalous << "\n";
      sys << "t" << i << "," << anomalous << "\n";
    }
    write(dir + "/" + name + ".csv", d.str());
    write(dir + "/" + name + "_labels.csv", l.str());
    write(dir + "/" + name + "_system.csv", sys.str());
  };
  series("train", 40, 1, false);
  series("alpha", 30, 2, true);
  series("test", 30, 3, true);
  Settings s = tiny_settings();
  s.protocol = "split";
  s.validation_split = "rows";
  s.train_data = dir + "/train.csv";
  s.alpha_data = dir + "/alpha.csv";
  s.alpha_labels = dir + "/alpha_labels.csv";
  s.test_data = dir + "/test.csv";
  s.test_labels = dir + "/test_labels.csv";
  s.test_system_labels = dir + "/test_system.csv";
  std::string run = temp_dir("split_run");
  std::ostringstream out;
  run_seeds(s, Device::CPU, 2, run, out, quiet());
  for (int64_t seed : {11, 12}) {
    std::string m = run + "/seed_" + std::to_string(seed) + "/metrics.json";
    ASSERT_TRUE(std::filesystem::exists(m)) << m;
    auto j = nlohmann::json::parse(std::ifstream(m));
    std::vector<std::string> names;
    for (const auto& r : j.at("summary")) names.push_back(r.at("row").get<std::string>());
    EXPECT_EQ(names, (std::vector<std::string>{"channels (mean)", "channels: flag everything", "channels: flag nothing",
                                               "system (OR over channels)", "system: flag everything",
                                               "system: flag nothing"}));
    // Scored rows are T-1 .. N-1: flag everything flags exactly those.
    EXPECT_EQ(j.at("summary")[4].at("flagged").get<int64_t>(), 30 - s.T + 1);
  }
  auto agg = nlohmann::json::parse(std::ifstream(run + "/metrics.json"));
  EXPECT_EQ(agg.at("seeds"), (nlohmann::json{11, 12}));
  EXPECT_EQ(agg.at("rows").at("system (OR over channels)").at("skab_f1").at("per_seed").size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(run + "/seeds.csv"));
  EXPECT_NE(out.str().find("mean ± std over 2 seeds"), std::string::npos) << out.str();
}
