#!/usr/bin/env bash
# pg_ctl for the test server. PostgreSQL refuses to run as root, so when root runs the tests this
# hands the data directory's folder to the `postgres` OS user and runs pg_ctl as that user.
# The binaries are Debian's PostgreSQL (MIDICENTER_TEST_PG_BIN overrides).
set -euo pipefail
bin=${MIDICENTER_TEST_PG_BIN:-}
if [ -z "$bin" ]; then
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[ -x "$bin/pg_ctl" ] || { echo "pg_ctl_wrapper: no PostgreSQL server binaries found (apt-get install postgresql-15)" >&2; exit 127; }
if [ "$(id -u)" != 0 ]; then
    exec "$bin/pg_ctl" "$@"
fi
datadir=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        -D|--pgdata) datadir=${args[i+1]:-} ;;
        --pgdata=*) datadir=${args[i]#--pgdata=} ;;
    esac
done
if [ -n "$datadir" ]; then
    parent=$(dirname "$datadir")
    mkdir -p "$parent"
    chown postgres: "$parent"
    [ -e "$datadir" ] && chown -R postgres: "$datadir"
    # let the postgres user traverse the (root-owned, 0700) pytest temp folders above it
    p=$parent
    while [ "$p" != "/" ]; do chmod o+x "$p"; p=$(dirname "$p"); done
fi
cd /
exec runuser -u postgres -- "$bin/pg_ctl" "$@"
