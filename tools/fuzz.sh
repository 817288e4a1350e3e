#!/usr/bin/env bash
# Fuzzes each binary-format loader with libFuzzer (Debian's clang), seeded from the bad-input corpus.
#   tools/fuzz.sh [seconds per loader (default 600)] [loaders...]
#   loaders: npy safetensors zip csr json_settings glead_log deepsphere muad
# Builds build-fuzz/fuzz_<loader> (address + undefined sanitizers), runs each for the given time with one
# worker, and leaves findings in build-fuzz/findings/<loader>/ (crash-*, timeout-*, oom-*). Turn each finding
# into a case folder tests/bad_inputs/fuzz_<loader>_<n>/ (case.json + the input) once it is fixed.
# The clang package: apt-get install clang (libFuzzer ships with it).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
loaders=("$@")
[ ${#loaders[@]} -eq 0 ] && loaders=(npy safetensors zip csr json_settings glead_log deepsphere muad)
command -v clang++ >/dev/null || { echo "clang++ not found: apt-get install clang" >&2; exit 1; }

out=build-fuzz
mkdir -p "$out/obj"
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -I.)
sources=(runtime/checked.cpp runtime/csr.cpp runtime/fs_util.cpp runtime/json.cpp runtime/memory.cpp
         runtime/npy.cpp runtime/safetensors.cpp runtime/settings.cpp runtime/tensor.cpp runtime/zip.cpp
         runtime/csv.cpp models/dcvae/settings.cpp models/glead/data.cpp models/glead/synthetic.cpp
         models/deepsphere/data.cpp models/muad/data.cpp)
objs=()
for s in "${sources[@]}"; do
  o="$out/obj/$(echo "$s" | tr / _).o"
  # Rebuilt when the source or any header it may include changed (a stale object against a changed struct
  # layout crashes in ways that are not the loader's).
  if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ -n "$(find runtime models -name '*.h' -newer "$o" | head -1)" ]; then
    clang++ "${flags[@]}" -fsanitize=fuzzer-no-link -DAD_WITH_CUDA=0 -c "$s" -o "$o"
  fi
  objs+=("$o")
done

# Seeds: every file of the corpus cases that use this loader (and the committed good fixtures).
seed_dir() {
  local name=$1 dir="$out/seeds/$1"
  rm -rf "$dir"; mkdir -p "$dir"
  case $name in
    npy) find tests/bad_inputs tests/golden -name '*.npy' -exec cp {} "$dir/" \; 2>/dev/null || true ;;
    safetensors) find tests/bad_inputs tests/golden -name '*.safetensors' -exec cp --backup=numbered {} "$dir/" \; 2>/dev/null || true ;;
    zip) find tests/bad_inputs tests/data/zip -name '*.zip' -exec cp --backup=numbered {} "$dir/" \; 2>/dev/null || true ;;
    csr) i=0; for c in tests/bad_inputs/csr_*; do  # rows, cols, then the three files with length prefixes
           python3 - "$c" "$dir/seed_$i" <<'PY'
import sys, os
c, out = sys.argv[1], sys.argv[2]
parts = [open(os.path.join(c, n), "rb").read() for n in ("indptr.npy", "indices.npy", "data.npy")]
# FuzzedDataProvider reads integral values from the END of the data and strings from the start,
# with a backslash escaping the next byte as the string terminator; this seed is a reasonable start.
def s(b): return b.replace(b"\\", b"\\\\") + b"\\x"
open(out, "wb").write(s(parts[0]) + s(parts[1]) + parts[2] + bytes([3, 2]))
PY
           i=$((i + 1)); done ;;
    glead_log) i=0  # the loghub CSVs (mode byte 0) and sessions files (mode byte 1) of the corpus
           for f in $(find tests/bad_inputs -path '*glead*' \( -name '*structured*.csv' -o -name '*.log_structured.csv' \)); do
             t=$(dirname "$f")/templates.csv; [ -f "$t" ] || t=-
             python3 tools/fuzz/pack_seed.py "$dir/seed_$i" 0a14c800 "$f" "$t"; i=$((i + 1)); done
           for f in $(find tests/bad_inputs -path '*glead*' -type f -name '*sessions*'); do
             python3 tools/fuzz/pack_seed.py "$dir/seed_$i" 0a14c801 "$f"; i=$((i + 1)); done ;;
    deepsphere) i=0
           for c in $(find tests/bad_inputs -path '*deepsphere*' -name 'data.npy' -printf '%h\n' | sort -u); do
             l=$c/labels.csv; [ -f "$l" ] || l=-; v=$c/deviations.csv; [ -f "$v" ] || v=-
             python3 tools/fuzz/pack_seed.py "$dir/seed_$i" "" "$c/data.npy" "$l" "$v"; i=$((i + 1)); done ;;
    muad) i=0
           for c in $(find tests/bad_inputs -path '*muad*' -name 'chunks.csv' -printf '%h\n' | sort -u); do
             args=(); for n in services.csv edges.csv chunks.csv metrics.npy traces.npy logs.npy; do
               if [ -f "$c/$n" ]; then args+=("$c/$n"); else args+=(-); fi; done
             python3 tools/fuzz/pack_seed.py "$dir/seed_$i" "" "${args[@]}"; i=$((i + 1)); done ;;
    json_settings) find tests/bad_inputs settings -name '*.json' -size -64k ! -name case.json -exec cp --backup=numbered {} "$dir/" \; ;;
  esac
  echo "$dir"
}

for name in "${loaders[@]}"; do
  define=AD_FUZZ_$(echo "$name" | tr a-z A-Z)
  bin="$out/fuzz_$name"
  clang++ "${flags[@]}" -fsanitize=fuzzer -D"$define" -DAD_WITH_CUDA=0 tools/fuzz/fuzz_loaders.cpp "${objs[@]}" -lz -o "$bin"
  seeds=$(seed_dir "$name")
  work="$out/work/$name"; findings="$out/findings/$name"
  mkdir -p "$work" "$findings"
  echo "== $name: $(ls "$seeds" | wc -l) seeds, ${seconds}s"
  start=$(date +%s)
  "$bin" "$work" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$findings/" -print_final_stats=1 > "$out/$name.log" 2>&1 || true
  echo "== $name: ran $(( $(date +%s) - start ))s, $(grep -c '^#' "$out/$name.log" || true) status lines," \
       "$(ls "$findings" | wc -l) findings, corpus $(ls "$work" | wc -l) inputs"
  grep -E "stat::number_of_executed_units|SUMMARY" "$out/$name.log" || true
done
