# Shared by benchmarks/ingest-run.sh and benchmarks/restart-run.sh (sourced, not run): the Release build, and starting
# one engine on the run's data folder with the ports and embedded broker those runs use.
# Expects root and run_dir; sets pg_port, api_port, http_port; start_engine sets engine (the process id).
# Environment: NO_BUILD=1, SILO_DIR, ENGINE_ENV, PG_PORT, API_PORT, SILO_PORT, GATEWAY_PORT (see the scripts' headers).

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
pg_port=${PG_PORT:-55490}; api_port=${API_PORT:-5280}; http_port=$((api_port + 1))
engine=

build_release() {
    if [[ "${NO_BUILD:-0}" != "1" ]]; then
        dotnet build src/SegmentEngine.Silo -c Release -v q -nologo -clp:ErrorsOnly
        dotnet build loadtests/SegmentEngine.LoadTests -c Release -v q -nologo -clp:ErrorsOnly
    fi
}

# start_engine LOG [engine options...]: starts the engine in the background, output to LOG.
start_engine() {
    local log=$1; shift
    # shellcheck disable=SC2086
    env ${ENGINE_ENV:-} dotnet "${SILO_DIR:-src/SegmentEngine.Silo/bin/Release/net10.0}/SegmentEngine.Silo.dll" \
        --contentRoot "$root/src/SegmentEngine.Silo" \
        --SegmentEngine:DataDirectory="$run_dir/data" \
        --SegmentEngine:Api:Port="$api_port" --SegmentEngine:Api:HttpPort="$http_port" \
        --SegmentEngine:Postgres:EmbeddedPort="$pg_port" \
        --SegmentEngine:Cluster:SiloPort="${SILO_PORT:-11311}" --SegmentEngine:Cluster:GatewayPort="${GATEWAY_PORT:-30300}" \
        --SegmentEngine:Kafka:EmbeddedPartitions=16 "$@" > "$log" 2>&1 &
    engine=$!
}

# wait_ready LOG: returns once the engine has logged that it is ready (polled every 0.1 s, for up to 120 s); exits the
# script if the engine exits or is not ready in time.
wait_ready() {
    local log=$1
    for _ in $(seq 1 1200); do
        grep -q 'SegmentEngine ready' "$log" && return 0
        kill -0 "$engine" 2>/dev/null || { echo "engine exited; see $log" >&2; exit 1; }
        sleep 0.1
    done
    echo "engine not ready after 120 s; see $log" >&2; exit 1
}
