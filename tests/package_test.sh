#!/usr/bin/env bash
# The Debian package: built with cpack, checked by lintian (no error) and systemd-analyze
# (the unit verifies with no complaint), installed with dpkg into a throwaway root, and its
# rundund run from there.
#   tests/package_test.sh <build dir>
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

(cd "$build" && cpack -G DEB -B "$work/out" >/dev/null)
debs=("$work"/out/rundund_*_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no rundund_<version>_<arch>.deb"
deb=${debs[0]}
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"

# Runtime libraries only.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
[[ $depends == *libcaf-core* && $depends == *liblmdb0* ]] || fail "Depends lacks the runtime libraries"
[[ $depends != *-dev* ]] || fail "Depends names a -dev package"
files=$(dpkg-deb -c "$deb")
for f in ./usr/bin/rundund ./usr/lib/systemd/system/rundund.service ./etc/default/rundund \
         ./usr/share/doc/rundund/copyright ./usr/share/man/man1/rundund.1.gz; do
  grep -q " $f\$" <<<"$files" || fail "the package lacks $f"
done
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/default/rundund ] ||
  fail "/etc/default/rundund is not a conffile"
# It may hold the API key: readable by root (and its group) only.
grep -q "^-rw-r----- root/root .* ./etc/default/rundund\$" <<<"$files" ||
  fail "/etc/default/rundund is not -rw-r----- root/root: $(grep etc/default <<<"$files")"

# lintian: no error (warnings and notes are printed).
lintian --fail-on error "$deb" 2>&1 | grep -v "running with root privileges" || true
lintian --fail-on error "$deb" >/dev/null 2>&1 || fail "lintian reports an error"

# Installed into a throwaway root: dpkg's own database there, the host's libraries used.
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --force-depends --force-script-chrootless -i "$deb" >/dev/null 2>&1 ||
  fail "dpkg --root could not install the package"
dpkg --root="$root" -s rundund | grep -q "Status: install ok installed" || fail "not installed"
"$root/usr/bin/rundund" --help | grep -q -- "--data-dir" || fail "rundund --help from the root"
# Its license, in the machine-readable copyright file.
grep -q "^License: Apache-2.0$" "$root/usr/share/doc/rundund/copyright" ||
  fail "the copyright file does not name Apache-2.0"

# The unit, where the package put it, with the host's targets beside it for its references.
cp -a /lib/systemd/system/*.target "$root/usr/lib/systemd/system/"
out=$(systemd-analyze verify --root="$root" /usr/lib/systemd/system/rundund.service 2>&1) ||
  fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify complained: $out"
grep -q "^DynamicUser=yes" "$root/usr/lib/systemd/system/rundund.service" || fail "no DynamicUser"
echo "OK: lintian without errors, the unit verifies, installed with dpkg --root and ran rundund --help"
