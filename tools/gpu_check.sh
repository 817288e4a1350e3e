#!/usr/bin/env bash
# The GPU check, sized for one call of the lent GPU machine (one H200, 16 cores; a session has 15 minutes of
# device time in all, machine start included, and one command runs at most 600 s): phases in priority order,
# each under its own timeout and all under one time budget (GPU_CHECK_BUDGET_S, default 480 s after start), so a
# slow phase costs only the phases after it. What a phase leaves goes into ONE tarball and ONE summary markdown
# under $OUT, rewritten after every phase (a call killed at its limit still returns what finished):
#   $OUT/gpu_check_summary.md   the table (also printed last), the probes, the failures' tails
#   $OUT/gpu_check_logs.tar.gz  every phase's log, the benchmark JSON, the sweeps' markdown and PNGs
#
# Phases in priority order: cap (s, the phase's own timeout) and estimate on the H200 machine's 16 cores:
#   probe        20  ~10  GPU, driver, nvcc, g++, cmake, python3/torch, compute-sanitizer, cuDNN: where each is
#   deps         30   ~5  when a header of tools/setup.sh's -dev packages is missing: `dpkg -x` every .deb of
#                         .device_deps/ (tools/device_deps.sh, run on the workplace machine) into $DEPS_PREFIX
#                         (default /tmp/ad_deps, never /) and point CMake, the compiler, the linker and the loader
#                         at it (CMAKE_PREFIX_PATH, CPATH, LIBRARY_PATH, LD_LIBRARY_PATH); cuDNN from the python3
#                         wheel (nvidia.cudnn) when the CUDA toolkit has none
#   configure    60  ~20  cmake -G Ninja, CUDA arch from nvidia-smi (sm_90 -> 90-real only)
#   build       240  ~90  only the targets the selected phases run (42 for all phases), -j$(nproc). Measured on
#                         the workplace machine (no ccache, 90-real, against the unpacked prefix): 484 CPU-seconds
#                         (user 436 + sys 49), so >= 30 s on 16 cores; the library chain (runtime -> kernels ->
#                         layers -> models -> test links) makes it ~1.5 min
#   tests       120  ~60  every GpuParity* test (now on the real GPU) and the other suites of the test files that
#                         ask for the GPU (parity_device, AD_REQUIRE_GPU, cuda_available), minus the CPU-only kinds
#                         (Emulated*, GradCheck*, Golden*, IoErrors*: CI runs them; but EmulatedDevice, which
#                         counts the CUDA device's copies and launches too); 8 binaries at a time. Here (emulated,
#                         2 loaded cores): 51 s
#   sanitizer   100  ~90  compute-sanitizer memcheck (allocator in its exact-size debug mode) and racecheck on the
#                         GpuParity* tests of SANITIZE_TESTS (kernels with shared memory or atomics), all 12 runs
#                         at once, each capped at 90 s (a run that times out is reported so, not as clean)
#   model_steps 180 ~150  tools/sweeps/gpu_model_steps.sh: DC-VAE and AnomalyDAE training step and inference, ours
#                         vs PyTorch eager and torch.compile on the same shapes (torch.compile's compiles: most of it)
#   conv         45  ~30  tools/sweeps/gpu_conv_vs_cudnn.sh
#   gat          60  ~45  tools/sweeps/gpu_graph_attention.sh
#   largest      60  ~60  tools/sweeps/gpu_anomalydae_largest.sh up to 1e6 nodes (MAX_NODES), 40 s a size
#   bench        45  ~30  every other bench_* binary's /cuda cases, 0.05 s each
# The estimates add up to ~10 minutes, more than the 8-minute budget on purpose: the budget ends the run (the last
# phases are then reported as "skipped: time budget spent"), the caps stop a hang. Device call (README, "GPU check"):
#   run {"command": "bash tools/gpu_check.sh", "carry": [".device_deps"], "timeout_s": 540}
#
#   bash tools/gpu_check.sh --dry-run            # no GPU needed: prints the probes and what each phase would run
#   bash tools/gpu_check.sh                      # on the GPU machine ($OUT set by the device tool)
#   bash tools/gpu_check.sh --phases tests,sanitizer   # a rerun of some phases on a warm machine (build kept)
# Options: --dry-run, --phases LIST (comma-separated; build and configure are added when a selected phase needs
# binaries and build-gpu/ lacks them), --allow-no-gpu (run the phases without a GPU: the sweeps then measure
# nothing; for testing this script), --force-deps (use .device_deps even when the system has the packages).
# Environment: OUT (default gpu_check_out), GPU_CHECK_BUDGET_S (480), GPU_CHECK_BUILD (build-gpu), DEPS_PREFIX,
# SANITIZE_TESTS, SANITIZE_TOOLS (default memcheck racecheck), GPU_TESTS (narrow the tests phase to these test
# binaries), JOBS (default nproc), and the sweeps' own (MIN_TIME, NODES, NO_COMPILE=1 for gpu_model_steps.sh; MAX_NODES for the largest-graph sweep).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
self="$repo/tools/gpu_check.sh"
export PATH="$PATH:/usr/local/cuda/bin:/usr/local/nvidia/bin"  # nvcc, compute-sanitizer; nvidia-smi (driver mount)

all_phases=(probe deps configure build tests sanitizer model_steps conv gat largest bench)
declare -A cap=([probe]=20 [deps]=30 [configure]=60 [build]=240 [tests]=120 [sanitizer]=100 [model_steps]=180
                [conv]=45 [gat]=60 [largest]=60 [bench]=45)
export SANITIZE_TESTS=${SANITIZE_TESTS:-"test_reduce test_softmax test_dilated_conv1d test_batchnorm1d test_recon_loss test_graph_attention"}
export SANITIZE_TOOLS=${SANITIZE_TOOLS:-"memcheck racecheck"}  # synccheck, initcheck: for a rerun
export GPU_CHECK_BUILD=${GPU_CHECK_BUILD:-$repo/build-gpu}
export DEPS_PREFIX=${DEPS_PREFIX:-/tmp/ad_deps}
export DEPS_DIR=$repo/.device_deps
export JOBS=${JOBS:-$(nproc)}
export GPU_CHECK_OUT=${OUT:-$repo/gpu_check_out}
export GPU_CHECK_WORK=${GPU_CHECK_WORK:-/tmp/gpu_check_work}
# Headers of tools/setup.sh's -dev packages: one missing means the image lacks our packages, and then the whole
# set comes from .device_deps (one consistent set, the one tried on the workplace machine).
dev_headers=(/usr/include/nlohmann/json.hpp /usr/include/CLI/CLI.hpp /usr/include/gtest/gtest.h
             /usr/include/gmock/gmock.h /usr/include/benchmark/benchmark.h /usr/include/zlib.h)

# ---------------------------------------------------------------------------------------------------------
# The environment every phase shares (also sourced by the phase bodies, which run as `$self --phase-body`).
deps_env() {
  if [ -f "$GPU_CHECK_WORK/deps.env" ]; then source "$GPU_CHECK_WORK/deps.env"; fi
}
pick_python() {
  # The Python whose torch the sweeps time and that draws their PNGs: the GPU image's python3 is
  # /opt/torch/.venv/bin/python3 (torch, matplotlib); /usr/bin/python3 there may have neither.
  for py in "${AD_PYTHON:-}" python3 /opt/torch/.venv/bin/python3 /usr/bin/python3; do
    [ -n "$py" ] || continue
    if "$py" -c "import torch, matplotlib" >/dev/null 2>&1; then command -v "$py"; return 0; fi
  done
  command -v python3 || echo /usr/bin/python3
}
[ "${1:-}" = --phase-body ] || { AD_PYTHON=$(pick_python); export AD_PYTHON PYTHON=$AD_PYTHON; }
gpu_arch() {  # "90" on an H200; 90 assumed without a GPU (dry run)
  local a
  a=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
  echo "${a:-90}"
}
have_gpu() { nvidia-smi -L 2>/dev/null | grep -q '^GPU'; }

# The test binaries the tests phase runs, and the suites it runs in them (see the header).
gpu_test_files() {  # GPU_TESTS="test_a test_b" narrows it (a rerun)
  grep -lE 'parity_device\(\)|AD_REQUIRE_GPU\(\)|cuda_available\(\)' "$repo"/tests/*/test_*.cpp |
    if [ -n "${GPU_TESTS:-}" ]; then grep -E "/($(echo $GPU_TESTS | tr ' ' '|'))\.cpp$"; else cat; fi
}
gpu_test_targets() { for f in $(gpu_test_files); do basename "$f" .cpp; done; }
gpu_test_filter() {  # gtest filter for one test source file
  grep -ohE '^(TEST|TEST_F|TEST_P)\( *[A-Za-z0-9_]+' "$1" | sed -E 's/.*\( *//' | sort -u |
    awk '$0 == "EmulatedDevice" || $0 !~ /^(Emulated|GradCheck|Golden|IoErrors)/' | sed 's/$/.*/' | paste -sd: -
}
bench_targets() { for f in "$repo"/experiments/benchmarks/bench_*.cpp; do basename "$f" .cpp; done; }

targets_for() {  # build targets the given phases need
  local t=()
  for p in "$@"; do
    case $p in
      tests) t+=($(gpu_test_targets)) ;;
      sanitizer) t+=($SANITIZE_TESTS) ;;
      model_steps) t+=(bench_dcvae bench_anomalydae) ;;
      conv) t+=(bench_conv) ;;
      gat) t+=(bench_graph) ;;
      largest) t+=(bench_anomalydae) ;;
      bench) t+=($(bench_targets)) ;;
    esac
  done
  printf '%s\n' "${t[@]}" | sort -u | paste -sd' ' -
}

# ---------------------------------------------------------------------------------------------------------
# Phase bodies: each runs in its own process under `timeout`, writes its log to stdout and one line of result
# to $GPU_CHECK_WORK/<phase>.result.
body_probe() {
  local r=$GPU_CHECK_WORK/probe.result
  echo "== date: $(date -u)"; echo "== uname: $(uname -a)"; grep PRETTY /etc/os-release
  echo "== nproc: $(nproc)"; free -g | head -2
  echo "== nvidia-smi"; nvidia-smi 2>&1 | head -15
  echo "== nvcc: $(command -v nvcc)"; nvcc --version 2>&1 | tail -2
  echo "== g++: $(command -v g++)"; g++ --version 2>&1 | head -1
  echo "== cmake: $(command -v cmake) $(cmake --version 2>&1 | head -1)"; echo "== ninja: $(command -v ninja)"
  echo "== compute-sanitizer: $(command -v compute-sanitizer)"
  local py=$AD_PYTHON tv
  tv=$("$py" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -1)
  echo "== python: $py: $tv"
  echo "== cuDNN headers/libraries:"
  ls /usr/include/cudnn.h /usr/include/*/cudnn.h /usr/local/cuda/include/cudnn.h /usr/lib/*/libcudnn.so* \
     /usr/local/cuda/lib*/libcudnn.so* 2>/dev/null
  "$py" -c 'import nvidia.cudnn as m; print("wheel:", m.__path__[0])' 2>&1 | tail -1
  echo "== cuBLAS/cuSPARSE:"; ls /usr/local/cuda/lib64/libcublas.so /usr/local/cuda/lib64/libcusparse.so 2>&1
  echo "== our packages (missing headers):"
  for h in "${dev_headers[@]}"; do [ -f "$h" ] || echo "  missing $h"; done
  [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] || echo "  missing cblas.h"
  local gpu; gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
  echo "${gpu:-no GPU}; nvcc $(nvcc --version 2>/dev/null | grep -oE 'release [0-9.]+' | cut -d' ' -f2); g++ $(g++ -dumpfullversion 2>/dev/null); python $tv" > "$r"
}

body_deps() {
  local r=$GPU_CHECK_WORK/deps.result env=$GPU_CHECK_WORK/deps.env missing=()
  : > "$env"
  for h in "${dev_headers[@]}"; do [ -f "$h" ] || missing+=("$h"); done
  [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] || missing+=(cblas.h)
  if [ ${#missing[@]} -gt 0 ] || [ "${FORCE_DEPS:-0}" = 1 ]; then
    echo "missing: ${missing[*]:-none (forced)}"
    ls "$DEPS_DIR"/*.deb >/dev/null 2>&1 ||
      { echo "no .debs in $DEPS_DIR: run tools/device_deps.sh on the workplace machine and carry .device_deps"; echo "FAILED: no .device_deps" > "$r"; return 1; }
    command -v dpkg >/dev/null || { echo "no dpkg"; echo "FAILED: no dpkg" > "$r"; return 1; }
    rm -rf "$DEPS_PREFIX" && mkdir -p "$DEPS_PREFIX"
    local f
    for f in "$DEPS_DIR"/*.deb; do dpkg -x "$f" "$DEPS_PREFIX" || { echo "FAILED: dpkg -x $f" > "$r"; return 1; }; done
    # dpkg -x runs no maintainer scripts: make the links update-alternatives would (OpenBLAS's libopenblas.so,
    # cblas.h), and point absolute links (libz.so -> /lib/...) into the prefix.
    local p=$DEPS_PREFIX/usr a=x86_64-linux-gnu l t
    ln -sf openblas-pthread/libopenblas.so "$p/lib/$a/libopenblas.so"
    ln -sf openblas-pthread/libopenblas.so.0 "$p/lib/$a/libopenblas.so.0"
    ln -sf openblas-pthread/cblas.h "$p/include/$a/cblas.h"
    while IFS= read -r l; do
      t=$(readlink "$l")
      [ -e "$DEPS_PREFIX$t" ] && ln -sfn "$DEPS_PREFIX$t" "$l"
    done < <(find "$DEPS_PREFIX" -type l -lname '/*')
    local libs="$DEPS_PREFIX/lib/$a:$p/lib/$a:$p/lib/$a/openblas-pthread"
    cat >> "$env" <<ENVEOF
export CMAKE_PREFIX_PATH="$p\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}"
export CPATH="$p/include:$p/include/$a\${CPATH:+:\$CPATH}"
export LIBRARY_PATH="$libs\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
ENVEOF
    echo "unpacked $(ls "$DEPS_DIR"/*.deb | wc -l) .debs into $DEPS_PREFIX ($(du -sh "$DEPS_PREFIX" | cut -f1))"
    echo "packages from .device_deps ($(ls "$DEPS_DIR"/*.deb | wc -l) .debs into $DEPS_PREFIX)" > "$r"
  else
    echo "system packages (all headers present)" > "$r"
  fi
  # cuDNN: the CUDA toolkit's, else the python3 wheel's (torch's own cuDNN; the wheel has no unversioned
  # libcudnn.so, so a link in the prefix gives find_library one).
  local inc
  inc=$(ls -d /usr/local/cuda/include/cudnn.h /usr/include/cudnn.h /usr/include/*/cudnn.h 2>/dev/null | head -1)
  if [ -z "$inc" ]; then
    local py=$AD_PYTHON w so
    w=$("$py" -c 'import nvidia.cudnn as m; print(m.__path__[0])' 2>/dev/null)
    so=$(ls "$w"/lib/libcudnn.so.* 2>/dev/null | head -1)
    if [ -n "$w" ] && [ -f "$w/include/cudnn.h" ] && [ -n "$so" ]; then
      mkdir -p "$DEPS_PREFIX/cudnn/lib"
      ln -sf "$so" "$DEPS_PREFIX/cudnn/lib/libcudnn.so"
      cat >> "$env" <<ENVEOF
export AD_CUDNN_ARGS="-DCUDNN_INCLUDE_DIR=$w/include -DCUDNN_LIBRARY=$DEPS_PREFIX/cudnn/lib/libcudnn.so"
export LD_LIBRARY_PATH="$w/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
ENVEOF
      echo "cuDNN from the wheel at $w"; echo "$(cat "$r"); cuDNN from $w" > "$r"
    else
      echo "no cuDNN found (toolkit or wheel): configure will fail on CUDNN_INCLUDE_DIR"
    fi
  fi
  cat "$env"
}

body_configure() {
  deps_env
  local gen=() arch
  command -v ninja >/dev/null && gen=(-G Ninja)
  [ -f "$GPU_CHECK_BUILD/CMakeCache.txt" ] && grep -q 'CMAKE_GENERATOR:INTERNAL=Unix Makefiles' "$GPU_CHECK_BUILD/CMakeCache.txt" && gen=()
  arch=$(gpu_arch)
  # shellcheck disable=SC2086
  cmake -S "$repo" -B "$GPU_CHECK_BUILD" "${gen[@]}" -DAD_CUDA=ON -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_CUDA_ARCHITECTURES=${arch}-real" -DAD_RUN_PROGRAMS_IN_SOURCE=OFF ${AD_CUDNN_ARGS:-} ${EXTRA_CMAKE_ARGS:-}
  local rc=$?
  grep -E '^(nlohmann_json_DIR|CLI11_DIR|GTest_DIR|benchmark_DIR|BLAS_openblas_LIBRARY|CBLAS_INCLUDE_DIR|ZLIB_INCLUDE_DIR|ZLIB_LIBRARY_RELEASE|CUDNN_INCLUDE_DIR|CUDNN_LIBRARY|CMAKE_CUDA_COMPILER|CMAKE_CXX_COMPILER):' \
    "$GPU_CHECK_BUILD/CMakeCache.txt" 2>/dev/null | tee "$GPU_CHECK_WORK/configure.found"
  local from="the system"
  grep -q "^nlohmann_json_DIR:PATH=$DEPS_PREFIX" "$GPU_CHECK_WORK/configure.found" && from="$DEPS_PREFIX"
  [ $rc = 0 ] && echo "sm_${arch}; packages from $from; $(grep -oE 'CUDNN_LIBRARY:FILEPATH=.*' "$GPU_CHECK_WORK/configure.found")" > "$GPU_CHECK_WORK/configure.result"
  return $rc
}

body_build() {
  deps_env
  local t; t=$(cat "$GPU_CHECK_WORK/targets")
  echo "targets: $t"
  local s; s=$(date +%s)
  # shellcheck disable=SC2086
  cmake --build "$GPU_CHECK_BUILD" -j"$JOBS" --target $t
  local rc=$?
  echo "$(wc -w < "$GPU_CHECK_WORK/targets") targets in $(($(date +%s) - s)) s, -j$JOBS" > "$GPU_CHECK_WORK/build.result"
  return $rc
}

# One test binary of the tests phase: its GPU suites, a line "binary passed failed skipped seconds".
run_one_test() {
  local src=$1 name bin filter s
  name=$(basename "$src" .cpp); bin=$(find "$GPU_CHECK_BUILD/tests" -maxdepth 1 -name "$name" -type f | head -1)
  [ -x "$bin" ] || { echo "$name 0 missing 0 0"; return; }
  filter=$(gpu_test_filter "$src"); s=$(date +%s)
  AD_SOURCE_DIR=$repo timeout 100 "$bin" --gtest_filter="$filter" > "$GPU_CHECK_WORK/tests/$name.log" 2>&1
  local rc=$? log=$GPU_CHECK_WORK/tests/$name.log
  local pass fail skip
  # Per-test lines end in "(N ms)"; gtest's closing lists of skipped and failed tests do not.
  pass=$(grep -cE '^\[       OK \] .* \([0-9]+ ms\)$' "$log"); fail=$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$log")
  skip=$(grep -cE '^\[  SKIPPED \] .* \([0-9]+ ms\)$' "$log")
  if [ $rc = 124 ]; then fail="$fail+timeout"; elif [ $rc != 0 ] && [ "$fail" = 0 ]; then fail="exit-$rc"; fi
  echo "$name $pass $fail $skip $(($(date +%s) - s))"
}
body_tests() {
  deps_env
  mkdir -p "$GPU_CHECK_WORK/tests"
  export -f run_one_test gpu_test_filter
  export repo
  # Lines go to the table as binaries finish, so a phase cut by its timeout still reports what ran.
  gpu_test_files | xargs -P "$(( JOBS > 8 ? 8 : JOBS ))" -I{} bash -c 'run_one_test {}' >> "$GPU_CHECK_WORK/tests.table"
  sort "$GPU_CHECK_WORK/tests.table"
  grep -h 'parity   \] device' "$GPU_CHECK_WORK"/tests/*.log | sort | uniq -c | head -3
  grep -hB2 -A12 'Failure$' "$GPU_CHECK_WORK"/tests/*.log | head -80
  ! awk '$3 != "0" {bad=1} END {exit !bad}' "$GPU_CHECK_WORK/tests.table"
}
summarize_tests() {  # "binary passed failed skipped seconds" lines -> one result line
  awk -v all="$(gpu_test_files | wc -l)" '{n++; p+=$2; f+=($3+0); s+=$4; if ($3 != "0") bad=bad" "$1"("$3")"}
    END {printf "%d/%d binaries: %d passed, %d failed, %d skipped%s\n", n, all, p, f, s, (bad ? "; failing:" bad : "")}' \
    "$GPU_CHECK_WORK/tests.table" 2>/dev/null
}

run_one_sanitizer() {  # "tool binary": one line "tool binary clean|errors|timed out|missing"
  local tool=$1 name=$2 bin log
  bin="$GPU_CHECK_BUILD/tests/$name"; log="$GPU_CHECK_WORK/sanitizer/${tool}_$name.log"
  [ -x "$bin" ] || { echo "$tool $name missing"; return; }
  AD_SOURCE_DIR=$repo AD_CUDA_ALLOCATOR_DEBUG=1 timeout 90 compute-sanitizer --tool "$tool" --error-exitcode 9 \
    "$bin" --gtest_filter='GpuParity*' > "$log" 2>&1
  local rc=$?
  case $rc in 0) echo "$tool $name clean" ;; 124) echo "$tool $name timed-out" ;;
    9) echo "$tool $name errors:$(grep -m1 -oE 'ERROR SUMMARY: [0-9]+' "$log" | grep -oE '[0-9]+$')" ;;
    *) echo "$tool $name test-failed(rc:$rc)" ;; esac
}
body_sanitizer() {
  deps_env
  command -v compute-sanitizer >/dev/null || { echo "no compute-sanitizer on PATH" | tee "$GPU_CHECK_WORK/sanitizer.table"; return 1; }
  mkdir -p "$GPU_CHECK_WORK/sanitizer"
  export -f run_one_sanitizer; export repo
  # All runs at once (12 by default: 16 cores, one GPU with room for 12 contexts), each under its own timeout.
  for t in $SANITIZE_TESTS; do for tool in $SANITIZE_TOOLS; do echo "$tool $t"; done; done |
    xargs -P 12 -L1 bash -c 'run_one_sanitizer "$0" "$1"' >> "$GPU_CHECK_WORK/sanitizer.table"
  sort "$GPU_CHECK_WORK/sanitizer.table"
  for f in "$GPU_CHECK_WORK"/sanitizer/*.log; do grep -q 'ERROR SUMMARY: [1-9]' "$f" && { echo "== $f"; grep -m3 -A12 '^=========.*Invalid\|^=========.*[Hh]azard\|Race' "$f"; }; done
  ! grep -vq ' clean$' "$GPU_CHECK_WORK/sanitizer.table"
}
summarize_sanitizer() {
  grep -q '^no compute-sanitizer' "$GPU_CHECK_WORK/sanitizer.table" 2>/dev/null && { cat "$GPU_CHECK_WORK/sanitizer.table"; return; }
  awk -v all="$(( $(echo $SANITIZE_TESTS | wc -w) * $(echo $SANITIZE_TOOLS | wc -w) ))" '{n++; if ($3=="clean") c++; else bad=bad" "$1":"$2"="$3}
    END {printf "%d/%d runs clean (%d finished)%s\n", c, all, n, bad}' "$GPU_CHECK_WORK/sanitizer.table" 2>/dev/null
}

sweep() {  # sweep script, then its one-line result: the last line of its table or its skip line
  deps_env
  local name=$1; shift
  env "$@" bash "$repo/tools/sweeps/$name.sh" "$GPU_CHECK_BUILD" "$GPU_CHECK_WORK/sweeps" 2>&1 | tee "$GPU_CHECK_WORK/$name.out"
  local rc=${PIPESTATUS[0]}
  if [ -f "$GPU_CHECK_WORK/sweeps/$name.md" ]; then echo "table in the summary below (sweeps/$name.md, .png)"
  else grep -v '^$' "$GPU_CHECK_WORK/$name.out" | tail -1 | cut -c1-160; fi > "$GPU_CHECK_WORK/$(phase_of "$name").result"
  return $rc
}
phase_of() { case $1 in gpu_model_steps) echo model_steps ;; gpu_conv_vs_cudnn) echo conv ;;
  gpu_graph_attention) echo gat ;; gpu_anomalydae_largest) echo largest ;; esac; }
body_model_steps() { sweep gpu_model_steps; }
body_conv() { sweep gpu_conv_vs_cudnn; }
body_gat() { sweep gpu_graph_attention; }
body_largest() { sweep gpu_anomalydae_largest MAX_NODES="${MAX_NODES:-1000000}" SIZE_TIMEOUT_S=40; }

body_bench() {
  deps_env
  local done_by_sweeps="bench_conv bench_graph bench_dcvae bench_anomalydae" ok=0 n=0 b
  mkdir -p "$GPU_CHECK_WORK/bench"
  for b in $(bench_targets); do
    case " $done_by_sweeps " in *" $b "*) continue ;; esac
    [ -x "$GPU_CHECK_BUILD/experiments/$b" ] || continue
    n=$((n + 1))
    timeout 30 "$GPU_CHECK_BUILD/experiments/$b" --benchmark_filter='cuda' --benchmark_min_time=0.05 \
      --benchmark_out="$GPU_CHECK_WORK/bench/$b.json" --benchmark_out_format=json > "$GPU_CHECK_WORK/bench/$b.txt" 2>&1 &&
      ok=$((ok + 1))
    echo "$b: $(grep -c '/cuda' "$GPU_CHECK_WORK/bench/$b.txt") cuda rows"
  done
  echo "$ok/$n binaries ran, $(cat "$GPU_CHECK_WORK"/bench/*.txt 2>/dev/null | grep -c '/cuda') /cuda rows (bench/*.txt, .json)" > "$GPU_CHECK_WORK/bench.result"
}

# ---------------------------------------------------------------------------------------------------------
if [ "${1:-}" = --phase-body ]; then
  ps -o sid= $$ | tr -d ' ' > "$GPU_CHECK_WORK/$2.sid"  # its own session (setsid): see run_phase
  "body_$2"
  exit $?
fi

dry=0; allow_no_gpu=0; sel=""
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry=1 ;;
    --allow-no-gpu) allow_no_gpu=1 ;;
    --force-deps) export FORCE_DEPS=1 ;;
    --phases) sel=$2; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "error: gpu_check.sh: unknown option $1 (see --help)"; exit 1 ;;
  esac
  shift
done
declare -A on=()
if [ -z "$sel" ]; then for p in "${all_phases[@]}"; do on[$p]=1; done; else
  IFS=, read -r -a want <<< "$sel"
  for w in "${want[@]}"; do
    [ -n "${cap[$w]:-}" ] || { echo "error: gpu_check.sh: unknown phase $w (${all_phases[*]})"; exit 1; }
    on[$w]=1
  done
  on[probe]=1; on[deps]=1  # the later phases need the environment these two set up
fi
if ! have_gpu && [ $dry = 0 ] && [ $allow_no_gpu = 0 ]; then
  echo "gpu_check: no GPU (nvidia-smi lists none): nothing run; --dry-run prints the plan, --allow-no-gpu runs it anyway"
  exit 0
fi

budget=${GPU_CHECK_BUDGET_S:-480}
t0=$(date +%s)
out=$GPU_CHECK_OUT work=$GPU_CHECK_WORK
mkdir -p "$work"; [ $dry = 1 ] || mkdir -p "$out"
[ $dry = 1 ] || rm -rf "${work:?}"/* "$out/gpu_check_summary.md" "$out/gpu_check_logs.tar.gz"
mkdir -p "$work/sweeps"
rows=()
sanitize_row() { printf '%s' "$1" | tr '|' '/'; }
write_summary() {
  {
    echo "# GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "$(cat "$work/probe.result" 2>/dev/null || echo 'no probe')"
    echo "Budget ${budget} s; $(( $(date +%s) - t0 )) s used. Logs: gpu_check_logs.tar.gz (tar xzf; one folder per phase)."
    echo
    echo "| phase | status | seconds (cap) | result |"
    echo "|---|---|---:|---|"
    printf '%s\n' "${rows[@]}"
    for f in "$work"/sweeps/*.md; do [ -f "$f" ] && { echo; echo "## $(basename "$f" .md)"; echo; cat "$f"; }; done
    for p in "${failed_phases[@]}"; do echo; echo "## $p: last lines of its log"; echo '```'; tail -25 "$work/$p.log"; echo '```'; done
  } > "$out/gpu_check_summary.md"
  # One tarball of everything, logs over 2 MB cut to their first and last 2000 lines (the tarball must stay
  # under the 16 MiB a returned file may have).
  find "$work" -name '*.log' -size +2M | while read -r f; do
    { head -2000 "$f"; echo "... cut by gpu_check.sh ..."; tail -2000 "$f"; } > "$f.cut" && mv "$f.cut" "$f"; done
  tar -C "$work" -czf "$out/gpu_check_logs.tar.gz" . 2>/dev/null
}
failed_phases=()

run_phase() {
  local p=$1 now left lim s rc st
  now=$(date +%s); left=$((t0 + budget - now - 10))
  lim=${cap[$p]}; [ "$left" -lt "$lim" ] && lim=$left
  if [ $dry = 1 ]; then
    echo "[dry-run] phase $p (timeout ${cap[$p]} s): $(describe "$p")"
    rows+=("| $p | dry-run | (${cap[$p]}) | $(sanitize_row "$(describe "$p")") |")
    return 0
  fi
  if [ "$lim" -lt 5 ]; then rows+=("| $p | skipped: time budget spent | 0 (${cap[$p]}) | |"); write_summary; return 1; fi
  s=$(date +%s)
  # Each phase in its own session, so that what a timeout leaves (a test under its own `timeout`, which makes
  # its own process group) is ended with it before the next phase times anything.
  timeout -k 5 "$lim" setsid -w bash "$self" --phase-body "$p" > "$work/$p.log" 2>&1
  rc=$?
  local sid; sid=$(cat "$work/$p.sid" 2>/dev/null)
  if [ -n "$sid" ] && [ "$sid" != "$(ps -o sid= $$ | tr -d ' ')" ]; then pkill -KILL -s "$sid" 2>/dev/null; fi
  case $rc in 0) st=ok ;; 124|137) st="TIMED OUT" ;; *) st="FAILED (rc $rc)" ;; esac
  [ $rc = 0 ] || failed_phases+=("$p")
  if declare -F "summarize_$p" >/dev/null; then "summarize_$p" > "$work/$p.result"; fi
  rows+=("| $p | $st | $(( $(date +%s) - s )) (${cap[$p]}) | $(sanitize_row "$(cat "$work/$p.result" 2>/dev/null)") |")
  echo "gpu_check: $p: $st in $(( $(date +%s) - s )) s: $(cat "$work/$p.result" 2>/dev/null)"
  write_summary
  return $rc
}
describe() {
  case $1 in
    probe) echo "GPU: $(nvidia-smi -L 2>/dev/null | head -1 | grep . || echo none found); nvcc $(command -v nvcc); g++ $(command -v g++); python $AD_PYTHON" ;;
    deps) local m=0; for h in "${dev_headers[@]}"; do [ -f "$h" ] || m=$((m + 1)); done
          echo "$m of ${#dev_headers[@]} headers missing; $( [ $m -gt 0 ] || [ "${FORCE_DEPS:-0}" = 1 ] && echo "dpkg -x $(ls "$DEPS_DIR"/*.deb 2>/dev/null | wc -l) .debs of .device_deps into $DEPS_PREFIX" || echo "system packages")" ;;
    configure) echo "cmake -S . -B $GPU_CHECK_BUILD -G Ninja -DAD_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$(gpu_arch)-real" ;;
    build) echo "cmake --build -j$JOBS --target $(cat "$work/targets")" ;;
    tests) echo "$(gpu_test_files | wc -l) binaries: GpuParity* and the other GPU suites, 8 at a time" ;;
    sanitizer) echo "$SANITIZE_TOOLS on the GpuParity* tests of: $SANITIZE_TESTS" ;;
    model_steps) echo "tools/sweeps/gpu_model_steps.sh" ;;
    conv) echo "tools/sweeps/gpu_conv_vs_cudnn.sh" ;;
    gat) echo "tools/sweeps/gpu_graph_attention.sh" ;;
    largest) echo "tools/sweeps/gpu_anomalydae_largest.sh, MAX_NODES ${MAX_NODES:-1000000}" ;;
    bench) echo "the /cuda cases of the other bench_* binaries" ;;
  esac
}

# Build only what the selected phases run; configure and build join a partial selection when its binaries (or
# the build folder) are missing.
targets_for "${!on[@]}" > "$work/targets"
for t in $(cat "$work/targets"); do
  [ -n "$(find "$GPU_CHECK_BUILD" -name "$t" -type f -perm -u+x 2>/dev/null | head -1)" ] || on[build]=1
done
[ -n "${on[build]:-}" ] && [ ! -f "$GPU_CHECK_BUILD/CMakeCache.txt" ] && on[configure]=1
selected=()
for p in "${all_phases[@]}"; do [ -n "${on[$p]:-}" ] && selected+=("$p"); done
echo "gpu_check: phases ${selected[*]}; budget ${budget} s; out $out"
for p in "${selected[@]}"; do
  run_phase "$p"
  rc=$?
  # Nothing after a failed configure or build can run.
  if [ $rc != 0 ] && { [ "$p" = configure ] || [ "$p" = build ] || [ "$p" = deps ]; }; then
    rows+=("| (rest) | not run: $p failed | | |"); write_summary; break
  fi
done
[ $dry = 1 ] && { echo "[dry-run] output would be: $out/gpu_check_summary.md and $out/gpu_check_logs.tar.gz"; printf '%s\n' "${rows[@]}"; exit 0; }
write_summary
echo
echo "== gpu_check summary ($out/gpu_check_summary.md) =="
sed -n '/^| phase/,/^$/p' "$out/gpu_check_summary.md"
for p in "${failed_phases[@]}"; do echo "== $p (failed): last lines"; tail -15 "$work/$p.log"; done
[ ${#failed_phases[@]} = 0 ]
