#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in ./build-fuzz and runs each for
# SECONDS (default 30), two at a time, starting from the checked-in corpus in
# tests/fuzz/corpus/. Prints each target's executions; exits non-zero on any crash, whose
# input is left in build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
if [ ! -f build-fuzz/build.ninja ]; then
  CXX=clang++-14 CC=clang-14 cmake -S . -B build-fuzz -G Ninja -DRUNDUN_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build-fuzz -j "$(nproc)"
mkdir -p build-fuzz/artifacts build-fuzz/logs
status=0
run_one() {
  local target="$1" work="build-fuzz/corpus/$1"
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"$target"/* "$work"/ 2>/dev/null || true
  if ./build-fuzz/tests/fuzz/fuzz_"$target" "$work" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix=build-fuzz/artifacts/"$target"- -close_fd_mask=3 \
       > build-fuzz/logs/"$target".log 2>&1; then
    local runs
    runs=$(grep -E '^stat::number_of_executed_units' build-fuzz/logs/"$target".log | awk '{print $2}')
    echo "fuzz $target: ${runs:-?} executions in ${seconds}s, no crash"
  else
    echo "fuzz $target: CRASH, see build-fuzz/logs/$target.log and build-fuzz/artifacts/" >&2
    tail -40 build-fuzz/logs/"$target".log >&2
    return 1
  fi
}
pids=()
for pair in "api_request url" "retry_after http_response" "photo forwarded_request"; do
  for t in $pair; do run_one "$t" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  pids=()
done
exit $status
