#!/usr/bin/env bash
# Make sure the Debian packages the tests need are present: a PostgreSQL server, pgTAP and pg_prove,
# Chromium and chromedriver, PgBouncer.
# As root they are installed with apt; otherwise this names the packages to install and fails.
set -euo pipefail
need=()
ls -d /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql-15 postgresql-contrib)
ls /usr/share/postgresql/*/extension/pgtap.control >/dev/null 2>&1 || need+=(postgresql-15-pgtap)
command -v pg_prove >/dev/null 2>&1 || need+=(libtap-parser-sourcehandler-pgtap-perl)
# the browse page's tests drive Debian's Chromium through its matching driver (never a downloaded browser)
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || need+=(chromium chromium-driver)
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null 2>&1 || need+=(pgbouncer)   # tests/test_pooler.py
if [ "$#" -gt 0 ]; then   # extra packages asked for by a make target
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
fi
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
        apt-get update -qq >/dev/null 2>&1
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    }
else
    echo "missing Debian packages: ${need[*]}" >&2
    echo "install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
fi
