#include "runtime/cpu_threads.h"

#include <cblas.h>
#include <omp.h>
#include <sched.h>
#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/error.h"

namespace {

// Set in the environment of the re-executed program (restart_with_cpu_environment), so that it runs once.
constexpr const char* kRestartedMarker = "AD_CPU_ENVIRONMENT_SET";

// OpenBLAS core types whose GEMM kernels use SSE only.
bool sse_only_core(const std::string& core) {
  static const char* kSseOnly[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai",
                                   "Coppermine", "Northwood", "Banias", "Opteron", "Opteron_SSE3", "Barcelona"};
  for (const char* s : kSseOnly)
    if (strcasecmp(core.c_str(), s) == 0) return true;
  return false;
}

int affinity_cores() {
  // The mask may be wider than cpu_set_t on machines with more than 1024 CPUs: grow until it fits.
  for (int ncpu = CPU_SETSIZE; ncpu <= (1 << 20); ncpu *= 2) {
    cpu_set_t* set = CPU_ALLOC(ncpu);
    const size_t bytes = CPU_ALLOC_SIZE(ncpu);
    CPU_ZERO_S(bytes, set);
    const int rc = sched_getaffinity(0, bytes, set);
    const int count = rc == 0 ? CPU_COUNT_S(bytes, set) : 0;
    CPU_FREE(set);
    if (rc == 0) return count;
    if (errno != EINVAL) break;
  }
  return 0;  // unknown
}

// ceil(quota / period) of the cgroup's CPU quota, or 0 when there is none (or it cannot be read).
// cgroup v2: cpu.max of the process's cgroup ("0::<path>" in /proc/self/cgroup; inside a container that is
// the mount root) holds "max <period>" or "<quota> <period>"; v1: cpu.cfs_quota_us (-1: none).
int cgroup_quota_cores() {
  auto cores = [](double quota, double period) { return quota > 0 && period > 0 ? int(std::ceil(quota / period)) : 0; };
  std::string own;
  {
    std::ifstream self("/proc/self/cgroup");
    for (std::string line; std::getline(self, line);)
      if (line.rfind("0::", 0) == 0) own = line.substr(3);
  }
  for (const std::string& dir : {"/sys/fs/cgroup" + own, std::string("/sys/fs/cgroup")}) {
    std::ifstream f(dir + "/cpu.max");
    std::string quota;
    double period = 0;
    if (f >> quota >> period) return quota == "max" ? 0 : cores(std::atof(quota.c_str()), period);
  }
  std::ifstream q("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), p("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double quota = 0, period = 0;
  if (q >> quota && p >> period) return cores(quota, period);
  return 0;
}

}  // namespace

namespace ad {

int cpu_cores_available() {
  int n = affinity_cores();
  if (n <= 0) n = omp_get_num_procs();
  const int quota = cgroup_quota_cores();
  if (quota > 0 && quota < n) n = quota;
  return n < 1 ? 1 : n;
}

int resolve_cpu_threads(const std::string& text, int available, int omp_default, const char* op) {
  if (text.empty()) return std::max(1, std::min(omp_default, available));
  // Whole decimal numbers only: "2x", "1.5", " 2", "+2" and overflowing values are refused.
  bool digits = text.size() <= 9;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  AD_CHECK(digits, op, "--threads: '", text, "' is not a whole number in 0..", available,
           " (0: all ", available, " available cores)");
  const int n = std::atoi(text.c_str());
  AD_CHECK(n <= available, op, "--threads: ", n, " is more than the ", available,
           " cores available to this process (affinity mask and CPU quota)");
  return n == 0 ? available : n;
}

int use_cpu_threads(const std::string& text, const char* op) {
  const int n = resolve_cpu_threads(text, cpu_cores_available(), omp_get_max_threads(), op);
  omp_set_num_threads(n);
  return n;
}

std::string omp_wait_policy() {
  if (const char* spin = std::getenv("GOMP_SPINCOUNT")) return std::string("GOMP_SPINCOUNT=") + spin;
  if (const char* policy = std::getenv("OMP_WAIT_POLICY")) return policy;
  return "default";
}

std::string wider_blas_coretype() {
  const char* name = openblas_get_corename();
  if (!sse_only_core(name ? name : "")) return "";
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

std::string blas_coretype() {
  const char* name = openblas_get_corename();
  return name ? name : "?";
}

void restart_with_cpu_environment(char** argv) {
  if (std::getenv(kRestartedMarker) || !argv || !argv[0]) return;
  bool change = false;
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT"))
    change = setenv("OMP_WAIT_POLICY", "passive", 1) == 0 || change;
  if (!std::getenv("OPENBLAS_CORETYPE"))
    if (const std::string core = wider_blas_coretype(); !core.empty())
      change = setenv("OPENBLAS_CORETYPE", core.c_str(), 1) == 0 || change;
  if (!change) return;
  setenv(kRestartedMarker, "1", 1);
  std::fflush(nullptr);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc, binary replaced): carry on with the libraries' own choices; the child environment
  // keeps the variables, which is harmless.
}

}  // namespace ad
