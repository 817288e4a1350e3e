#!/usr/bin/env bash
# Installs the Debian packages the project builds with. Safe to run twice: apt-get skips what is there.
# The CUDA toolkit (nvcc, cuBLAS, cuSPARSE, cuDNN) is expected to be installed already.
set -euo pipefail
# python3-matplotlib, python3-numpy: the end-of-run pictures (tools/plot_<model>.py) for Debian's /usr/bin/python3.
pkgs=(cmake g++ make libopenblas-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libomp-dev zlib1g-dev
      python3-matplotlib python3-numpy)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
else
  echo "setup: all packages present"
fi
command -v nvcc >/dev/null || echo "setup: nvcc not on PATH; the build will be CPU-only (AD_CUDA=AUTO)"
