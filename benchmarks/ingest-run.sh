#!/usr/bin/env bash
# One ingest load-test run against a fresh engine, as in benchmarks/RESULTS.md ("Ingest load test").
#
#   benchmarks/ingest-run.sh NAME RATE DURATION [engine options...]
#
# Builds the silo and the load test (Release; NO_BUILD=1 skips it), starts a fresh engine on an empty data folder
# (/tmp/segengine-runs/NAME: embedded PostgreSQL, embedded broker with 16 partitions), waits until it is ready, runs
# the load test for DURATION seconds at RATE events/s (0 = as fast as the engine takes it) with no baselines, prints
# the summary lines and the engine's CPU, saves the engine's /metrics next to the run, stops the engine and deletes
# its data folder (about 1 GB for 150 s at 10k events/s; KEEP_DATA=1 keeps it).
# Engine options are passed on (e.g. --SegmentEngine:Kafka:Lanes=4); ENGINE_ENV sets its environment (e.g.
# "DOTNET_GCgen0size=0x4000000"), LT_ARGS adds load-test options (e.g. "--baselines pgbench,orleans").
# RUNS=N runs the load test N times back to back on the same engine, with seeds 1..N (later runs meet a warm engine
# whose consumers from the earlier runs are still active); run K's summary goes to loadtest-K.txt, its /metrics to loadtest-K-metrics.txt.
# Ports: PG_PORT (55490), API_PORT (5280, and the next one for HTTP), SILO_PORT (11311), GATEWAY_PORT (30300).
# SILO_DIR runs another build of the silo (for A/B runs; default src/SegmentEngine.Silo/bin/Release/net10.0); LT_DIR
# another build of the load test (default loadtests/SegmentEngine.LoadTests/bin/Release/net10.0).
# GC_TRACE=AT:SECONDS also records the engine's GC events from AT seconds after the load test's t=0, for SECONDS, into
# NAME/gc.nettrace (first run only; needs dotnet-trace: dotnet tool install -g dotnet-trace); read it with
# `dotnet run -c Release --project benchmarks/SegmentEngine.Benchmarks -- gc-timeline /tmp/segengine-runs/NAME/gc.nettrace`.
# TIMELINE=SECONDS also saves, every SECONDS from the load test's t=0 (first run only), the engine's SegmentEngine and GC
# metrics and the CPU ticks of the engine, PostgreSQL and the load test into NAME/timeline/; read them, interval by
# interval, with `python3 benchmarks/timeline.py /tmp/segengine-runs/NAME/timeline [SAMPLES_PER_ROW]`.
set -euo pipefail
if [[ $# -lt 3 ]]; then
    sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi

name=$1; rate=$2; duration=$3; shift 3
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
run_dir=/tmp/segengine-runs/$name
rm -rf "$run_dir"; mkdir -p "$run_dir"
# shellcheck source=benchmarks/engine-lib.sh
source "$root/benchmarks/engine-lib.sh"
build_release
start_engine "$run_dir/engine.log" "$@"
trap 'kill "$engine" 2>/dev/null || true' EXIT
wait_ready "$run_dir/engine.log"

ticks() { awk '{print $14 + $15}' "/proc/$engine/stat"; }

# CPU ticks (user + system) of a process and, with a second argument, of its children too: the live ones and those
# it has reaped (fields 16 and 17), so that a backend or autovacuum worker that ends does not take its CPU out of the
# sum (0 once the process has gone; assumes a command name without spaces).
proc_ticks() {
    local total pid
    [[ "$1" -gt 0 ]] || { echo 0; return; }
    total=$(awk -v reaped="${2:+1}" '{print $14 + $15 + (reaped ? $16 + $17 : 0)}' "/proc/$1/stat" 2>/dev/null || echo 0)
    for pid in ${2:+$(pgrep -P "$1")}; do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

# sample_timeline LOADTEST_OUT DIR PERIOD: from the load test's t=0 until its summary, every PERIOD seconds, one file
# with "# t SECONDS engine TICKS postgres TICKS loadtest TICKS" and the engine's metrics of interest.
sample_timeline() {
    local out=$1 dir=$2 period=$3 i=0 t0 postmaster loadtest
    mkdir -p "$dir"
    for _ in $(seq 1 600); do grep -q 'run clock t=0' "$out" 2>/dev/null && break; sleep 0.5; done
    t0=$(date +%s.%N)
    postmaster=$(head -1 "$run_dir/data/postgres/postmaster.pid" 2>/dev/null || echo 0)
    loadtest=$(pgrep -f '^dotnet .*SegmentEngine.LoadTests.dll' | head -1 || echo 0)
    while kill -0 "$engine" 2>/dev/null && ! grep -q '==== SegmentEngine' "$out" 2>/dev/null; do
        { echo "# t $(echo "$(date +%s.%N) - $t0" | bc) engine $(proc_ticks "$engine") postgres $(proc_ticks "$postmaster" children) loadtest $(proc_ticks "$loadtest")"
          curl -s --max-time 10 "http://127.0.0.1:$http_port/metrics" | grep -E '^(segengine|dotnet_gc|dotnet_process_cpu)' || true
        } > "$(printf '%s/%04d.txt' "$dir" "$i")"
        i=$((i + 1))
        sleep "$period"
    done
}
runs=${RUNS:-1}
for run in $(seq 1 "$runs"); do
    out="$run_dir/loadtest.txt"; metrics_out="$run_dir/metrics.txt"; label=$name; seed_args=()
    if [[ "$runs" -gt 1 ]]; then
        out="$run_dir/loadtest-$run.txt"; metrics_out="$run_dir/loadtest-$run-metrics.txt"
        label="$name (run $run of $runs, seed $run)"; seed_args=(--seed "$run")
    fi
    before=$(ticks)
    if [[ -n "${GC_TRACE:-}" && "$run" == 1 ]]; then
        trace_at=${GC_TRACE%%:*}; trace_for=${GC_TRACE##*:}
        tracer=$(command -v dotnet-trace || echo "$HOME/.dotnet/tools/dotnet-trace")
        if [[ -x "$tracer" ]]; then
            (for _ in $(seq 1 300); do grep -q 'run clock t=0' "$out" 2>/dev/null && break; sleep 1; done
             sleep "$trace_at"
             "$tracer" collect -p "$engine" --clrevents gc --clreventlevel informational \
                 --duration "$(printf '00:00:%02d:%02d' $((trace_for / 60)) $((trace_for % 60)))" -o "$run_dir/gc.nettrace" > /dev/null 2>&1 \
                 || echo "dotnet-trace failed" >&2) &
        else
            echo "GC_TRACE: dotnet-trace not found (dotnet tool install -g dotnet-trace); no trace taken" >&2
        fi
    fi
    if [[ -n "${TIMELINE:-}" && "$run" == 1 ]]; then
        sample_timeline "$out" "$run_dir/timeline" "$TIMELINE" &
    fi
    # shellcheck disable=SC2086
    timeout $((duration + 400)) dotnet "${LT_DIR:-loadtests/SegmentEngine.LoadTests/bin/Release/net10.0}/SegmentEngine.LoadTests.dll" \
        --data-dir "$run_dir/data" --grpc "http://127.0.0.1:$api_port" --metrics "http://127.0.0.1:$http_port/metrics" \
        --pg-port "$pg_port" --duration "$duration" --rate "$rate" --max-lag 100000 --drain-timeout 120 --baselines none \
        "${seed_args[@]}" ${LT_ARGS:-} > "$out" 2>&1 || echo "load test exited with $? (see $out)" >&2
    after=$(ticks)
    curl -s "http://127.0.0.1:$http_port/metrics" > "$metrics_out" || true

    echo "$label: engine process CPU $(( (after - before) / 100 )) s during the load test; files in $run_dir"
    grep -E 'applied, steady|latency|allocated|GC pauses|CPU  |errors' "$out" || true
done
kill "$engine" 2>/dev/null || true
wait "$engine" 2>/dev/null || true
trap - EXIT
[[ "${KEEP_DATA:-0}" == "1" ]] || rm -rf "$run_dir/data"
