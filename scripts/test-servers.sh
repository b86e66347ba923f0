#!/usr/bin/env bash
# `make test`: the whole suite once per test server (tests/servers.py: debian, embedded).
#
#   scripts/test-servers.sh SERVER... [-- PYTEST_ARGS...]
#
# One after the other by default. With TEST_PARALLEL=1 the runs go side by side, each in its own pytest
# temp folder (a run keeps about one core busy: pytest's process and the server answering it take turns):
# the first server's output is shown as it comes, the others' when they end (docs/development.md says what
# the load does to a few tests). The exit status is non-zero when any run failed; every run always goes to
# its end.
set -uo pipefail

servers=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do servers+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
py=${PY:-.venv/bin/python}
[ ${#servers[@]} -gt 0 ] || { echo "test-servers: name at least one server (debian, embedded)" >&2; exit 2; }

if [ "${TEST_PARALLEL:-0}" != 1 ] || [ ${#servers[@]} -eq 1 ]; then
    rc=0
    for s in "${servers[@]}"; do
        echo "== pytest on the $s server"
        MIDICENTER_TEST_SERVER=$s "$py" -m pytest "$@" || rc=1
    done
    exit $rc
fi

work=$(mktemp -d -t midicenter-test-XXXXXX)
pids=()
# an interrupted make test stops every run (pytest then stops its servers)
trap 'kill -INT "${pids[@]}" 2>/dev/null; wait; exit 130' INT TERM
for s in "${servers[@]}"; do
    MIDICENTER_TEST_SERVER=$s "$py" -m pytest --basetemp="$work/$s" "$@" >"$work/$s.log" 2>&1 &
    pids+=($!)
done
echo "== pytest on the ${servers[*]} servers side by side (TEST_PARALLEL=1)"
rc=0
for i in "${!servers[@]}"; do
    s=${servers[$i]}
    echo "== pytest on the $s server"
    if [ "$i" = 0 ]; then
        tail -n +1 -f --pid="${pids[$i]}" "$work/$s.log"
    fi
    wait "${pids[$i]}" || rc=1
    [ "$i" = 0 ] || cat "$work/$s.log"
done
if [ $rc = 0 ]; then
    rm -rf "$work"
else
    echo "== the runs' logs and temp folders are kept in $work"
fi
exit $rc
