#!/usr/bin/env bash
# Finds or starts a PostgreSQL server for the test suite, and prints one line:
#   TESSERA_TEST_POSTGRES_URL=postgres://…
# 1. TESSERA_TEST_POSTGRES_URL already set: kept as it is.
# 2. A server answering on 127.0.0.1:5432 as user postgres (trust auth): used.
# 3. Otherwise (or with TESSERA_CI_OWN_POSTGRES=1): installs Debian's postgresql package if
#    initdb is missing, and starts a throwaway server (initdb + pg_ctl) in a temporary
#    directory on a free port, with fsync off for speed unless TESSERA_CI_PG_OPTIONS gives
#    other server options ("" for Postgres's own defaults). Its data
#    directory is printed as TESSERA_CI_PG_DIR=… so the caller can stop it with
#    `scripts/ci-postgres.sh stop DIR`.
# Diagnostics go to stderr.
set -euo pipefail

bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
    if [ -n "$d" ]; then echo "$d"; else dirname "$(command -v initdb 2>/dev/null || echo /none/initdb)"; fi
}

as_owner() {  # initdb and postgres refuse to run as root
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

answers() {  # $1 = URL; never prompts for a password, gives up after 5 s
    command -v psql >/dev/null 2>&1 \
        && PGCONNECT_TIMEOUT=5 psql -w "$1" -XAtqc 'select 1' >/dev/null 2>&1 </dev/null
}

stop() {
    local dir=$1
    case "$dir" in */tessera-ci-pg.*) ;; *) echo "refusing to remove $dir" >&2; exit 1 ;; esac
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

start_own() {
    local bin dir port
    bin=$(bindir)
    if [ ! -x "$bin/initdb" ]; then
        echo "ci-postgres: installing Debian's postgresql package" >&2
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo -n"
        export DEBIAN_FRONTEND=noninteractive
        $sudo apt-get install -y -qq postgresql >/dev/null 2>&1 \
            || { $sudo apt-get update -qq && $sudo apt-get install -y -qq postgresql; } >&2 \
            || { echo "ci-postgres: could not install postgresql" >&2; exit 1; }
        bin=$(bindir)
    fi
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        echo "ci-postgres: running as root, but there is no postgres user to run the server" >&2
        exit 1
    fi
    dir=$(mktemp -d /tmp/tessera-ci-pg.XXXXXX)
    trap 'rm -rf "$dir"' ERR
    chmod 0755 "$dir"
    mkdir -p "$dir/sock"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 -N \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    for port in $(seq 54330 54399); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c max_connections=300 ${TESSERA_CI_PG_OPTIONS--c fsync=off}" \
            >/dev/null 2>&1; then
            echo "ci-postgres: started PostgreSQL on 127.0.0.1:$port in $dir" >&2
            echo "TESSERA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
            echo "TESSERA_CI_PG_DIR=$dir"
            return
        fi
    done
    cat "$dir/server.log" >&2 || true
    echo "ci-postgres: could not start PostgreSQL" >&2
    rm -rf "$dir"
    exit 1
}

case "${1:-find}" in
    stop) stop "$2" ;;
    find)
        if [ -n "${TESSERA_TEST_POSTGRES_URL:-}" ]; then
            echo "TESSERA_TEST_POSTGRES_URL=$TESSERA_TEST_POSTGRES_URL"
        elif [ "${TESSERA_CI_OWN_POSTGRES:-0}" != 1 ] && answers postgres://postgres@127.0.0.1:5432/postgres; then
            echo "ci-postgres: using the server on 127.0.0.1:5432" >&2
            echo "TESSERA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
        else
            start_own
        fi ;;
    *) echo "usage: $0 [find | stop DIR]" >&2; exit 2 ;;
esac
