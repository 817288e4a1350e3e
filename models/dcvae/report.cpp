#include "models/dcvae/report.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <sstream>

#include "runtime/error.h"

namespace ad::dcvae {

using json = nlohmann::json;

Confusion Confusion::of(const std::vector<int>& flags, const std::vector<int>& labels) {
  AD_CHECK(flags.size() == labels.size(), "Confusion", flags.size(), " flags for ", labels.size(), " labels");
  Confusion c;
  for (size_t i = 0; i < flags.size(); ++i) {
    bool f = flags[i] == 1, l = labels[i] == 1;
    c.tp += f && l;
    c.fp += f && !l;
    c.tn += !f && !l;
    c.fn += !f && l;
  }
  return c;
}

Confusion& Confusion::operator+=(const Confusion& o) {
  tp += o.tp;
  fp += o.fp;
  tn += o.tn;
  fn += o.fn;
  return *this;
}

double Confusion::f1() const { return tp ? double(tp) / (double(tp) + double(fn + fp) / 2.0) : 0.0; }
double Confusion::far() const { return fp + tn ? double(fp) / double(fp + tn) : 0.0; }
double Confusion::mar() const { return fn + tp ? double(fn) / double(fn + tp) : 0.0; }

std::vector<int> or_over_channels(const std::vector<int>& flags, int64_t rows, int64_t channels) {
  AD_CHECK(int64_t(flags.size()) == rows * channels, "or_over_channels", flags.size(), " flags for ", rows, " x ",
           channels);
  std::vector<int> out(size_t(rows), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) out[size_t(r)] |= flags[size_t(r * channels + c)] == 1;
  return out;
}

SummaryRow score_row(const std::string& name, const std::vector<int>& flags, const std::vector<int>& labels) {
  ChannelScore s = score_channel(flags, labels);
  SummaryRow r;
  r.name = name;
  r.range_precision = s.precision;
  r.range_recall = s.recall;
  r.range_f1 = s.f1;
  r.point_precision = s.point_precision;
  r.point_recall = s.point_recall;
  r.point_f1 = s.point_f1;
  r.counts = Confusion::of(flags, labels);
  r.flagged = s.flagged;
  r.labelled = s.labelled;
  return r;
}

namespace {
std::vector<int> column(const std::vector<int>& m, int64_t rows, int64_t channels, int64_t c) {
  std::vector<int> v(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) v[size_t(r)] = m[size_t(r * channels + c)];
  return v;
}

// Mean over channels with a labelled anomaly of the per-channel rows; counts and sizes summed.
SummaryRow channel_mean(const std::string& name, const std::vector<int>& flags, const std::vector<int>& labels,
                        int64_t rows, int64_t channels) {
  SummaryRow m;
  m.name = name;
  int64_t n = 0;
  for (int64_t c = 0; c < channels; ++c) {
    std::vector<int> lab = column(labels, rows, channels, c);
    SummaryRow r = score_row("", column(flags, rows, channels, c), lab);
    if (r.labelled == 0) continue;
    ++n;
    m.range_precision += r.range_precision;
    m.range_recall += r.range_recall;
    m.range_f1 += r.range_f1;
    m.point_precision += r.point_precision;
    m.point_recall += r.point_recall;
    m.point_f1 += r.point_f1;
    m.counts += r.counts;
    m.flagged += r.flagged;
    m.labelled += r.labelled;
  }
  if (n > 0)
    for (double* v : {&m.range_precision, &m.range_recall, &m.range_f1, &m.point_precision, &m.point_recall,
                      &m.point_f1})
      *v /= double(n);
  return m;
}
}  // namespace

std::vector<SummaryRow> summary_rows(const std::vector<int>& flags, int64_t rows, int64_t channels,
                                     const std::vector<int>& channel_labels, const std::vector<int>& system_labels) {
  AD_CHECK(int64_t(flags.size()) == rows * channels, "summary_rows", flags.size(), " flags for ", rows, " x ", channels);
  std::vector<SummaryRow> out;
  if (!channel_labels.empty()) {
    AD_CHECK(channel_labels.size() == flags.size(), "summary_rows", channel_labels.size(), " channel labels for ",
             flags.size(), " flags");
    out.push_back(channel_mean("channels (mean)", flags, channel_labels, rows, channels));
    out.push_back(channel_mean("channels: flag everything", std::vector<int>(flags.size(), 1), channel_labels, rows,
                               channels));
    out.push_back(
        channel_mean("channels: flag nothing", std::vector<int>(flags.size(), 0), channel_labels, rows, channels));
  }
  if (!system_labels.empty()) {
    AD_CHECK(int64_t(system_labels.size()) == rows, "summary_rows", system_labels.size(), " system labels for ", rows,
             " rows");
    out.push_back(score_row("system (OR over channels)", or_over_channels(flags, rows, channels), system_labels));
    out.push_back(score_row("system: flag everything", std::vector<int>(size_t(rows), 1), system_labels));
    out.push_back(score_row("system: flag nothing", std::vector<int>(size_t(rows), 0), system_labels));
  }
  return out;
}

json channel_scores_json(const std::vector<std::string>& channels, const std::vector<ChannelScore>& sc) {
  json j = json::array();
  for (size_t c = 0; c < sc.size(); ++c) {
    const ChannelScore& s = sc[c];
    j.push_back({{"channel", channels[c]},
                 {"alpha_up", s.alpha_up},
                 {"alpha_down", s.alpha_down},
                 {"range_precision", s.precision},
                 {"range_recall", s.recall},
                 {"range_f1", s.f1},
                 {"point_precision", s.point_precision},
                 {"point_recall", s.point_recall},
                 {"point_f1", s.point_f1},
                 {"labelled_points", s.labelled},
                 {"flagged_points", s.flagged},
                 {"note", s.note}});
  }
  return j;
}

namespace {
// The metrics a row reports, by name, in table order; FAR and MAR in percent as SKAB prints them.
std::vector<std::pair<std::string, double>> metrics_of(const SummaryRow& r) {
  return {{"range_precision", r.range_precision}, {"range_recall", r.range_recall}, {"range_f1", r.range_f1},
          {"point_precision", r.point_precision}, {"point_recall", r.point_recall}, {"point_f1", r.point_f1},
          {"skab_f1", r.counts.f1()},             {"far_percent", 100 * r.counts.far()},
          {"mar_percent", 100 * r.counts.mar()}};
}
const char* kHeads[] = {"P_range", "R_range", "F1_range", "P_point", "R_point", "F1_point", "F1_skab", "FAR%", "MAR%"};
}  // namespace

namespace {
int name_width(const std::vector<std::string>& names) {
  size_t w = 28;
  for (const std::string& n : names) w = std::max(w, n.size() + 2);
  return int(w);
}
}  // namespace

std::string summary_table(const std::vector<SummaryRow>& rows) {
  std::vector<std::string> names;
  for (const SummaryRow& r : rows) names.push_back(r.name);
  const int w = name_width(names);
  std::ostringstream os;
  os << std::left << std::setw(w) << "row" << std::right;
  for (const char* h : kHeads) os << std::setw(9) << h;
  os << std::setw(9) << "flagged" << std::setw(9) << "labels" << "\n" << std::fixed;
  for (const SummaryRow& r : rows) {
    os << std::left << std::setw(w) << r.name << std::right;
    for (auto& [k, v] : metrics_of(r)) os << std::setw(9) << std::setprecision(k.find("percent") != std::string::npos ? 2 : 3) << v;
    os << std::setw(9) << r.flagged << std::setw(9) << r.labelled << "\n";
  }
  return os.str();
}

json summary_json(const std::vector<SummaryRow>& rows) {
  json j = json::array();
  for (const SummaryRow& r : rows) {
    json e = {{"row", r.name}, {"tp", r.counts.tp}, {"fp", r.counts.fp},     {"tn", r.counts.tn},
              {"fn", r.counts.fn}, {"flagged", r.flagged}, {"labelled", r.labelled}};
    for (auto& [k, v] : metrics_of(r)) e[k] = v;
    j.push_back(e);
  }
  return j;
}

namespace {
struct MeanStd {
  double mean = 0, std = 0;
};
MeanStd mean_std(const std::vector<double>& v) {
  MeanStd m;
  for (double x : v) m.mean += x;
  m.mean /= double(v.size());
  if (v.size() > 1) {
    for (double x : v) m.std += (x - m.mean) * (x - m.mean);
    m.std = std::sqrt(m.std / double(v.size() - 1));
  }
  return m;
}

// Per row name (in first-seed order), per metric, the values over seeds.
std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::vector<double>>>>> by_row(
    const std::vector<std::vector<SummaryRow>>& per_seed) {
  AD_CHECK(!per_seed.empty(), "seed summary", "no seeds");
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::vector<double>>>>> out;
  for (const SummaryRow& first : per_seed[0]) {
    std::vector<std::pair<std::string, std::vector<double>>> metrics;
    for (auto& [k, v] : metrics_of(first)) metrics.push_back({k, {}});
    for (const auto& seed_rows : per_seed) {
      const SummaryRow* match = nullptr;
      for (const SummaryRow& r : seed_rows)
        if (r.name == first.name) match = &r;
      AD_CHECK(match, "seed summary", "row \"", first.name, "\" missing in one seed");
      auto vals = metrics_of(*match);
      for (size_t i = 0; i < vals.size(); ++i) metrics[i].second.push_back(vals[i].second);
    }
    out.push_back({first.name, metrics});
  }
  return out;
}
}  // namespace

std::string seed_table(const std::vector<std::vector<SummaryRow>>& per_seed) {
  AD_CHECK(!per_seed.empty(), "seed summary", "no seeds");
  std::vector<std::string> names;
  for (const SummaryRow& r : per_seed[0]) names.push_back(r.name);
  const int w = name_width(names);
  std::ostringstream os;
  os << "mean ± std over " << per_seed.size() << " seed" << (per_seed.size() == 1 ? "" : "s") << "\n";
  os << std::left << std::setw(w) << "row" << std::right;
  for (const char* h : {"F1_range", "F1_point", "F1_skab", "FAR%", "MAR%"}) os << std::setw(17) << h;
  os << "\n" << std::fixed;
  for (auto& [name, metrics] : by_row(per_seed)) {
    os << std::left << std::setw(w) << name << std::right;
    for (auto& [k, v] : metrics) {
      if (k != "range_f1" && k != "point_f1" && k != "skab_f1" && k != "far_percent" && k != "mar_percent") continue;
      MeanStd m = mean_std(v);
      std::ostringstream cell;
      cell << std::fixed << std::setprecision(k.find("percent") != std::string::npos ? 2 : 3) << m.mean << " ± "
           << m.std;
      os << std::setw(18) << cell.str();  // "±" is two bytes in UTF-8: one more column keeps the cells aligned
    }
    os << "\n";
  }
  return os.str();
}

json seed_json(const std::vector<int64_t>& seeds, const std::vector<std::vector<SummaryRow>>& per_seed) {
  json j = {{"seeds", seeds}, {"std", "sample standard deviation (ddof 1) over seeds"}, {"rows", json::object()}};
  for (auto& [name, metrics] : by_row(per_seed)) {
    json row = json::object();
    for (auto& [k, v] : metrics) {
      MeanStd m = mean_std(v);
      row[k] = {{"mean", m.mean}, {"std", m.std}, {"per_seed", v}};
    }
    j["rows"][name] = row;
  }
  return j;
}

}  // namespace ad::dcvae
