#!/usr/bin/env bash
# Builds the solution once (Release) and runs every test project (tests/*/*.csproj) one after the other.
# The last line printed is exactly "N passed, N failed, N skipped".
# Exit status: 0 only if the build succeeded, at least one test ran and nothing failed.
#
# Usage: scripts/test.sh [project.csproj | project-folder ...]
#   With arguments (or SEGMENTENGINE_TEST_PROJECTS="a.csproj b.csproj"), only those test projects are
#   built and run. Environment: TEST_CONFIGURATION (Release), TEST_RESULTS_DIR (TestResults/),
#   TEST_TIMEOUT_SECONDS per project (1200), SKIP_POSTGRES_INSTALL=1 to never apt-get install.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

configuration="${TEST_CONFIGURATION:-Release}"
results_dir="${TEST_RESULTS_DIR:-$root/TestResults}"
timeout_seconds="${TEST_TIMEOUT_SECONDS:-1200}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_CLI_UI_LANGUAGE=en MSBUILDDISABLENODEREUSE=1

log() { printf '[test.sh] %s\n' "$*" >&2; }

summary() { # passed failed skipped
    printf '%s passed, %s failed, %s skipped\n' "$1" "$2" "$3"
}

# --- dotnet -----------------------------------------------------------------------------------------
if ! command -v dotnet >/dev/null 2>&1; then
    for candidate in "$HOME/.dotnet" /usr/share/dotnet /usr/lib/dotnet; do
        if [[ -x "$candidate/dotnet" ]]; then
            export PATH="$candidate:$PATH"
            export DOTNET_ROOT="$candidate"
            break
        fi
    done
fi
if ! command -v dotnet >/dev/null 2>&1; then
    log "dotnet SDK not found on PATH (need the version in global.json)."
    summary 0 1 0
    exit 2
fi
log "dotnet $(dotnet --version 2>/dev/null </dev/null)"

# --- PostgreSQL server binaries (tests start private clusters; they refuse to run as root) ----------
have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }
if ! have_postgres; then
    if [[ "$(id -u)" == "0" && "${SKIP_POSTGRES_INSTALL:-0}" != "1" ]] && command -v apt-get >/dev/null 2>&1; then
        log "PostgreSQL binaries missing: apt-get install -y postgresql"
        export DEBIAN_FRONTEND=noninteractive
        if ! { apt-get update -qq && apt-get install -y -qq postgresql; } </dev/null >&2; then
            log "apt-get install postgresql failed; tests that need PostgreSQL will fail."
        fi
    else
        log "PostgreSQL not available (no /usr/lib/postgresql/*/bin/initdb); tests that need it will fail."
    fi
fi
if have_postgres; then
    log "PostgreSQL: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
fi

# --- which test projects ----------------------------------------------------------------------------
projects=()
selection=("$@")
if [[ ${#selection[@]} -eq 0 && -n "${SEGMENTENGINE_TEST_PROJECTS:-}" ]]; then
    read -r -a selection <<<"$SEGMENTENGINE_TEST_PROJECTS"
fi
if [[ ${#selection[@]} -gt 0 ]]; then
    for item in "${selection[@]}"; do
        if [[ -d "$item" ]]; then
            for f in "$item"/*.csproj; do [[ -f "$f" ]] && projects+=("$f"); done
        elif [[ -f "$item" ]]; then
            projects+=("$item")
        else
            log "no such test project: $item"
            summary 0 1 0
            exit 2
        fi
    done
else
    for f in tests/*/*.csproj loadtests/*.Tests/*.csproj; do [[ -f "$f" ]] && projects+=("$f"); done
fi
if [[ ${#projects[@]} -eq 0 ]]; then
    log "no test projects found"
    summary 0 0 0
    exit 1
fi

# --- build once -------------------------------------------------------------------------------------
build_failed=0
if [[ ${#selection[@]} -eq 0 ]]; then
    log "dotnet build SegmentEngine.sln -c $configuration"
    dotnet build SegmentEngine.sln -c "$configuration" -nologo -v q -clp:ErrorsOnly </dev/null || build_failed=1
    # A test project missing from the solution is still built and run.
    in_solution="$(dotnet sln SegmentEngine.sln list 2>/dev/null </dev/null | tr '\\' '/')"
    for project in "${projects[@]}"; do
        if ! grep -qxF "$project" <<<"$in_solution"; then
            log "$project is not in SegmentEngine.sln: building it on its own"
            dotnet build "$project" -c "$configuration" -nologo -v q -clp:ErrorsOnly </dev/null || build_failed=1
        fi
    done
else
    for project in "${projects[@]}"; do
        log "dotnet build $project -c $configuration"
        dotnet build "$project" -c "$configuration" -nologo -v q -clp:ErrorsOnly </dev/null || build_failed=1
    done
fi
if [[ $build_failed -ne 0 ]]; then
    log "BUILD FAILED (counted as 1 failure); no tests were run."
    summary 0 1 0
    exit 1
fi

# --- run each project -------------------------------------------------------------------------------
mkdir -p "$results_dir"
names=()
for project in "${projects[@]}"; do
    name="$(basename "$project" .csproj)"
    names+=("$name")
    out="$results_dir/$name"
    rm -rf "$out"
    mkdir -p "$out"
    log "dotnet test $project"
    timeout --kill-after=30 "$timeout_seconds" \
        dotnet test "$project" --no-build -c "$configuration" --nologo \
        --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
        --results-directory "$out" </dev/null
    code=$?
    echo "$code" >"$out/exit-code"
    if [[ $code -ne 0 ]]; then
        log "$name: dotnet test exited with $code"
    fi
done

# --- count results from the .trx files --------------------------------------------------------------
# A project whose run exited non-zero without a failed test in its .trx (crashed host, timeout, no .trx)
# counts as one failure.
count_without_python() { # fallback: outcome attributes of the .trx files, crashed runs count as 1 failure
    local p=0 f=0 s=0 name dir code pp ff ss
    for name in "${names[@]}"; do
        dir="$results_dir/$name"
        code="$(cat "$dir/exit-code" 2>/dev/null || echo 1)"
        pp=$(cat "$dir"/*.trx 2>/dev/null | grep -o '<UnitTestResult [^>]*outcome="Passed"' | wc -l)
        ss=$(cat "$dir"/*.trx 2>/dev/null | grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' | wc -l)
        ff=$(( $(cat "$dir"/*.trx 2>/dev/null | grep -o '<UnitTestResult [^>]*outcome="[^"]*"' | wc -l) - pp - ss ))
        if [[ "$code" != "0" && $ff -eq 0 ]]; then ff=1; fi
        log "$name: $pp passed, $ff failed, $ss skipped"
        p=$((p + pp)); f=$((f + ff)); s=$((s + ss))
    done
    echo "$p $f $s"
}

if ! command -v python3 >/dev/null 2>&1; then
    counts="$(count_without_python)"
else
counts="$(python3 - "$results_dir" "${names[@]}" <<'PY'
import glob, os, sys
import xml.etree.ElementTree as ET

results = sys.argv[1]
passed = failed = skipped = 0
for name in sys.argv[2:]:
    project_dir = os.path.join(results, name)
    code_file = os.path.join(project_dir, "exit-code")
    code = int(open(code_file).read().strip() or "1") if os.path.exists(code_file) else 1
    p = f = s = 0
    trx_files = glob.glob(os.path.join(project_dir, "**", "*.trx"), recursive=True)
    for trx in trx_files:
        try:
            tree = ET.parse(trx)
        except ET.ParseError as error:
            print(f"[test.sh] {name}: unreadable {trx}: {error}", file=sys.stderr)
            f += 1
            continue
        for result in tree.iter():
            if not result.tag.endswith("UnitTestResult"):
                continue
            outcome = result.get("outcome", "")
            if outcome == "Passed":
                p += 1
            elif outcome == "NotExecuted":
                s += 1
            else:
                f += 1
    if code != 0 and f == 0:
        why = "no .trx written" if not trx_files else "run aborted (crashed test host or timeout)"
        print(f"[test.sh] {name}: exit code {code}, {why}: counted as 1 failure", file=sys.stderr)
        f += 1
    print(f"[test.sh] {name}: {p} passed, {f} failed, {s} skipped", file=sys.stderr)
    passed, failed, skipped = passed + p, failed + f, skipped + s
print(passed, failed, skipped)
PY
)"
fi
if [[ -z "$counts" ]]; then
    log "could not read the test results"
    summary 0 1 0
    exit 1
fi
read -r passed failed skipped <<<"$counts"

status=0
if [[ $failed -ne 0 ]]; then
    status=1
elif [[ $((passed + failed + skipped)) -eq 0 || $passed -eq 0 ]]; then
    log "no test ran"
    status=1
fi
summary "$passed" "$failed" "$skipped"
exit $status
