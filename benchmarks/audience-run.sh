#!/usr/bin/env bash
# Audience pull through the CLI, on a fresh engine (benchmarks/RESULTS.md, "ninth pass").
#
#   benchmarks/audience-run.sh CONSUMERS [CHUNK]
#
# Starts a fresh engine (as benchmarks/ingest-run.sh does, data in /tmp/segengine-runs/audience), produces with kcat
# CONSUMERS consumers of brand demo, each a profile_update (an e-mail address, country CA) and an e-mail consent
# opt-in, CHUNK consumers at a time (default 50,000; the embedded broker keeps about 5 MiB a partition, so it waits
# for each chunk to be applied), creates the segment `profile.country in ("CA")`, waits until a snapshot of it can
# be made (its backfill done; that snapshot is not timed), then times with the CLI (`segengine audience snapshot`
# and `audience stream`, the stream written to a file) a second snapshot and two streams of it. The times include the CLI's start (about 0.1-0.3 s) and its writing of every line. Needs kcat and python3.
# SILO_DIR and NO_BUILD as in benchmarks/ingest-run.sh.
set -uo pipefail
if [[ $# -lt 1 ]]; then
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi

consumers=$1; chunk=${2:-50000}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
run_dir=/tmp/segengine-runs/audience
rm -rf "$run_dir"; mkdir -p "$run_dir"
# shellcheck source=benchmarks/engine-lib.sh
source "$root/benchmarks/engine-lib.sh"
build_release
[[ "${NO_BUILD:-0}" == "1" ]] || dotnet build src/SegmentEngine.Cli -c Release -v q -nologo -clp:ErrorsOnly
start_engine "$run_dir/engine.log"
trap 'kill "$engine" 2>/dev/null || true' EXIT
wait_ready "$run_dir/engine.log"

broker=$(cat "$run_dir/data/kafka-bootstrap")
key() { python3 -c "import json,sys;print(next(k['Key'] for k in json.load(open(sys.argv[2])) if k['Role']==sys.argv[1]))" "$1" "$run_dir/data/dev-keys.json"; }
marketer=$(key marketer); sender=$(key sender)
cli() { dotnet src/SegmentEngine.Cli/bin/Release/net10.0/segengine.dll --endpoint "http://127.0.0.1:$api_port" "$@"; }
applied() { curl -s "http://127.0.0.1:$http_port/metrics" | awk '/^segengine_ingest_events_total/{s+=$NF} END{print s+0}'; }
seconds() { echo "$2 - $1" | bc; }

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for ((start = 0; start < consumers; start += chunk)); do
    count=$(( consumers - start < chunk ? consumers - start : chunk ))
    python3 - "$start" "$count" "$now" <<'PY' | kcat -P -b "$broker" -t segment-engine.events -K '|'
import json, sys
start, count, now = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for i in range(start, start + count):
    c = f"a-{i:07d}"
    for event_id, kind, body in ((f"ap-{i}", "profile_update", {"email": f"{c}@example.com", "country": "CA"}),
                                 (f"ac-{i}", "consent_update", {"channel": "email", "status": "opted_in", "source": "signup"})):
        event = {"event_id": event_id, "brand_id": "demo", "consumer_id": c, "type": kind, "occurred_at": now, kind: body}
        sys.stdout.write(f"demo:{c}|{json.dumps(event, separators=(',', ':'))}\n")
PY
    target=$(( (start + count) * 2 ))
    for _ in $(seq 1 1200); do [[ $(applied) -ge $target ]] && break; sleep 0.5; done
    echo "produced $((start + count)) consumers; $(applied) events applied"
done

cli --api-key "$marketer" segments create --id canadians --name Canadians --rule 'profile.country in ("CA")' > /dev/null
for _ in $(seq 1 100); do cli --api-key "$sender" audience snapshot --segment canadians --channel email > /dev/null 2>&1 && break; sleep 0.2; done
t0=$(date +%s.%N)
snapshot=$(cli --api-key "$sender" audience snapshot --segment canadians --channel email | tee "$run_dir/snapshot.txt" | awk '/snapshot_id/{print $2}')
t1=$(date +%s.%N)
cli --api-key "$sender" audience stream --snapshot "$snapshot" > "$run_dir/stream-1.txt"
t2=$(date +%s.%N)
cli --api-key "$sender" audience stream --snapshot "$snapshot" > "$run_dir/stream-2.txt"
t3=$(date +%s.%N)
grep recipient_count "$run_dir/snapshot.txt"
echo "snapshot $(seconds "$t0" "$t1") s; stream 1: $(wc -l < "$run_dir/stream-1.txt") recipients in $(seconds "$t1" "$t2") s; stream 2: $(wc -l < "$run_dir/stream-2.txt") in $(seconds "$t2" "$t3") s"
kill "$engine" 2>/dev/null || true
wait "$engine" 2>/dev/null || true
trap - EXIT
rm -rf "$run_dir/data"
