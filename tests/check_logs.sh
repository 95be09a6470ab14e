#!/usr/bin/env bash
# Run by ctest after every suite that starts rundund: no secret may appear in any log line
# the servers wrote. Secrets in the tests: the API key, webhook secrets (whsec_…), generated
# API keys (rk_…), run link tokens (the path /r/<token>), and the egress proxy's credential
# (user:secret, in a URL or as its Basic header).
set -euo pipefail
dir="$1"
shopt -s nullglob
logs=("$dir"/*)
if ((${#logs[@]} == 0)); then
  echo "no server logs in $dir: nothing was checked" >&2
  exit 1
fi
if grep -nE 'whsec_|rk_[A-Za-z0-9_-]{20,}|test-api-key-0123456789|/r/[A-Za-z0-9_-]{20,}|user:secret@|dXNlcjpzZWNyZXQ' "${logs[@]}"; then
  echo "FAIL: a secret appears in the server logs above" >&2
  exit 1
fi
lines=$(cat "${logs[@]}" | wc -l)
echo "checked ${#logs[@]} server logs, $lines lines: no secret found"
