// The one run-folder implementation every run_<model> program uses.
//
// A run folder holds one run's settings echo, checkpoint and results. A new run is filled under
// "<output_dir>/<timestamp>.partial-<pid>" and renamed to "<output_dir>/<timestamp>" by finish(), so a
// folder without ".partial-" in its name is always complete. A stage can also resume a finished run
// (--run), writing into it directly; every file is written whole (write_text_atomic or the writers'
// own temp+rename), and run.json is refreshed by finish().
//
// run.json (written by finish()) records the folder's format version, the program, the stages done,
// and every file's size and CRC-32. Opening an existing run checks both: a folder from another format
// version, or with a file edited, truncated or removed since the run finished, is refused with one
// error naming the file, before any stage reads it.
//
//   RunFolder run({"run_dcvae", s.output_dir, run_dir_flag, stage});
//   run.record_start(settings_path, s.resolved, s.seed, device);   // run_<stage>.json: the settings echo
//   ... stages write into run.path() ...
//   run.on_finish([](const std::string& dir) { ... });            // runs before the rename (then the plots)
//   std::string final_dir = run.finish();
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/fs_util.h"
#include "runtime/tensor.h"

namespace ad {

// Bumped whenever a run folder's files change meaning or layout; runs of another version are refused.
inline constexpr int kRunFormatVersion = 1;

struct RunOptions {
  std::string program;       // "run_dcvae": names the program in errors and in run.json
  std::string output_dir;    // new runs go under it
  std::string existing_run;  // --run: a finished run folder to resume; empty for a new run
  std::string stage;         // "all", "train", ...: recorded in run_<stage>.json and run.json
  // Report stale "*.partial-<pid>" folders in output_dir (their process is gone); also remove them if set.
  bool remove_stale_partials = false;
  // Last thing before run.json and the rename: tools/plot_<model>.py (model = program without "run_") writes
  // PNGs into plots/ and report.html (runtime/run_plots.h). Never fails the run.
  bool plots = false;
  int cpu_threads = 0;  // the OpenMP team size in use (runtime/cpu_threads.h); 0: not recorded
  // The program's stages in dependency order ({"train", "alpha", "test"}): each depends on the ones before.
  // Resuming a run with stage X removes the recorded outputs of X and of every later stage first (they
  // would be stale), and re-running the first stage (it writes the checkpoint) of a run that has done it
  // is refused unless `force`. Empty: no such bookkeeping.
  std::vector<std::string> stage_order;
  bool force = false;  // --force
};

// A "<name>.partial-<pid>" folder left in `dir` by a process that no longer runs.
struct StalePartial {
  std::string path;
  long pid = 0;
};
std::vector<StalePartial> find_stale_partials(const std::string& dir);

// Size and CRC-32 of every regular file under `dir` (relative paths, sorted), except run.json itself and the
// pictures (plots/, report.html): no stage reads them, and they may be redrawn by hand at any time.
nlohmann::json file_checksums(const std::string& dir);

// Checks a finished run folder without changing it: run.json present and of kRunFormatVersion, every
// file it lists present with the recorded size and CRC-32. Returns run.json; errors name the file.
nlohmann::json verify_run_folder(const std::string& dir, const char* op);

// "cpu", or the CUDA device's name: what run_<stage>.json records and the programs print.
std::string device_description(Device device);
// `git rev-parse --short HEAD` of the working directory, or "unknown".
std::string git_commit();
// Local time as "YYYYmmdd-HHMMSS": the name of a new run folder.
std::string run_timestamp();

class RunFolder {
 public:
  // Creates the staging folder of a new run, or opens and checks an existing one (format version and
  // checksums, see above). Stale partial folders in output_dir are reported on `log` (and removed when
  // options.remove_stale_partials).
  explicit RunFolder(RunOptions options, std::ostream* log = nullptr);
  ~RunFolder();
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::string& path() const { return dir_; }  // write here (the partial folder of a new run)
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  bool is_new() const { return staging_ != nullptr; }
  const std::string& stage() const { return options_.stage; }
  // The stages already done in this folder, from run.json (empty for a new run).
  const std::vector<std::string>& stages_done() const { return stages_done_; }

  // Marks the start of one stage of stage_order (a stage "all" runs several): the files written or changed
  // until the next begin_stage() or finish() are recorded in run.json as that stage's outputs.
  void begin_stage(const std::string& name);

  // run_<stage>.json: settings file, resolved settings, seed, device, git commit, stage, format version
  // (and cpu_threads with the OpenMP wait policy when options.cpu_threads is set). Written at once in a new
  // run's partial folder; for a resumed run, by finish() (a failed stage then leaves the folder as it found it).
  void record_start(const std::string& settings_file, const nlohmann::json& resolved_settings, uint64_t seed,
                    Device device);

  // Called by finish(), in order, with path(), after the stages and before checksums and rename: files a
  // hook writes are part of the run. A hook that throws fails the run like a stage would; a hook whose
  // failure should not cost the run (plots) catches its own errors.
  void on_finish(std::function<void(const std::string& run_dir)> hook);

  // Runs the hooks, then the plots (options.plots), writes run.json (format version, stages, checksums) and, for a new run, renames the
  // partial folder to its final name. Returns the final path.
  std::string finish();

 private:
  void write_run_json(const std::string& failed_stage);
  void attribute_changes();  // files changed since the last snapshot -> current_stage_
  void remove_stage_outputs(const std::string& from_stage);

  RunOptions options_;
  std::string dir_;
  std::unique_ptr<StagingDir> staging_;
  std::vector<std::string> stages_done_;
  std::vector<std::function<void(const std::string&)>> hooks_;
  std::ostream* log_ = nullptr;
  bool finished_ = false;
  nlohmann::json files_at_open_;  // checksums verified when a finished run was opened
  std::string pending_echo_;      // a resumed run's run_<stage>.json, written by finish()
  nlohmann::json outputs_ = nlohmann::json::object();  // stage -> files it wrote (run.json "outputs")
  std::string current_stage_;                           // set by begin_stage()
  std::vector<std::string> begun_;                      // stages begun in this invocation
  std::map<std::string, std::pair<uintmax_t, int64_t>> snapshot_;  // file -> (size, mtime) at the last mark
};

}  // namespace ad
