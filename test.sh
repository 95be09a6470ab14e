#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite. Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")"
./cmake/setup.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 300
