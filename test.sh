#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite. Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")"
RUNDUN_EXTRA_PACKAGES="clang-14 libclang-rt-14-dev" ./cmake/setup.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 300
# A short run of each libFuzzer target (RUNDUN_FUZZ_SECONDS each, 0 to skip).
fuzz_seconds="${RUNDUN_FUZZ_SECONDS:-30}"
if [ "$fuzz_seconds" != 0 ]; then
  ./cmake/fuzz.sh "$fuzz_seconds"
fi
