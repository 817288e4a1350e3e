// The CPU thread pool (runtime/cpu_threads.h): the thread count never exceeds the cores in the affinity
// mask, and run_<model> --threads (experiments/cli.h) is checked like other numbers: one error line.
#include <gtest/gtest.h>
#include <omp.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "experiments/cli.h"
#include "runtime/cpu_threads.h"
#include "runtime/error.h"
#include "tests/support/helpers.h"

using namespace ad;
using ad::test::error_of;

#define EXPECT_HAS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << "message: " << (msg)

namespace {

int affinity_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  return CPU_COUNT(&set);
}

// Restricts the calling thread to its first allowed CPU for the scope (sched_getaffinity(0) reads it).
class OneCpu {
 public:
  OneCpu() {
    EXPECT_EQ(sched_getaffinity(0, sizeof saved_, &saved_), 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &saved_)) {
        CPU_SET(c, &one);
        break;
      }
    EXPECT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  }
  ~OneCpu() { sched_setaffinity(0, sizeof saved_, &saved_); }

 private:
  cpu_set_t saved_;
};

// What run_<model> does: CLI11 parses the shared options, run_options() checks --threads (it throws, and
// main prints "error: <what>" and returns 1). Returns the error message, or "" when run_options accepts.
std::string run_options_error(const std::vector<std::string>& threads_args) {
  CLI::App app{"test"};
  RunCli cli;
  add_run_options(app, cli, {"all"}, "all");
  std::vector<std::string> args = {"prog", "--settings", "s.json"};
  args.insert(args.end(), threads_args.begin(), threads_args.end());
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(int(argv.size()), argv.data());
  try {
    RunOptions o = cli.run_options("run_test", "/nonexistent");
    EXPECT_EQ(o.cpu_threads, omp_get_max_threads());
    EXPECT_LE(o.cpu_threads, cpu_cores_available());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CpuThreads, AvailableCoresNeverExceedTheAffinityMask) {
  const int available = cpu_cores_available();
  EXPECT_GE(available, 1);
  EXPECT_LE(available, affinity_count());
  {
    OneCpu one;
    EXPECT_EQ(cpu_cores_available(), 1);
    EXPECT_EQ(use_cpu_threads("", "t"), 1);  // the default never asks for more than the mask holds
    EXPECT_EQ(use_cpu_threads("0", "t"), 1);
    EXPECT_EQ(omp_get_max_threads(), 1);
    EXPECT_HAS(error_of([] { use_cpu_threads("2", "t"); }), "more than the 1 cores available");
  }
  EXPECT_EQ(use_cpu_threads("0", "t"), available);  // back to all (an absent flag would keep the 1 set above)
  EXPECT_EQ(omp_get_max_threads(), available);
}

TEST(CpuThreads, ResolveDefaultZeroAndRange) {
  EXPECT_EQ(resolve_cpu_threads("", 4, 8, "t"), 4);  // OpenMP's default (all online CPUs) capped
  EXPECT_EQ(resolve_cpu_threads("", 4, 2, "t"), 2);  // OMP_NUM_THREADS=2 is kept
  EXPECT_EQ(resolve_cpu_threads("0", 4, 2, "t"), 4);
  EXPECT_EQ(resolve_cpu_threads("1", 4, 8, "t"), 1);
  EXPECT_EQ(resolve_cpu_threads("4", 4, 8, "t"), 4);
}

TEST(CpuThreads, BadThreadsAreOneErrorLine) {
  const int available = cpu_cores_available();
  for (const std::string& bad : {std::string("-1"), std::to_string(available + 1), std::string("two"),
                                 std::string("1.5"), std::string("2x"), std::string(" 1"), std::string("+1"),
                                 std::string("99999999999999999999")}) {
    const std::string msg = run_options_error({"--threads", bad});
    EXPECT_HAS(msg, "run_test: --threads: ");
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_HAS(run_options_error({"--threads", std::to_string(available + 1)}), "more than the");
  EXPECT_EQ(run_options_error({"--threads", "0"}), "");
  EXPECT_EQ(run_options_error({"--threads", "1"}), "");
  EXPECT_EQ(run_options_error({}), "");
}

// restart_with_cpu_environment re-executes the program with OMP_WAIT_POLICY and OPENBLAS_CORETYPE set, and
// the libraries read them as they load: the re-executed copy of this test reports what OpenBLAS chose.
// (An earlier version set them from .preinit_array, where glibc's start-up dropped them again: OpenBLAS kept
// its SSE kernels, libgomp spun.)
TEST(CpuThreads, RestartSetsTheEnvironmentTheLibrariesRead) {
  if (const char* out = std::getenv("AD_TEST_CPU_ENV_OUT")) {  // the re-executed copy: report and stop
    std::ofstream(out) << omp_wait_policy() << "\n" << blas_coretype() << "\n" << wider_blas_coretype() << "\n";
    return;
  }
  ad::test::TempDir dir("cpu_env");
  const std::string out = dir.path("child.txt");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    for (const char* v : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OPENBLAS_CORETYPE", "AD_CPU_ENVIRONMENT_SET"})
      unsetenv(v);
    setenv("AD_TEST_CPU_ENV_OUT", out.c_str(), 1);
    std::string filter = "--gtest_filter=CpuThreads.RestartSetsTheEnvironmentTheLibrariesRead";
    std::string self = "test_cpu_threads";
    char* argv[] = {self.data(), filter.data(), nullptr};
    restart_with_cpu_environment(argv);
    _exit(3);  // only reached when it did not re-execute
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  std::ifstream in(out);
  std::string policy, core, wider;
  std::getline(in, policy);
  std::getline(in, core);
  std::getline(in, wider);
  EXPECT_EQ(policy, "passive");
  EXPECT_NE(core, "");
  EXPECT_EQ(wider, "") << "OpenBLAS still runs " << core << " kernels after the restart";
}
