#!/usr/bin/env bash
# Runs the delivery benchmarks and prints one table; the same figures go to
# build-rel/benchmarks/results.json. Builds what it needs (RelWithDebInfo, in build-rel).
#
#   benchmarks/run.sh            the full run (a few minutes on 2 cores)
#   benchmarks/run.sh --smoke    a few seconds: checks the harness delivers, asserts no speed
#   benchmarks/run.sh --soak     1M runs through rundund over HTTP (about 30 min on 2 cores):
#                                heap, sockets and actors every 100k runs, then back at
#                                baseline once idle (RUNDUN_SOAK_RUNS makes it smaller)
#   benchmarks/run.sh --soak-busy  35,000 runs over 2,000 endpoints that never go idle (about
#                                a minute): the heap under load every 5,000 runs, and whether
#                                it stays flat (RUNDUN_SOAK_RUNS, RUNDUN_SOAK_URLS to change)
#   benchmarks/run.sh --cluster  the HTTP load against 1, 2 and 3 local nodes (a minute)
#   benchmarks/run.sh --lists    the lists of API §8 over a store of 1M events (about a minute,
#                                1.3 GB of temporary disk; RUNDUN_LIST_EVENTS makes it smaller)
#   benchmarks/run.sh --endpoint-list  GET /v1/endpoints over 200,000 URLs (under a minute,
#                                700 MB of temporary disk; RUNDUN_LIST_ENDPOINTS to change)
#   benchmarks/run.sh --recovery two recoveries of 200,000 failed events each in an embedded
#                                engine, and how late runs expire meanwhile (about 40 s;
#                                RUNDUN_RECOVERY_EVENTS makes it smaller)
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
if [ "${1:-}" = "--soak" ]; then
  [ -f build-rel/build.ninja ] || cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-rel -j "$(nproc)" --target soak_bench rundund >/dev/null
  runs="${RUNDUN_SOAK_RUNS:-1000000}"
  exec ./build-rel/benchmarks/soak_bench --rundund ./build-rel/app/rundund --runs "$runs" \
    --every $((runs / 10)) --threads 16 --check
fi
if [ "${1:-}" = "--soak-busy" ]; then
  [ -f build-rel/build.ninja ] || cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-rel -j "$(nproc)" --target soak_bench rundund >/dev/null
  exec ./build-rel/benchmarks/soak_bench --rundund ./build-rel/app/rundund --busy \
    --runs "${RUNDUN_SOAK_RUNS:-35000}" --urls "${RUNDUN_SOAK_URLS:-2000}" --every 5000 \
    --threads 16 --check
fi
if [ "${1:-}" = "--lists" ]; then
  [ -f build-rel/build.ninja ] || cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-rel -j "$(nproc)" --target list_bench rundund >/dev/null
  exec ./build-rel/benchmarks/list_bench --rundund ./build-rel/app/rundund \
    --events "${RUNDUN_LIST_EVENTS:-1000000}" --samples 200
fi
if [ "${1:-}" = "--endpoint-list" ]; then
  [ -f build-rel/build.ninja ] || cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-rel -j "$(nproc)" --target list_bench rundund >/dev/null
  endpoints="${RUNDUN_LIST_ENDPOINTS:-200000}"
  exec ./build-rel/benchmarks/list_bench --rundund ./build-rel/app/rundund --shapes endpoints \
    --endpoints "$endpoints" --events $((endpoints * 2)) --events-per-run 2 --samples 200
fi
if [ "${1:-}" = "--recovery" ]; then
  [ -f build-rel/build.ninja ] || cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-rel -j "$(nproc)" --target recovery_bench >/dev/null
  exec ./build-rel/benchmarks/recovery_bench --events "${RUNDUN_RECOVERY_EVENTS:-200000}" --check
fi
if [ "${1:-}" = "--cluster" ]; then
  [ -f build-rel/build.ninja ] || cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-rel -j "$(nproc)" --target cluster_bench rundund >/dev/null
  exec ./build-rel/benchmarks/cluster_bench --rundund ./build-rel/app/rundund --nodes 1,2,3 \
    --runs "${RUNDUN_CLUSTER_RUNS:-3000}" --clients 16
fi

build=build-rel
if [ "$smoke" = 1 ]; then
  build=build # the test build is already there
else
  if ! command -v wrk >/dev/null || ! command -v python3 >/dev/null; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get install -y -q wrk python3 >/dev/null
  fi
  [ -f $build/build.ninja ] || cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build $build -j "$(nproc)" --target load_bench rundund thumbnail_bench >/dev/null
fi
bench=./$build/benchmarks/load_bench
out=$build/benchmarks
mkdir -p "$out"

if [ "$smoke" = 1 ]; then
  $bench throughput --events 300 --endpoints 4 --check >/dev/null
  $bench throughput --tls --events 300 --endpoints 4 --check >/dev/null
  $bench isolation --events 300 --endpoints 10 --check >/dev/null
  $bench throughput --driver http --rundund ./$build/app/rundund --events 300 --endpoints 4 --check >/dev/null
  exit 0
fi

events="${RUNDUN_BENCH_EVENTS:-100000}"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"
echo "events per scenario: $events, 50 endpoints, 1 KB bodies, durable (fsync per group commit)"

# The limit: wrk POSTing the same 1 KB body to the same receiver.
$bench receive > "$out/receiver.port" &
rx_pid=$!
trap 'kill $rx_pid 2>/dev/null || true' EXIT
sleep 0.5
port=$(head -1 "$out/receiver.port")
body=$(python3 -c "print('{\"event\":\"step.completed\",\"data\":\"' + 'x'*960 + '\"}')")
cat > "$out/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
limit=$(wrk -t2 -c64 -d5s -s "$out/post.lua" "http://127.0.0.1:$port/hook" | awk '/Requests\/sec/{print $2}')
kill $rx_pid 2>/dev/null || true
echo "limit (wrk, 64 connections, 1 KB POST): $limit req/s"

$bench throughput --events "$events" --json "$out/throughput-embedded.json" >/dev/null
$bench throughput --driver http --rundund ./$build/app/rundund --events "$events" --json "$out/throughput-http.json" >/dev/null
$bench throughput --tls --events "$events" --json "$out/throughput-https.json" >/dev/null
rate=2000
$bench throughput --events 20000 --rate $rate --json "$out/latency-embedded.json" >/dev/null
$bench isolation --events 20000 --rate $rate --json "$out/isolation-embedded.json" >/dev/null
$bench throughput --driver http --rundund ./$build/app/rundund --events 20000 --rate $rate --json "$out/latency-http.json" >/dev/null
$bench isolation --driver http --rundund ./$build/app/rundund --events 20000 --rate $rate --json "$out/isolation-http.json" >/dev/null
$bench open-runs --runs "${RUNDUN_BENCH_RUNS:-1000000}" --json "$out/open-runs.json" >/dev/null
$bench backlog --events "${RUNDUN_BENCH_BACKLOG:-1000000}" --json "$out/backlog.json" >/dev/null
$bench recovery --rundund ./$build/app/rundund --events "${RUNDUN_BENCH_BACKLOG:-1000000}" --json "$out/recovery.json" >/dev/null

python3 - "$out" "$limit" <<'PY'
import json, sys, os
out, limit = sys.argv[1], float(sys.argv[2])
def load(name): return json.load(open(os.path.join(out, name)))
throughput = ["throughput-embedded", "throughput-http", "throughput-https"]
def row(label, r, vs_limit):
    return (label, f'{r["accepted_per_s"]:.0f}', f'{r["delivered_per_s"]:.0f}', vs_limit,
            f'{r["engine_cpu_us_per_event"]:.0f}', f'{r["harness_cpu_us_per_event"]:.0f}',
            f'{r["store_bytes_per_event"]/1024:.1f}', f'{r["peak_rss_mib"]:.0f}',
            f'{r["p50_ms"]:.1f}/{r["p99_ms"]:.1f}/{r["p999_ms"]:.1f}')
rows = []
for name in throughput:
    r = load(name + ".json")
    rows.append(row(name, r, f'{r["delivered_per_s"]/limit:.2f}x'))
for name in ["latency-embedded", "isolation-embedded", "latency-http", "isolation-http"]:
    r = load(name + ".json")
    rows.append(row(name + f' @{r["offered_rate"]:.0f}/s', r, '-'))
print()
print(f'{"scenario":34} {"accepted/s":>10} {"delivered/s":>11} {"vs limit":>8} {"engine µs/ev":>12} {"harness µs/ev":>13} {"KiB/ev":>7} {"RSS MiB":>8} {"p50/p99/p99.9 ms":>18}')
for r in rows:
    print(f'{r[0]:34} {r[1]:>10} {r[2]:>11} {r[3]:>8} {r[4]:>12} {r[5]:>13} {r[6]:>7} {r[7]:>8} {r[8]:>18}')
print('(engine µs/ev: CPU of the engine\'s threads, or of rundund; harness µs/ev: the load tool\'s own (driver, receivers);')
print(' KiB/ev: bytes the store\'s writer thread wrote, its wchar; throughput-https: HTTPS receivers, embedded engine)')
for name in throughput:
    by = load(name + ".json")["engine_cpu_by_thread"]
    print(f'{name} engine µs/ev by thread: ' + ', '.join(f'{k} {v:.1f}' for k, v in sorted(by.items(), key=lambda kv: -kv[1]) if v >= 0.05))
o = load("open-runs.json")
print(f'\nopen runs: {o["runs"]} created at {o["created_per_s"]:.0f}/s, {o["active_run_actors"]} run actors resident, '
      f'peak RSS {o["rss_mib"]:.0f} MiB (now: heap {o["rss_anon_mib"]:.0f} MiB + LMDB file pages {o["rss_file_mib"]:.0f} MiB)')
b = load("backlog.json")
print(f'dead backlog: {b["dead_pending"]} pending (first attempts all made after {b["first_attempts_done_s"]:.0f} s), RSS {b["rss_mib_with_backlog"]:.0f} MiB (heap {b["rss_anon_mib_with_backlog"]:.0f} MiB), '
      f'healthy beside it {b["healthy_delivered_per_s"]:.0f}/s = {b["healthy_delivered_per_s"] / load("throughput-embedded.json")["delivered_per_s"]:.2f}x scenario 1')
c = load("recovery.json")
print(f'recovery: {c["pending"]} overdue retries in a {c["data_file_mib"]:.0f} MiB data file, /healthz after {c["healthz_s"]:.2f} s, first retry {c["first_retry_after_healthz_s"]:.2f} s later')
results = {"limit_req_per_s": limit, **{n: load(n + ".json") for n in
           throughput + ["latency-embedded", "isolation-embedded", "latency-http", "isolation-http", "open-runs", "backlog", "recovery"]}}
json.dump(results, open(os.path.join(out, "results.json"), "w"), indent=1)
print(f'\nfigures: {os.path.join(out, "results.json")}')
PY
