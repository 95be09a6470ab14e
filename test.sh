#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: every ctest suite, then a
# short run of each libFuzzer target. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
RUNDUN_EXTRA_PACKAGES="clang-14 libclang-rt-14-dev lintian dpkg-dev systemd" ./cmake/setup.sh
./cmake/test_tools.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 300 | tee "$log" || status=1

# RUNDUN_FUZZ_SECONDS per target (default 30; 0 skips).
fuzz_seconds="${RUNDUN_FUZZ_SECONDS:-30}"
fuzz_failed=0
if [ "$fuzz_seconds" != 0 ]; then
  ./cmake/fuzz.sh "$fuzz_seconds" || fuzz_failed=1
fi

summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" || true)
total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
failed=$(sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/' <<<"$summary")
if [ -z "$summary" ]; then
  echo "test.sh: ctest printed no summary" >&2
  exit 1
fi
echo "ctest: $((total - failed)) passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$fuzz_failed" -ne 0 ]; then
  exit 1
fi
