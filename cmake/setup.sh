#!/usr/bin/env bash
# Shared by run.sh and test.sh: installs the Debian 12 packages that are missing, then
# configures and builds into ./build. Safe to run again: it only does what is left to do.
# RUNDUN_EXTRA_PACKAGES adds packages to install.
set -euo pipefail

packages=(
  cmake ninja-build g++ curl
  libcaf-dev
  libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev libboost-system1.81-dev
  libboost-url1.81-dev
  liblmdb-dev lmdb-utils libssl-dev libc-ares-dev
  libturbojpeg0-dev libpng-dev libjemalloc-dev libspdlog-dev
  prometheus-cpp-dev
)
# Callers add their own: test.sh needs clang and libFuzzer for the fuzz targets.
read -r -a extra <<<"${RUNDUN_EXTRA_PACKAGES:-}"
packages+=("${extra[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "rundun: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "rundun: run as root, or install sudo, to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build_type="${RUNDUN_BUILD_TYPE:-RelWithDebInfo}"
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@"
fi
# RUNDUN_BUILD_TARGETS: what to build (./run.sh: rundund alone); everything by default.
read -r -a targets <<<"${RUNDUN_BUILD_TARGETS:-}"
cmake --build build -j "$(nproc)" ${targets[@]+--target "${targets[@]}"}
