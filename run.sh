#!/usr/bin/env bash
# Installs what is missing, builds, and starts rundund on 127.0.0.1:8080 with its data in
# ./rundun-data. Extra arguments go to rundund (see ./build/app/rundund --help).
set -euo pipefail
cd "$(dirname "$0")"
# The server alone: the tests and benchmarks are ./test.sh's to build.
RUNDUN_BUILD_TARGETS=rundund ./cmake/setup.sh

quickstart() {
  local url="$1" key="$2"
  cat <<TEXT

Quickstart (in another terminal):

  export RUNDUN=$url
  export KEY=$key

  # a template with two steps
  curl -s -H "Authorization: Bearer \$KEY" \$RUNDUN/v1/templates \\
    -d '{"name":"Checkout","steps":[{"id":"kitchen","title":"Kitchen is clean"},{"id":"notes","title":"Anything broken?","required":false}]}'

  # a run from it (put the template id in), with a webhook to your endpoint
  curl -s -H "Authorization: Bearer \$KEY" \$RUNDUN/v1/runs \\
    -d '{"template_id":"t-...","webhook":{"url":"https://your-app.example/hooks/rundun"}}'

  # the executor's side: the run's "link" from the answer above
  curl -s -X POST <link>/steps/kitchen/answer -d '{"value":"yes"}'
  curl -s -X POST <link>/submit

  # what was sent, and how it went
  curl -s -H "Authorization: Bearer \$KEY" \$RUNDUN/v1/runs/<run id>/events

Loopback and private webhook URLs need --allow-private-destinations, e.g.
  ./run.sh --allow-private-destinations
Stop with Ctrl-C: in-flight deliveries finish, everything else is already on disk.
TEXT
}

key="${RUNDUN_API_KEY:-<the API key printed when this data dir was first used>}"
./build/app/rundund "$@" |
  while IFS= read -r line; do
    echo "$line"
    case "$line" in
      "rundund api key: "*) key="${line#rundund api key: }" ;;
      "rundund listening on "*) quickstart "${line#rundund listening on }" "$key" ;;
    esac
  done
