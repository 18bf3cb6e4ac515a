#!/usr/bin/env bash
# The whole test suite, once per database engine (Piccolo binds a table's engine once per process):
#   1. SQLite (always);
#   2. PostgreSQL, when TEST_POSTGRES_URL is set (as TEST_DATABASE_URL, which tests/conftest.py reads).
# Without TEST_POSTGRES_URL the PostgreSQL run is skipped LOUDLY, and under CI=true that fails the run.
# pytest's exit code 5 ("no tests collected") is a failure here, never a silent success.
# Extra pytest arguments: PYTEST_ARGS="-x -k accounts" make test
# Tests run in a random order; the seed is printed, and TEST_SEED=N repeats it.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PY:-$ROOT/.venv/bin/python}"
read -r -a EXTRA <<< "${PYTEST_ARGS:-}"

banner() { printf '\n==================== %s ====================\n' "$*"; }

run_suite() {
    local label="$1"
    shift
    banner "tests on $label"
    local started=$SECONDS
    # Random order (pytest-randomly), a new seed each run unless TEST_SEED repeats one.
    local seed="${TEST_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
    echo "test order: random, seed $seed (repeat this order with TEST_SEED=$seed make test)"
    env "$@" "$PY" -m pytest -q -ra -p randomly --randomly-seed="$seed" "${EXTRA[@]}"
    local rc=$?
    echo "tests on $label: exit code $rc after $((SECONDS - started)) s"
    if [ "$rc" -eq 5 ]; then
        echo "FAILED: pytest collected no tests on $label" >&2
        return 1
    fi
    return "$rc"
}

status=0
run_suite SQLite -u TEST_DATABASE_URL || status=1

if [ -n "${TEST_POSTGRES_URL:-}" ]; then
    run_suite PostgreSQL "TEST_DATABASE_URL=$TEST_POSTGRES_URL" || status=1
else
    banner "SKIPPED: PostgreSQL run (set TEST_POSTGRES_URL)"
    echo "SKIPPED: PostgreSQL run (set TEST_POSTGRES_URL=postgresql://USER:PASS@127.0.0.1:5432/DB to run the suite on PostgreSQL too)"
    if [ "${CI:-}" = "true" ]; then
        echo "FAILED: CI=true requires the PostgreSQL run; .ci/run sets TEST_POSTGRES_URL" >&2
        status=1
    fi
fi

if [ "$status" -eq 0 ]; then
    banner "all test runs passed"
else
    banner "SOME TEST RUN FAILED"
fi
exit "$status"
