#!/usr/bin/env bash
# Fetches the tools the test suite checks against, into build/tools (run by test.sh after
# setup.sh). Safe to run again: it only fetches what is missing.
#
# - promtool, Prometheus' own checker of the metrics format: taken out of Debian's
#   `prometheus` package with `apt-get download` + `dpkg-deb -x`, so that no Prometheus
#   server is installed or started on the machine.
# - Node.js and npm (Debian's, when the machine has no node), and the npm packages of the
#   OpenAPI check and the browser test (tests/node) and of the Node receiver example, pinned
#   by their lock files.
# - Debian's chromium, for the executor page's browser test (playwright-core drives it).
set -euo pipefail
cd "$(dirname "$0")/.."
tools="build/tools"
mkdir -p "$tools"

if [ ! -x "$tools/usr/bin/promtool" ]; then
  echo "rundun: fetching promtool (Debian's prometheus package, unpacked into $tools)"
  deb_dir=$(mktemp -d)
  chmod 777 "$deb_dir" # apt's download sandbox user must be able to write there
  (cd "$deb_dir" && apt-get download -q prometheus >/dev/null)
  dpkg-deb -x "$deb_dir"/prometheus_*.deb "$deb_dir/root"
  mkdir -p "$tools/usr/bin"
  cp "$deb_dir/root/usr/bin/promtool" "$tools/usr/bin/promtool"
  rm -rf "$deb_dir"
fi
"$tools/usr/bin/promtool" --version 2>&1 | head -1

# Only what is missing: a machine may have its own Node.js (with npm) from elsewhere.
need=()
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v python3 >/dev/null || need+=(python3)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "rundun: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}"
fi
for dir in tests/node examples/receivers/node; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$dir/node_modules"
  fi
done
echo "node $(node --version), npm $(npm --version)"
