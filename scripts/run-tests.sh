#!/usr/bin/env bash
# `make test`: the suite in two parts. Most of it on every core at once (pytest-xdist, a test file to a worker,
# each worker its own SQLite copies and PostgreSQL schema); then, alone, the suites that measure races, deadlines
# and process kills (tests/concurrency, tests/reliability), whose timing another worker's load would distort.
# Arguments go to both parts (e.g. `-p tests.plugins.strict_skips`, or a path: a part it selects nothing from is
# skipped).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

"$PYTHON" -m pytest -n "${TEST_WORKERS:-auto}" --dist loadfile -m "not serial" "$@"
first=$?
KEEP_SCREENSHOTS=1 "$PYTHON" -m pytest -m serial "$@"
second=$?
# 5: the arguments selected no test in that part
[ "$first" -eq 5 ] && first=0
[ "$second" -eq 5 ] && second=0
[ "$first" -eq 0 ] && [ "$second" -eq 0 ]
