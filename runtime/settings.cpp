#include "runtime/settings.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "runtime/error.h"
#include "runtime/fs_util.h"
#include "runtime/json.h"

namespace ad {

using json = nlohmann::json;

nlohmann::json load_json_file(const std::string& path) {
  JsonOptions options;
  options.allow_comments = true;
  return read_json_file(path, "load_json_file", options);
}

struct SettingsReader::State {
  json input;
  json resolved = json::object();
  std::string context;
  std::map<std::string, std::set<std::string>> known;  // section pointer -> keys asked for
  std::set<std::string> sections;                      // pointers opened with section()
};

namespace {

std::string short_dump(const json& j) {
  std::string s = j.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

bool as_int(const json& v, int64_t& out) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) return false;
    out = int64_t(v.get<uint64_t>());
    return true;
  }
  if (v.is_number_integer()) { out = v.get<int64_t>(); return true; }
  if (v.is_number_float()) {  // JSON writers may print 10 as 10.0 or 1e3
    double d = v.get<double>();
    if (d != std::floor(d) || std::fabs(d) > 9.0e15) return false;
    out = int64_t(d);
    return true;
  }
  return false;
}

}  // namespace

SettingsReader::SettingsReader(const nlohmann::json& settings, std::string context)
    : st_(std::make_shared<State>()) {
  st_->context = std::move(context);
  AD_CHECK(settings.is_object(), ("settings " + st_->context).c_str(), "expected a JSON object at the top, got ",
           short_dump(settings));
  st_->input = settings;
  st_->known[""];
}

SettingsReader::SettingsReader(std::shared_ptr<State> st, Pointer prefix)
    : st_(std::move(st)), prefix_(std::move(prefix)) {}

const std::string& SettingsReader::context() const { return st_->context; }
const nlohmann::json& SettingsReader::resolved() const { return st_->resolved; }

namespace {
std::string dotted(nlohmann::json::json_pointer p) {  // "/model/encoder" -> "model.encoder"
  std::string out;
  for (; !p.empty(); p = p.parent_pointer()) out = p.back() + (out.empty() ? "" : ".") + out;
  return out;
}
}  // namespace

std::string SettingsReader::full(const std::string& key) const {
  return prefix_.empty() ? key : dotted(prefix_) + "." + key;
}

bool SettingsReader::has(const std::string& key) const { return st_->input.at(prefix_).contains(key); }

const json* SettingsReader::lookup(const std::string& key) {
  st_->known[prefix_.to_string()].insert(key);
  const json& node = st_->input.at(prefix_);
  auto it = node.find(key);
  return it == node.end() ? nullptr : &*it;
}

void SettingsReader::type_error(const std::string& key, const char* type, const json& got) const {
  AD_FAIL(("settings " + st_->context).c_str(), "key \"", full(key), "\" must be ", type, ", got ",
          short_dump(got));
}

void SettingsReader::record(const std::string& key, json value) { st_->resolved[prefix_ / key] = std::move(value); }

// One pair of getters per type: `convert(json, out)` returns false for a wrong type.
#define AD_SETTINGS_GETTER(Type, DefType, name, type_text, convert)                                 \
  Type SettingsReader::name(const std::string& key, DefType def) {                                  \
    const json* v = lookup(key);                                                         \
    Type out = def;                                                                                 \
    if (v && !convert(*v, out)) type_error(key, type_text, *v);                                     \
    record(key, out);                                                                               \
    return out;                                                                                     \
  }                                                                                                 \
  Type SettingsReader::name(const std::string& key) {                                               \
    const json* v = lookup(key);                                                         \
    AD_CHECK(v, ("settings " + st_->context).c_str(), "missing required key \"", full(key), "\" (", \
             type_text, ")");                                                                       \
    Type out{};                                                                                     \
    if (!convert(*v, out)) type_error(key, type_text, *v);                                          \
    record(key, out);                                                                               \
    return out;                                                                                     \
  }

namespace {
bool conv_number(const json& v, double& out) {
  if (!v.is_number()) return false;
  out = v.get<double>();
  return true;
}
bool conv_bool(const json& v, bool& out) {
  if (!v.is_boolean()) return false;
  out = v.get<bool>();
  return true;
}
bool conv_string(const json& v, std::string& out) {
  if (!v.is_string()) return false;
  out = v.get<std::string>();
  return true;
}
template <class T, class F> bool conv_list(const json& v, std::vector<T>& out, F&& elem) {
  if (!v.is_array()) return false;
  std::vector<T> r(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    if (!elem(v[i], r[i])) return false;
  out = std::move(r);
  return true;
}
bool conv_int_list(const json& v, std::vector<int64_t>& out) { return conv_list(v, out, as_int); }
bool conv_number_list(const json& v, std::vector<double>& out) { return conv_list(v, out, conv_number); }
}  // namespace

AD_SETTINGS_GETTER(double, double, get_number, "a number", conv_number)
AD_SETTINGS_GETTER(int64_t, int64_t, get_int, "an integer", as_int)
AD_SETTINGS_GETTER(bool, bool, get_bool, "true or false", conv_bool)
AD_SETTINGS_GETTER(std::string, const std::string&, get_string, "a string", conv_string)
AD_SETTINGS_GETTER(std::vector<int64_t>, const std::vector<int64_t>&, get_int_list, "a list of integers",
                   conv_int_list)
AD_SETTINGS_GETTER(std::vector<double>, const std::vector<double>&, get_number_list, "a list of numbers",
                   conv_number_list)
#undef AD_SETTINGS_GETTER

namespace {
template <class T> std::string range_text(T lo, T hi) {
  std::ostringstream os;
  os << "[" << lo << ", " << hi << "]";
  return os.str();
}
}  // namespace

int64_t SettingsReader::get_int_in(const std::string& key, int64_t def, int64_t lo, int64_t hi) {
  const int64_t v = get_int(key, def);
  AD_CHECK(v >= lo && v <= hi, ("settings " + st_->context).c_str(), "key \"", full(key), "\" must be in ",
           range_text(lo, hi), ", got ", v);
  return v;
}

double SettingsReader::get_number_in(const std::string& key, double def, double lo, double hi) {
  const double v = get_number(key, def);
  AD_CHECK(v >= lo && v <= hi, ("settings " + st_->context).c_str(), "key \"", full(key), "\" must be in ",
           range_text(lo, hi), ", got ", v);
  return v;
}

std::vector<int64_t> SettingsReader::get_int_list_in(const std::string& key, const std::vector<int64_t>& def,
                                                     int64_t lo, int64_t hi, size_t max_len) {
  std::vector<int64_t> v = get_int_list(key, def);
  const std::string ctx = "settings " + st_->context;
  AD_CHECK(v.size() <= max_len, ctx.c_str(), "key \"", full(key), "\" has ", v.size(), " entries, at most ",
           max_len, " are accepted");
  for (size_t i = 0; i < v.size(); ++i)
    AD_CHECK(v[i] >= lo && v[i] <= hi, ctx.c_str(), "key \"", full(key), "\" entry ", i, " must be in ",
             range_text(lo, hi), ", got ", v[i]);
  return v;
}

std::string SettingsReader::get_choice(const std::string& key, const std::string& def,
                                       const std::vector<std::string>& choices) {
  std::string v = get_string(key, def);
  if (std::find(choices.begin(), choices.end(), v) != choices.end()) return v;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "\"" : ", \"") + c + "\"";
  AD_FAIL(("settings " + st_->context).c_str(), "key \"", full(key), "\" must be one of ", list, ", got \"", v,
          "\"");
}

SettingsReader SettingsReader::section(const std::string& key) {
  const json* v = lookup(key);
  Pointer p = prefix_ / key;
  if (!v) st_->input[p] = json::object();
  else if (!v->is_object()) type_error(key, "an object", *v);
  st_->sections.insert(p.to_string());
  st_->known[p.to_string()];
  if (!st_->resolved.contains(p)) st_->resolved[p] = json::object();
  return SettingsReader(st_, p);
}

void SettingsReader::finish() const {
  std::vector<std::string> problems;
  auto check = [&](auto&& self, const Pointer& at) -> void {
    const auto& known = st_->known[at.to_string()];
    SettingsReader here(st_, at);
    for (const auto& [key, value] : st_->input.at(at).items()) {
      if (!known.count(key)) {
        std::string msg = "unknown key \"" + here.full(key) + "\" (known" +
                          (at.empty() ? std::string() : " in \"" + dotted(at) + "\"") + ": ";
        std::string best;
        size_t best_d = 3;  // suggest only close matches
        bool first = true;
        for (const auto& k : known) {
          msg += (first ? "" : ", ") + k;
          first = false;
          size_t d = edit_distance(key, k);
          if (d < best_d) best_d = d, best = k;
        }
        msg += known.empty() ? "none)" : ")";
        if (!best.empty()) msg += " - did you mean \"" + best + "\"?";
        problems.push_back(msg);
      } else if (st_->sections.count((at / key).to_string())) {
        self(self, at / key);
      }
    }
  };
  check(check, prefix_);
  if (problems.empty()) return;
  std::string all;
  for (size_t i = 0; i < problems.size(); ++i) all += (i ? "; " : "") + problems[i];
  AD_FAIL(("settings " + st_->context).c_str(), all);
}

}  // namespace ad
