#!/usr/bin/env bash
# A throwaway PostgreSQL server for benchmarks, set up like the embedded one (runner/connect.py:
# initdb --encoding=utf8 in the C.UTF-8 locale, a unix socket only, EMBEDDED_SETTINGS), from any server
# installation, Debian's PostgreSQL 15 by default:
#
#   scripts/bench-server.sh start DIR [PORT] [BIN]   # init (once) and start; prints the DSN
#   scripts/bench-server.sh stop DIR                 # stop it (rm -rf DIR to throw it away)
#
# e.g. `dsn=$(scripts/bench-server.sh start /tmp/pg15-bench 5815)`, then
# `midicenter --dsn "$dsn" bench search --files 1000000`, then `scripts/bench-server.sh stop /tmp/pg15-bench`.
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` OS user (runuser).
# The socket lives in DIR itself; keep DIR short (a socket path has at most 107 bytes).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,12p' "$0" >&2; exit 2; }
port=${3:-5815}
bin=${4:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)}
[ -x "$bin/pg_ctl" ] || { echo "bench-server: no PostgreSQL server binaries in '$bin' (apt-get install postgresql-15)" >&2; exit 1; }
as_owner() {
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
case "$cmd" in
start)
    if [ ! -s "$dir/PG_VERSION" ]; then
        mkdir -p "$dir"
        chmod 700 "$dir"
        [ "$(id -u)" = 0 ] && chown postgres: "$dir"
        as_owner env LC_ALL=C.UTF-8 "$bin/initdb" -D "$dir" --auth-local=trust --auth-host=reject \
            --encoding=utf8 -U postgres >/dev/null
        # the embedded server's settings, read from the runner so the two never drift apart
        py=$here/.venv/bin/python
        [ -x "$py" ] || py=python3
        settings=$(cd "$here" && "$py" -c 'from runner.connect import EMBEDDED_SETTINGS as s
print("\n".join(f"{k} = {v!r}" for k, v in s.items()))')
        printf "%s\n" "# --- scripts/bench-server.sh" "listen_addresses = ''" \
            "unix_socket_directories = '$dir'" "port = $port" "$settings" | as_owner tee -a "$dir/postgresql.conf" >/dev/null
    fi
    as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w start >/dev/null
    port=$(sed -n "s/^port = //p" "$dir/postgresql.conf" | tail -n 1)
    echo "host=$dir port=$port dbname=postgres user=postgres"
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    ;;
*)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
