#!/usr/bin/env bash
# Installs the build into a throwaway prefix, then builds examples/embedded against it as a
# project of its own (find_package(rundun), rundun::engine) and runs it.
#   tests/install_test.sh <build dir> <source dir>
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/rundund" || { echo "FAIL: no bin/rundund"; exit 1; }
"$prefix/bin/rundund" --help >/dev/null
test -f "$prefix/lib/cmake/rundun/rundun-config.cmake" || { echo "FAIL: no package config"; exit 1; }
grep -q 'set(PACKAGE_LICENSE "Apache-2.0")' "$prefix/lib/cmake/rundun/rundun-config-version.cmake" ||
  { echo "FAIL: the package version file does not name the license"; exit 1; }
if grep -rn "include *[<\"]caf/" "$prefix/include"; then
  echo "FAIL: an installed header includes CAF"
  exit 1
fi

# The example sees only the prefix: no source tree on its include path.
cmake -S "$src/examples/embedded" -B "$work/example" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/example" >/dev/null
out=$("$work/example/embedded_example")
echo "$out"
grep -q "is completed" <<<"$out" && grep -q "run.completed" <<<"$out" || {
  echo "FAIL: the example built against the installed engine did not complete its run"
  exit 1
}
echo "OK: installed into $prefix, built examples/embedded with find_package(rundun) and ran it"
