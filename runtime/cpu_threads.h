// The CPU thread pool (OpenMP) sized to the cores this process may actually use, and waiting without
// spinning, so that our CPU path degrades gracefully when other jobs share the cores; and OpenBLAS's kernels
// chosen from what the CPU supports.
//
//  - Wait policy: libgomp's idle threads spin for ~300000 iterations at every barrier and at the end of
//    every parallel region before they sleep. With the cores contended, a spinning thread takes the core
//    from the thread the team waits for (AnomalyDAE's CPU epoch grew 5-9x slower beside other jobs, PyTorch's
//    2-3x; DC-VAE's original-configuration training step at load 9 on 2 cores: 184 ms passive against
//    1.1-4.7 s spinning). OMP_WAIT_POLICY=passive makes them sleep at once.
//  - BLAS kernels: OpenBLAS (a DYNAMIC_ARCH build) picks its kernels from the CPU model; on a VM that hides
//    the model it falls back to SSE-only "Prescott" kernels on a CPU with AVX-512 (matrix products 2-3x
//    slower). OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2+FMA) chooses the wide ones; for sgemm and
//    dgemm these are the kernels OpenBLAS itself uses on the newer models of those families.
//    Both libraries read these variables only while they load, before main(): glibc's initialiser resets
//    environ after an executable's .preinit_array, so setting them there does not reach them (an earlier
//    version did that; OMP_DISPLAY_ENV misleadingly prints PASSIVE for an unset policy). So
//    restart_with_cpu_environment() re-executes the program once with them added, unless the user set them.
//    run_<model> (experiments/cli.h) and the CPU benchmarks call it first thing in main().
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

// OMP_WAIT_POLICY (or GOMP_SPINCOUNT=...) from the environment libgomp read, or "default", for run records.
std::string omp_wait_policy();

// The OpenBLAS core type in use ("SkylakeX", "Prescott", ...).
std::string blas_coretype();

// "SkylakeX" or "Haswell" when OpenBLAS runs SSE-only kernels on a CPU (and OS) with AVX-512 or AVX2+FMA,
// else "".
std::string wider_blas_coretype();

// Re-executes this program (/proc/self/exe, the same argv) once with OMP_WAIT_POLICY=passive and
// OPENBLAS_CORETYPE=wider_blas_coretype() added where the user set neither OMP_WAIT_POLICY nor
// GOMP_SPINCOUNT, resp. OPENBLAS_CORETYPE (see above). Returns when there is nothing to add, in the
// re-executed program, or when exec fails. Call it first in main(), before any output or file is written.
void restart_with_cpu_environment(char** argv);

}  // namespace ad
