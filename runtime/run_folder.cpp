#include "runtime/run_folder.h"

#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "runtime/cpu_threads.h"
#include "runtime/cuda_context.h"
#include "runtime/error.h"
#include "runtime/json.h"
#include "runtime/run_plots.h"

namespace fs = std::filesystem;

namespace ad {

namespace {
constexpr const char* kRunJson = "run.json";

// Drawn from the other files at every finish (and by hand with tools/plot_<model>.py): not checksummed.
bool is_picture(const std::string& rel) { return rel == "report.html" || rel.rfind("plots/", 0) == 0; }

// Stream the file through CRC-32 (a checkpoint may be large; never hold it whole).
std::pair<uint64_t, uint32_t> size_and_crc32(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  AD_CHECK(in, "run folder", "cannot open \"", p.string(), "\"");
  std::vector<char> buf(1 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  uint64_t size = 0;
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    std::streamsize got = in.gcount();
    if (got <= 0) break;
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), uInt(got));
    size += uint64_t(got);
  }
  AD_CHECK(!in.bad(), "run folder", "error while reading \"", p.string(), "\"");
  return {size, uint32_t(crc)};
}

std::string hex32(uint32_t v) {
  std::ostringstream os;
  os << std::hex << std::setw(8) << std::setfill('0') << v;
  return os.str();
}

bool process_alive(long pid) { return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM); }
}  // namespace

std::vector<StalePartial> find_stale_partials(const std::string& dir) {
  std::vector<StalePartial> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory(ec)) continue;
    const std::string name = e.path().filename().string();
    const auto at = name.rfind(".partial-");
    if (at == std::string::npos) continue;
    const std::string digits = name.substr(at + 9);
    if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    const long pid = std::stol(digits);
    if (!process_alive(pid)) out.push_back({e.path().string(), pid});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

nlohmann::json file_checksums(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), dir).generic_string();
    if (rel != kRunJson && !is_picture(rel)) names.push_back(rel);
  }
  std::sort(names.begin(), names.end());
  nlohmann::json files = nlohmann::json::object();
  for (const auto& n : names) {
    auto [size, crc] = size_and_crc32(fs::path(dir) / n);
    files[n] = {{"bytes", size}, {"crc32", hex32(crc)}};
  }
  return files;
}

std::string device_description(Device device) { return device == Device::CUDA ? cuda_status() : device_name(device); }

std::string git_commit() {
  FILE* p = popen("git rev-parse --short HEAD 2>/dev/null", "r");
  if (!p) return "unknown";
  char buf[64] = {0};
  std::string out = fgets(buf, sizeof buf, p) ? std::string(buf) : "unknown";
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "unknown" : out;
}

std::string run_timestamp() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return buf;
}

nlohmann::json verify_run_folder(const std::string& dir, const char* op) {
  AD_CHECK(fs::is_directory(dir), op, "--run ", dir, " is not a folder");
  const std::string run_json = dir + "/" + kRunJson;
  AD_CHECK(fs::is_regular_file(run_json), op, run_json, ": missing: not a finished run folder of this version");
  const nlohmann::json j = read_json_file(run_json, op);
  AD_CHECK(j.is_object() && j.contains("format_version") && j["format_version"].is_number_integer(), op, run_json,
           ": format_version: missing or not an integer");
  const auto version = j["format_version"].get<int64_t>();
  AD_CHECK(version == kRunFormatVersion, op, run_json, ": format_version: ", version, ", this program reads ",
           kRunFormatVersion, " (the run was made by another version)");
  AD_CHECK(j.contains("files") && j["files"].is_object(), op, run_json, ": files: missing or not an object");
  AD_CHECK(!j.contains("stages") || j["stages"].is_array(), op, run_json, ": stages: not a list");
  for (const auto& [name, rec] : j["files"].items()) {
    const std::string where = run_json + ": files: " + name;
    AD_CHECK(name.find("..") == std::string::npos && !name.empty() && name[0] != '/', op, where,
             ": not a path inside the run folder");
    AD_CHECK(rec.is_object() && rec.contains("bytes") && rec["bytes"].is_number_unsigned() && rec.contains("crc32") &&
                 rec["crc32"].is_string(),
             op, where, ": expected {\"bytes\": N, \"crc32\": \"hex\"}");
    const fs::path p = fs::path(dir) / name;
    AD_CHECK(fs::is_regular_file(p), op, p.string(), ": listed in run.json but missing");
    auto [size, crc] = size_and_crc32(p);
    AD_CHECK(size == rec["bytes"].get<uint64_t>(), op, p.string(), ": ", size, " bytes, run.json records ",
             rec["bytes"].get<uint64_t>(), " (changed since the run finished)");
    AD_CHECK(hex32(crc) == rec["crc32"].get<std::string>(), op, p.string(), ": CRC-32 ", hex32(crc),
             ", run.json records ", rec["crc32"].get<std::string>(), " (changed since the run finished)");
  }
  return j;
}

RunFolder::RunFolder(RunOptions options, std::ostream* log) : options_(std::move(options)), log_(log) {
  const char* op = options_.program.c_str();
  if (options_.existing_run.empty()) {
    for (const auto& stale : find_stale_partials(options_.output_dir)) {
      std::error_code ec;
      if (options_.remove_stale_partials) fs::remove_all(stale.path, ec);
      if (log)
        *log << (options_.remove_stale_partials && !ec ? "removed" : "note:") << " stale partial run folder "
             << stale.path << " (process " << stale.pid << " is gone)"
             << (options_.remove_stale_partials ? "" : "; remove it, or all of them with --remove-stale-partials")
             << "\n";
    }
    std::error_code ec;
    fs::create_directories(options_.output_dir, ec);
    AD_CHECK(!ec, op, "cannot create output folder \"", options_.output_dir, "\": ", ec.message());
    staging_ = std::make_unique<StagingDir>(options_.output_dir + "/" + run_timestamp());
    dir_ = staging_->path();
    return;
  }

  dir_ = options_.existing_run;
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  const nlohmann::json j = verify_run_folder(dir_, op);
  files_at_open_ = j["files"];
  if (j.contains("stages") && j["stages"].is_array())
    for (const auto& s : j["stages"])
      if (s.is_string()) stages_done_.push_back(s.get<std::string>());
  if (j.contains("outputs") && j["outputs"].is_object()) outputs_ = j["outputs"];

  // A program with one stage ("all") has that as its only, first stage.
  const std::vector<std::string> order =
      options_.stage_order.empty() ? std::vector<std::string>{"all"} : options_.stage_order;
  // Stage "all" on a finished run reruns everything: as its first stage.
  const std::string stage = options_.stage == "all" && !order.empty() ? order.front() : options_.stage;
  const auto at = std::find(order.begin(), order.end(), stage);
  if (at != order.end()) {
    const auto has = [&](const std::string& s) {
      return std::find(stages_done_.begin(), stages_done_.end(), s) != stages_done_.end();
    };
    const bool all_done = has("all");
    AD_CHECK(!(at == order.begin() && (all_done || has(stage))) || options_.force, op, dir_, ": stage ", stage,
             " is already done in this run; rerunning it replaces the checkpoint and removes every result that "
             "depends on it: pass --force to do that (or start a new run)");
    if (all_done) {  // "all" stands for every stage; list them so that the ones removed below can leave
      stages_done_.erase(std::remove(stages_done_.begin(), stages_done_.end(), "all"), stages_done_.end());
      stages_done_.insert(stages_done_.end(), order.begin(), order.end());
    }
    remove_stage_outputs(stage);
  }
  attribute_changes();  // the starting snapshot
}

void RunFolder::remove_stage_outputs(const std::string& from_stage) {
  const std::vector<std::string> order =
      options_.stage_order.empty() ? std::vector<std::string>{"all"} : options_.stage_order;
  size_t removed = 0;
  for (auto s = std::find(order.begin(), order.end(), from_stage); s != order.end(); ++s) {
    if (outputs_.contains(*s))
      for (const auto& f : outputs_[*s]) {
        const std::string rel = f.is_string() ? f.get<std::string>() : "";
        if (rel.empty() || rel.find("..") != std::string::npos || rel[0] == '/') continue;
        std::error_code ec;
        if (fs::remove(fs::path(dir_) / rel, ec)) ++removed;
      }
    outputs_.erase(*s);
    stages_done_.erase(std::remove(stages_done_.begin(), stages_done_.end(), *s), stages_done_.end());
  }
  if (removed == 0) return;
  if (log_)
    *log_ << "removed " << removed << " result files of stage " << from_stage << " and later stages from " << dir_
          << " (they depend on the stage being rerun)\n";
  // run.json must match the folder at once, in case this invocation ends without finish().
  write_run_json(options_.stage);
  files_at_open_ = file_checksums(dir_);
}

void RunFolder::attribute_changes() {
  std::map<std::string, std::pair<uintmax_t, int64_t>> now;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir_, ec)) {
    if (!e.is_regular_file(ec)) continue;
    const std::string rel = fs::relative(e.path(), dir_).generic_string();
    if (rel == kRunJson) continue;
    now[rel] = {e.file_size(ec), int64_t(e.last_write_time(ec).time_since_epoch().count())};
  }
  if (!current_stage_.empty()) {
    nlohmann::json& list = outputs_[current_stage_];
    if (!list.is_array()) list = nlohmann::json::array();
    for (const auto& [rel, stamp] : now) {
      auto it = snapshot_.find(rel);
      if ((it == snapshot_.end() || it->second != stamp) &&
          std::find(list.begin(), list.end(), nlohmann::json(rel)) == list.end())
        list.push_back(rel);
    }
  }
  snapshot_ = std::move(now);
}

void RunFolder::begin_stage(const std::string& name) {
  attribute_changes();
  current_stage_ = name;
  outputs_[name] = nlohmann::json::array();  // a rerun replaces the stage's list
  if (std::find(begun_.begin(), begun_.end(), name) == begun_.end()) begun_.push_back(name);
}

RunFolder::~RunFolder() {
  if (finished_ || staging_) return;  // a new run's partial folder is removed by StagingDir
  // A resumed stage failed. If it changed no file, the folder is as it was: leave run.json alone. Otherwise
  // its files may be a mix of old and new: record that, with the current checksums, so the next stage
  // sees which stage did not complete (never throw from a destructor).
  try {
    attribute_changes();
    if (file_checksums(dir_) != files_at_open_) write_run_json(options_.stage);
  } catch (...) {
  }
}

void RunFolder::record_start(const std::string& settings_file, const nlohmann::json& resolved_settings,
                             uint64_t seed, Device device) {
  nlohmann::json meta = {{"settings_file", settings_file},
                         {"settings", resolved_settings},
                         {"seed", seed},
                         {"device", device_description(device)},
                         {"git_commit", git_commit()},
                         {"stage", options_.stage},
                         {"format_version", kRunFormatVersion}};
  if (options_.cpu_threads > 0) {
    meta["cpu_threads"] = options_.cpu_threads;
    meta["omp_wait_policy"] = omp_wait_policy();
  }
  if (is_new()) write_text_atomic(file("run_" + options_.stage + ".json"), meta.dump(2));
  else pending_echo_ = meta.dump(2);
}

void RunFolder::on_finish(std::function<void(const std::string&)> hook) { hooks_.push_back(std::move(hook)); }

void RunFolder::write_run_json(const std::string& failed_stage) {
  // The stages this invocation completes: the ones it began (stage "all" runs several), else its own.
  const std::vector<std::string> now = begun_.empty() ? std::vector<std::string>{options_.stage} : begun_;
  std::vector<std::string> stages;
  for (const auto& s : stages_done_)
    if (s != options_.stage && std::find(now.begin(), now.end(), s) == now.end()) stages.push_back(s);
  if (failed_stage.empty()) stages.insert(stages.end(), now.begin(), now.end());
  nlohmann::json j = {{"format_version", kRunFormatVersion},
                      {"program", options_.program},
                      {"stages", stages},
                      {"files", file_checksums(dir_)}};
  if (!outputs_.empty()) j["outputs"] = outputs_;
  if (!failed_stage.empty()) j["failed_stage"] = failed_stage;
  write_text_atomic(file(kRunJson), j.dump(2));
}

std::string RunFolder::finish() {
  AD_CHECK(!finished_, options_.program.c_str(), "run folder ", dir_, " already finished");
  if (!pending_echo_.empty()) write_text_atomic(file("run_" + options_.stage + ".json"), pending_echo_);
  for (auto& hook : hooks_) hook(dir_);
  if (options_.plots) {
    const std::string& prog = options_.program;
    write_run_plots(prog.rfind("run_", 0) == 0 ? prog.substr(4) : prog, dir_, log_ ? *log_ : std::cerr);
  }
  attribute_changes();
  write_run_json("");
  if (staging_) {
    staging_->commit();
    dir_ = staging_->final_path();
  }
  finished_ = true;
  return dir_;
}

}  // namespace ad
