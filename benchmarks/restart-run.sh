#!/usr/bin/env bash
# Restart to full service (SPEC §9 "restart"), as in benchmarks/RESULTS.md.
#
#   benchmarks/restart-run.sh NAME CONSUMERS EVENTS [engine options...]
#
# Starts a fresh engine on an empty data folder (/tmp/segengine-runs/NAME, embedded PostgreSQL and broker with 16
# partitions), loads EVENTS reference events taking CONSUMERS consumers in turn (load test with --zipf 0, as
# fast as the engine takes them), stops the engine (STOP=term, the default, sends SIGTERM and waits; STOP=kill sends
# SIGKILL) and starts it again on the same data. Then it times:
#   - ready: from the start command until the engine logs "SegmentEngine ready" (gRPC and ingest up);
#   - first event: a load test of 2,000 events at 500/s over 1,000 of the consumers (with latency probes); the shard
#     is rebuilt from durable state on its first use, so this includes the rebuild; the shard logs its consumer count
#     and rebuild time;
#   - full service: when that load test has every event applied and every probe's membership back.
# It prints the durable consumer and event-log counts, the engine's resident memory after the rebuild, and the
# engine log lines of the rebuild. NO_BUILD=1 skips the Release build; SILO_DIR runs another build of the silo;
# KEEP_DATA=1 keeps the data folder; ENGINE_ENV sets the engine's environment. Ports: PG_PORT (55490), API_PORT (5280,
# and the next one for HTTP).
set -euo pipefail
if [[ $# -lt 3 ]]; then
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi

name=$1; consumers=$2; events=$3; shift 3
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
run_dir=/tmp/segengine-runs/$name
rm -rf "$run_dir"; mkdir -p "$run_dir"
# shellcheck source=benchmarks/engine-lib.sh
source "$root/benchmarks/engine-lib.sh"
lt=(dotnet loadtests/SegmentEngine.LoadTests/bin/Release/net10.0/SegmentEngine.LoadTests.dll
    --data-dir "$run_dir/data" --grpc "http://127.0.0.1:$api_port" --metrics "http://127.0.0.1:$http_port/metrics"
    --pg-port "$pg_port" --baselines none --max-lag 100000 --drain-timeout 300)
build_release

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
psql_at() { psql -h 127.0.0.1 -p "$pg_port" -U postgres -d segmentengine -At -c "$1"; }
trap '[[ -n "$engine" ]] && kill "$engine" 2>/dev/null || true' EXIT

start_engine "$run_dir/engine.log" "$@"
wait_ready "$run_dir/engine.log"
echo "$name: loading $events events over $consumers consumers (in turn)"
timeout 3600 "${lt[@]}" --consumers "$consumers" --zipf 0 --events "$events" --duration 3000 --rate 0 \
    > "$run_dir/load.txt" 2>&1 || echo "load exited with $? (see $run_dir/load.txt)" >&2
grep -E 'applied, steady|missing|errors' "$run_dir/load.txt" || true
echo "durable: $(psql_at "select coalesce(sum(coalesce(entry_count, 1)), 0) from se_event_log") event-log entries, $(psql_at "select count(distinct stream_key) from se_event_log") consumers with events"

if [[ "${STOP:-term}" == "kill" ]]; then
    kill -KILL "$engine"
else
    kill "$engine"
fi
wait "$engine" 2>/dev/null || true

t0=$(now)
start_engine "$run_dir/engine-2.log" "$@"
wait_ready "$run_dir/engine-2.log"
echo "restart (${STOP:-term}): ready after $(since "$t0") s"
timeout 900 "${lt[@]}" --consumers 1000 --events 2000 --duration 600 --rate 500 --seed 7 \
    > "$run_dir/after.txt" 2>&1 || echo "follow-up load exited with $? (see $run_dir/after.txt)" >&2
echo "restart (${STOP:-term}): follow-up load applied, every probe back, after $(since "$t0") s"
grep -E 'applied|missing|latency|errors' "$run_dir/after.txt" || true
grep -E 'Shard rebuilt|Shard published' "$run_dir/engine-2.log" | sed 's/^.*\(Shard \)/\1/' || true
echo "engine resident memory: $(awk '/VmRSS/ {printf "%.2f GiB", $2 / 1048576}' "/proc/$engine/status")"
kill "$engine" 2>/dev/null || true
wait "$engine" 2>/dev/null || true
trap - EXIT
[[ "${KEEP_DATA:-0}" == "1" ]] || rm -rf "$run_dir/data"
