#include "models/dcvae/leaderboard.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <numeric>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/dcvae/network.h"
#include "runtime/csv.h"
#include "runtime/fs_util.h"
#include "runtime/progress.h"

namespace ad::dcvae {

using json = nlohmann::json;

std::vector<Segment> read_segments(const std::string& path, int64_t rows) {
  CsvTable t = read_csv(path);
  size_t first = t.column_index("start_row"), last = t.column_index("end_row");
  AD_CHECK(t.rows() > 0, "read_segments", path, ": no segments");
  std::vector<Segment> out;
  int64_t expect = 0;
  for (size_t i = 0; i < t.rows(); ++i) {
    double a = t.columns[first][i], b = t.columns[last][i];
    AD_CHECK(a == std::floor(a) && b == std::floor(b), "read_segments", path, " line ", i + 2,
             ": start_row and end_row must be whole numbers");
    Segment s{t.first_column[i], int64_t(a), int64_t(b)};
    AD_CHECK(!s.name.empty(), "read_segments", path, " line ", i + 2, ": empty experiment name");
    AD_CHECK(s.first == expect, "read_segments", path, " line ", i + 2, ": start_row ", s.first, ", expected ", expect,
             " (segments must be in order, contiguous, from row 0)");
    AD_CHECK(s.last >= s.first, "read_segments", path, " line ", i + 2, ": end_row ", s.last, " before start_row ",
             s.first);
    expect = s.last + 1;
    out.push_back(s);
  }
  AD_CHECK(expect == rows, "read_segments", path, ": segments cover rows 0..", expect - 1, ", the data has ", rows,
           " rows");
  return out;
}

ExperimentWindows experiment_windows(int64_t rows, int64_t train_rows, int64_t T) {
  AD_CHECK(T >= 1 && train_rows >= T, "experiment_windows", "train_rows ", train_rows, " must be >= T ", T);
  AD_CHECK(rows > train_rows, "experiment_windows", "an experiment of ", rows, " rows has nothing after its ",
           train_rows, " training rows");
  ExperimentWindows w;
  for (int64_t row = train_rows; row < rows; ++row) w.scored_starts.push_back(row - T + 1);
  return w;
}

double quantile(std::vector<double> v, double q) {
  AD_CHECK(!v.empty() && q >= 0 && q <= 1, "quantile", "need values and q in [0, 1]");
  std::sort(v.begin(), v.end());
  double pos = q * double(v.size() - 1);
  size_t lo = size_t(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

std::vector<double> residual_alphas(const Reconstruction& train, double q, double factor) {
  std::vector<double> out;
  for (int64_t c = 0; c < train.channels; ++c) {
    std::vector<double> z;
    for (int64_t i = 0; i < train.rows; ++i) {
      size_t k = size_t(i * train.channels + c);
      z.push_back(std::abs(double(train.x[k]) - double(train.mu[k])) / double(train.sigma[k]));
    }
    out.push_back(factor * quantile(z, q));
  }
  return out;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void append(Reconstruction& all, const Reconstruction& r) {
  all.rows += r.rows;
  all.channels = r.channels;
  all.latent_dim = r.latent_dim;
  all.x.insert(all.x.end(), r.x.begin(), r.x.end());
  all.mu.insert(all.mu.end(), r.mu.begin(), r.mu.end());
  all.sigma.insert(all.sigma.end(), r.sigma.begin(), r.sigma.end());
  all.latent.insert(all.latent.end(), r.latent.begin(), r.latent.end());
}

// "valve1" for segments named data/valve1/0.csv; the data file's stem otherwise.
std::string set_label(const std::string& data, const std::vector<Segment>& segs) {
  std::filesystem::path first(segs.front().name);
  if (first.has_parent_path()) return first.parent_path().filename().string();
  return std::filesystem::path(data).stem().string();
}

bool is_trivial(const SummaryRow& r) { return r.name.find("flag ") != std::string::npos; }

}  // namespace

SetResult run_set(const Settings& s, Device device, const std::string& data, const std::string& labels,
                  const std::string& system_labels, const std::string& segments, std::ostream& log) {
  Series full = read_series(data, s.M);
  std::vector<Segment> segs = read_segments(segments, full.rows());
  Series label_series;
  if (!labels.empty()) label_series = read_labels(labels, full);
  std::vector<int> system_full;
  if (!system_labels.empty()) system_full = read_system_labels(system_labels, full);

  SetResult out;
  out.name = set_label(data, segs);
  out.channels = full.channels;
  std::ostream quiet(nullptr);  // per-epoch and inference lines: one summary line per experiment instead
  const int64_t K = int64_t(segs.size()), R = s.train_rows;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = 0; k < K; ++k) {
    const Segment& seg = segs[size_t(k)];
    const int64_t n = seg.last - seg.first + 1;
    AD_CHECK(n > R, "skab_leaderboard", segments, ": experiment ", seg.name, " has ", n, " rows, not more than the ",
             R, " training rows");
    Series train = slice_rows(full, seg.first, seg.first + R - 1), rest = slice_rows(full, seg.first + R, seg.last);
    ExperimentResult e;
    e.segment = seg;
    if (s.wo_outliers) {
      ChannelStats st = channel_stats(train, 1);
      mask_outliers(train, st, s.max_std);  // training rows are cleaned, as the original cleans its train file
      if (s.outlier_stats != "none") {
        auto changed = mask_outliers(rest, s.outlier_stats == "train" ? st : channel_stats(rest, 1), s.max_std);
        e.changed_values = std::accumulate(changed.begin(), changed.end(), int64_t(0));
      }
    }
    Series x = concat_rows(train, rest);
    if (s.scale) {
      Scaler sc = Scaler::fit(train);
      sc.apply(train);
      sc.apply(x);
    }
    Settings es = s;
    es.seed = s.seed * 1000 + k;  // one model per experiment, each from its own initialisation
    Network net(es, device);
    e.train = fit_network(es, device, train, split_windows(R, s.T, s.val_percent, s.validation_split), net, quiet);
    Reconstruction fit = reconstruct(es, net, train, device, quiet);  // last steps of the training windows
    e.residual_alpha = residual_alphas(fit, s.residual_quantile, s.residual_factor);
    ExperimentWindows w = experiment_windows(n, R, s.T);
    e.scored = reconstruct(es, net, x, device, quiet, &w.scored_starts);

    append(out.scored, e.scored);
    for (int64_t row = seg.first + R; row <= seg.last; ++row) {
      out.stamps.push_back(full.timestamps[size_t(row)]);
      if (!labels.empty())
        for (int64_t c = 0; c < s.M; ++c) out.channel_labels.push_back(int(label_series.at(row, c)));
      if (!system_labels.empty()) out.system_labels.push_back(system_full[size_t(row)]);
    }
    auto [amin, amax] = std::minmax_element(e.residual_alpha.begin(), e.residual_alpha.end());
    double elapsed = seconds_since(t0);
    log << "[" << out.name << " " << k + 1 << "/" << K << "] " << seg.name << ": " << e.train.epochs_run
        << " epochs (kept " << e.train.best_epoch << "), loss " << std::fixed << std::setprecision(3)
        << e.train.last_loss;
    if (s.early_stopping) log << ", val " << e.train.best_val_loss;
    log << ", residual alpha " << std::setprecision(2) << *amin << ".." << *amax << ", " << e.scored.rows
        << " scored rows, " << std::setprecision(1) << e.train.seconds << "s, ETA "
        << format_duration(elapsed / double(k + 1) * double(K - k - 1)) << std::defaultfloat << "\n";
    out.experiments.push_back(std::move(e));
  }
  return out;
}

LeaderboardReport leaderboard_report(const Settings& s, const SetResult& scored, const SetResult* alpha_set) {
  LeaderboardReport rep;
  const Reconstruction& r = scored.scored;
  const int64_t C = r.channels;
  auto add_rule = [&](const std::string& prefix, const std::vector<int>& flags, std::vector<ChannelScore>& channels) {
    for (SummaryRow row : summary_rows(flags, r.rows, C, scored.channel_labels, scored.system_labels)) {
      if (is_trivial(row)) continue;
      row.name = prefix + " | " + row.name;
      rep.rows.push_back(row);
    }
    for (int64_t c = 0; c < C && !scored.channel_labels.empty(); ++c) {
      std::vector<int> f(size_t(r.rows)), l(size_t(r.rows));
      for (int64_t i = 0; i < r.rows; ++i) {
        f[size_t(i)] = flags[size_t(i * C + c)];
        l[size_t(i)] = scored.channel_labels[size_t(i * C + c)];
      }
      channels.push_back(score_channel(f, l));
    }
  };

  // Rule 1: each experiment's own training-residual alphas.
  std::vector<int> flags;
  for (const ExperimentResult& e : scored.experiments) {
    std::vector<int> f = flag_all(e.scored, e.residual_alpha, e.residual_alpha);
    flags.insert(flags.end(), f.begin(), f.end());
    rep.residual_alphas.push_back(e.residual_alpha);
  }
  add_rule("training residual", flags, rep.residual_channels);
  for (size_t c = 0; c < rep.residual_channels.size(); ++c) rep.residual_channels[c].note = "alphas per experiment";

  // Rule 2: the alpha grid search on another set's scored rows, applied unchanged.
  if (alpha_set && !alpha_set->experiments.empty()) {
    AD_CHECK(!alpha_set->channel_labels.empty(), "skab_leaderboard", "the alpha set ", alpha_set->name,
             " has no labels (data.alpha_labels)");
    rep.other_set_alphas = select_alphas(alpha_set->scored, alpha_set->channel_labels, s.custom_metrics, s.max_alpha,
                                         s.min_alpha);
    std::vector<double> up, down;
    for (const ChannelScore& c : rep.other_set_alphas) {
      up.push_back(c.alpha_up);
      down.push_back(c.alpha_down);
    }
    add_rule("alphas from " + alpha_set->name, flag_all(r, up, down), rep.other_set_channels);
    for (size_t c = 0; c < rep.other_set_channels.size(); ++c) {
      rep.other_set_channels[c].alpha_up = up[c];
      rep.other_set_channels[c].alpha_down = down[c];
    }
  }
  // The trivial detectors on the same scored rows, once.
  for (const SummaryRow& row :
       summary_rows(std::vector<int>(size_t(r.rows * C), 0), r.rows, C, scored.channel_labels, scored.system_labels))
    if (is_trivial(row)) rep.rows.push_back(row);
  return rep;
}

LeaderboardReport run_leaderboard(const Settings& s, Device device, const std::string& run_dir, std::ostream& log) {
  AD_CHECK(s.alpha_data.empty() || !s.alpha_labels.empty(), "skab_leaderboard",
           "data.alpha needs data.alpha_labels to choose alphas");
  SetResult alpha;
  if (!s.alpha_data.empty()) {
    log << "[alpha set] " << s.alpha_data << ": one model per experiment on its first " << s.train_rows << " rows\n";
    alpha = run_set(s, device, s.alpha_data, s.alpha_labels, s.alpha_system_labels, s.alpha_segments, log);
  }
  log << "[scored set] " << s.test_data << ": one model per experiment on its first " << s.train_rows << " rows\n";
  SetResult scored = run_set(s, device, s.test_data, s.test_labels, s.test_system_labels, s.test_segments, log);
  LeaderboardReport rep = leaderboard_report(s, scored, alpha.experiments.empty() ? nullptr : &alpha);
  // The mirror (the alpha set scored, with alphas from the scored set) reuses the models trained above.
  LeaderboardReport mirror;
  if (s.score_alpha_set && !alpha.experiments.empty()) {
    AD_CHECK(!alpha.system_labels.empty(), "skab_leaderboard", "score_alpha_set needs data.alpha_system_labels");
    mirror = leaderboard_report(s, alpha, &scored);
  }

  const Reconstruction& r = scored.scored;
  const std::vector<std::string>& channels = scored.channels;

  // experiments.csv: one line per trained model (alpha set first).
  std::vector<std::string> names;
  std::vector<std::vector<double>> cols(8 + size_t(s.M));
  for (const SetResult* set : {&alpha, &scored})
    for (const ExperimentResult& e : set->experiments) {
      names.push_back(e.segment.name);
      std::vector<double> v = {double(set == &scored), double(e.segment.last - e.segment.first + 1),
                               double(e.scored.rows), double(e.train.epochs_run), double(e.train.best_epoch),
                               e.train.best_val_loss, e.train.last_loss, e.train.seconds};
      v.insert(v.end(), e.residual_alpha.begin(), e.residual_alpha.end());
      for (size_t i = 0; i < v.size(); ++i) cols[i].push_back(v[i]);
    }
  std::vector<std::string> head = {"experiment", "scored_set", "rows",     "scored_rows", "epochs_run",
                                   "best_epoch", "best_val_loss", "last_loss", "seconds"};
  for (const std::string& c : channels) head.push_back("residual_alpha_" + c);
  write_csv_atomic(run_dir + "/experiments.csv", head, names, cols, 8);

  json thr = {{"training_residual",
               {{"rule", "per channel: residual_factor * quantile(|x - mu| / sigma over the training windows' last "
                         "steps, residual_quantile); flagged when |x - mu| > alpha sigma"},
                {"residual_quantile", s.residual_quantile},
                {"residual_factor", s.residual_factor},
                {"experiments", json::array()}}}};
  for (size_t k = 0; k < scored.experiments.size(); ++k)
    thr["training_residual"]["experiments"].push_back(
        {{"experiment", scored.experiments[k].segment.name}, {"alpha", rep.residual_alphas[k]}});
  if (!rep.other_set_alphas.empty())
    thr["alphas_from_other_set"] = {{"set", alpha.name},
                                    {"file", s.alpha_data},
                                    {"criterion", s.custom_metrics ? "range-based F1" : "point-wise F1"},
                                    {"channels", channel_scores_json(channels, rep.other_set_alphas)}};
  write_text_atomic(run_dir + "/thresholds.json", thr.dump(2));

  // scored_predictions.csv: per rule, every channel's flags and the system flag, for every scored row.
  std::vector<std::string> pred_head = {"timestamp"};
  std::vector<std::vector<double>> pred_cols;
  auto add_flags = [&](const std::string& rule, const std::vector<int>& flags) {
    for (int64_t c = 0; c < r.channels; ++c) {
      pred_head.push_back(rule + "_" + channels[size_t(c)]);
      std::vector<double> col;
      for (int64_t i = 0; i < r.rows; ++i) col.push_back(flags[size_t(i * r.channels + c)]);
      pred_cols.push_back(col);
    }
    pred_head.push_back(rule + "_system");
    std::vector<int> sys = or_over_channels(flags, r.rows, r.channels);
    pred_cols.emplace_back(sys.begin(), sys.end());
  };
  std::vector<int> residual_flags;
  for (const ExperimentResult& e : scored.experiments) {
    std::vector<int> f = flag_all(e.scored, e.residual_alpha, e.residual_alpha);
    residual_flags.insert(residual_flags.end(), f.begin(), f.end());
  }
  add_flags("residual", residual_flags);
  if (!rep.other_set_alphas.empty()) {
    std::vector<double> up, down;
    for (const ChannelScore& c : rep.other_set_alphas) {
      up.push_back(c.alpha_up);
      down.push_back(c.alpha_down);
    }
    add_flags("alphas", flag_all(r, up, down));
  }
  write_csv_atomic(run_dir + "/scored_predictions.csv", pred_head, scored.stamps, pred_cols, 3);

  json m = {{"protocol", "skab_leaderboard"},
            {"scored_set", scored.name},
            {"scored_file", s.test_data},
            {"alpha_set", alpha.experiments.empty() ? "" : alpha.name},
            {"train_rows", s.train_rows},
            {"scored_rows", r.rows},
            {"experiments", scored.experiments.size()},
            {"training", s.early_stopping ? "early stopping on validation " + s.validation_split : "fixed epochs"},
            {"summary", summary_json(rep.rows)},
            {"channels_training_residual", channel_scores_json(channels, rep.residual_channels)}};
  if (!rep.other_set_channels.empty())
    m["channels_alphas_from_other_set"] = channel_scores_json(channels, rep.other_set_channels);
  if (!mirror.rows.empty()) {
    m["mirror_scored_set"] = alpha.name;
    m["mirror_summary"] = summary_json(mirror.rows);
  }
  write_text_atomic(run_dir + "/metrics.json", m.dump(2));
  // Every row named after the set it scores, the mirror's after the scored set's.
  for (SummaryRow& row : rep.rows) row.name = scored.name + " | " + row.name;
  for (SummaryRow row : mirror.rows) {
    row.name = alpha.name + " | " + row.name;
    rep.rows.push_back(row);
  }
  return rep;
}

}  // namespace ad::dcvae
