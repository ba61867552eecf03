#!/usr/bin/env bash
# Starts one SegmentEngine node on the embedded default: a private PostgreSQL cluster in .data/postgres
# (created on first run, kept afterwards), an embedded Kafka-protocol broker with the topics created,
# the Orleans silo, the Kafka ingest and the gRPC API. Prints the broker address and development API keys.
# Extra arguments are passed to the engine (e.g. --SegmentEngine:Api:Port=6000). Stop with Ctrl+C.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
        echo "[run.sh] installing PostgreSQL server binaries (apt-get install -y postgresql)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql </dev/null >&2 || true
    fi
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || echo "[run.sh] WARNING: PostgreSQL is not available; the engine will run on IN-MEMORY storage." >&2
fi

dotnet build src/SegmentEngine.Silo/SegmentEngine.Silo.csproj -c Release -v q -nologo -clp:ErrorsOnly
dotnet build src/SegmentEngine.Cli/SegmentEngine.Cli.csproj -c Release -v q -nologo -clp:ErrorsOnly
exec dotnet src/SegmentEngine.Silo/bin/Release/net10.0/SegmentEngine.Silo.dll \
    --contentRoot "$root/src/SegmentEngine.Silo" \
    --SegmentEngine:DataDirectory="$root/.data" "$@"
