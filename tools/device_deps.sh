#!/usr/bin/env bash
# Downloads, on a machine with apt (this workplace's Debian 12), the .debs tools/gpu_check.sh needs on a GPU machine
# whose image lacks our Debian dev packages and cannot reach a package mirror (the lent H200: Ubuntu 24.04, no
# network). The files land in .device_deps/ (ignored by git); pass it in the device run's `carry` list and
# tools/gpu_check.sh unpacks them with `dpkg -x` into a private prefix (never into /) when a header it needs is
# missing there. About 14 MiB (the travelling tree's limit is 64 MiB).
#   bash tools/device_deps.sh            # (re)downloads into .device_deps/ and lists what is there
# Why these: tools/setup.sh's build dependencies (find_package in CMakeLists.txt, experiments/, tests/) and the
# runtime libraries they need that a bare Ubuntu/Debian image with g++ may lack (libopenblas0-pthread's
# libgfortran5 and libquadmath0; zlib1g for libz.so's link target). Not carried: the libc/libstdc++/libgcc/libgomp
# of the image's own g++ (Debian 12's libraries ask for glibc <= 2.36 and GLIBCXX of GCC 12; Ubuntu 24.04 has 2.39
# and GCC 14's libstdc++), the googletest source package (libgtest-dev ships the built .a files) and libomp-dev
# (GCC uses its own libgomp). matplotlib and numpy: the GPU image's python3 has them.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.device_deps
pkgs=(nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian
      libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libquadmath0 zlib1g-dev zlib1g)
command -v apt-get >/dev/null || { echo "error: device_deps.sh: apt-get not found (run it on a Debian/Ubuntu machine)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current directory; a fresh folder, moved into place only when every
# package came, so a failed download leaves the previous set intact.
(cd "$tmp" && chmod 777 . && apt-get download -q "${pkgs[@]}") || { echo "error: device_deps.sh: apt-get download failed"; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"
mv "$tmp"/*.deb "$dir"/
for p in "${pkgs[@]}"; do
  ls "$dir/${p}_"*.deb >/dev/null 2>&1 || { echo "error: device_deps.sh: $p was not downloaded"; exit 1; }
done
printf '%s\n' "${pkgs[@]}" > "$dir/PACKAGES"
echo "device_deps: $(ls "$dir"/*.deb | wc -l) packages, $(du -sh "$dir" | cut -f1) in $dir (carry it: \"carry\": [\"$dir\"])"
