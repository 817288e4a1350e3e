// The CPU thread pool (OpenMP) sized to the cores this process may actually use, and waiting without
// spinning, so that our CPU path degrades gracefully when other jobs share the cores.
//
// Two measures, each in one place:
//  - Wait policy: libgomp's idle threads spin for ~300000 iterations at every barrier and at the end of
//    every parallel region before they sleep. With the cores contended, a spinning thread takes the core
//    from the thread the team waits for (AnomalyDAE's CPU epoch grew 5-9x slower beside other jobs, PyTorch's
//    2-3x). libgomp reads OMP_WAIT_POLICY only while it loads, before main(), so cpu_threads.cpp sets
//    OMP_WAIT_POLICY=passive from the executable's .preinit_array (which runs before any shared library's
//    initialiser) unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT: export either to choose otherwise.
//  - Thread count: never above the cores available to the process, i.e. the CPU affinity mask
//    (sched_getaffinity: taskset, cpusets) and a cgroup CPU quota (cpu.max, or cpu.cfs_quota_us on cgroup v1),
//    whichever is smaller. run_<model> --threads N picks fewer (experiments/cli.h).
#pragma once
#include <string>

namespace ad {

// Cores this process may use: the affinity mask's count, lowered to ceil(quota / period) of a cgroup CPU
// quota when one is set. At least 1.
int cpu_cores_available();

// The thread count that `--threads text` asks for, given `available` cores and `omp_default` (OpenMP's
// default team size, which OMP_NUM_THREADS sets). Empty text (option absent): min(omp_default, available);
// "0": all available; "1".."available": that many. Anything else (negative, above `available`, not a whole
// number) throws ad::Error "<op>: --threads: ...".
int resolve_cpu_threads(const std::string& text, int available, int omp_default, const char* op);

// Resolves `--threads text` for this process (cpu_cores_available(), omp_get_max_threads()) and makes it
// the OpenMP team size of every later parallel region. Returns the count.
int use_cpu_threads(const std::string& text, const char* op);

// OMP_WAIT_POLICY as libgomp saw it at start-up ("passive" unless the user chose), for run records.
std::string omp_wait_policy();

}  // namespace ad
