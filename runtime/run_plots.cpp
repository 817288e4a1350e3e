#include "runtime/run_plots.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

extern char** environ;

#ifndef AD_SOURCE_DIR
#define AD_SOURCE_DIR "."
#endif

namespace ad {
namespace {

// Runs argv (no shell, so run folder names need no quoting); stdout and stderr both go to `output`
// when given, else to /dev/null. Returns the exit status, or -1 when the program could not be started.
int run_program(const std::vector<std::string>& args, std::string* output) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2] = {-1, -1};
  if (output && pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (output) {
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (output) {
    close(fds[1]);
    if (rc == 0) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fds[0], buf, sizeof buf)) > 0) output->append(buf, size_t(n));
    }
    close(fds[0]);
  }
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string find_plot_python(std::string* why) {
  std::vector<std::string> candidates;
  if (const char* p = std::getenv("AD_PYTHON"); p && *p) {
    candidates = {p};
  } else {
    candidates = {"python3", "/usr/bin/python3"};
  }
  for (const std::string& py : candidates)
    if (run_program({py, "-c", "import matplotlib, numpy"}, nullptr) == 0) return py;
  if (why)
    *why = "no Python with matplotlib and numpy (tried " + candidates[0] + (candidates.size() > 1 ? ", " + candidates[1] : "") +
           "; bash tools/setup.sh installs them)";
  return "";
}

std::string plot_tools_dir() {
  const char* src = std::getenv("AD_SOURCE_DIR");
  return std::string(src && *src ? src : AD_SOURCE_DIR) + "/tools";
}

bool write_run_plots(const std::string& model, const std::string& run_dir, std::ostream& log) {
  std::string script = plot_tools_dir() + "/plot_run.py";
  if (!std::filesystem::exists(script)) {
    log << "plots: skipped, " << script << " not found (set AD_SOURCE_DIR to the source tree)\n";
    return false;
  }
  std::string why;
  std::string python = find_plot_python(&why);
  if (python.empty()) {
    log << "plots: skipped, " << why << "\n";
    return false;
  }
  std::string output;
  int rc = run_program({python, script, model, run_dir}, &output);
  log << output;
  if (!output.empty() && output.back() != '\n') log << "\n";
  if (rc != 0) {
    log << "plots: failed (" << python << " " << script << " exited with " << rc << "); the run itself succeeded\n";
    return false;
  }
  return true;
}

}  // namespace ad
