#!/usr/bin/env bash
# scripts/soak.sh [DURATION]: a soak of two replicas on one Postgres (default 30m).
#
# Builds release, makes a fresh database (on a Postgres of its own, started by
# scripts/ci-postgres.sh with the server's defaults), starts replicas a and b, and runs
# `tessera soak` against both: ~90 % Authorize
# (warm and cold keys, sessions, OAuth tokens, revoked tokens that must be refused), 5 %
# Issue, 3 % Revoke, 2 % admin calls and OAuth grants. Meanwhile replica b is killed with
# SIGKILL and restarted every KILL_EVERY (default 7m), and the replicas' Postgres listener
# connections (their change feeds) are terminated every LISTENER_KILL_EVERY (default 4m).
# Prints the soak report (per WINDOW, default 5m: calls, errors, failovers, Authorize p50
# and p99; revoked tokens' state at the end) and replica a's RSS after warm-up and at the end.
#
#   scripts/soak.sh            # 30 minutes
#   scripts/soak.sh 10m        # shorter; WINDOW=1m KILL_EVERY=3m LISTENER_KILL_EVERY=2m
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-30m}
WINDOW=${WINDOW:-5m}
KILL_EVERY=${KILL_EVERY:-7m}
LISTENER_KILL_EVERY=${LISTENER_KILL_EVERY:-4m}
CONCURRENCY=${CONCURRENCY:-16}
WARMUP=${WARMUP:-120}

seconds() {  # 30m, 90s, 1h, or a bare number of seconds
    case "$1" in
        *h) echo $(( ${1%h} * 3600 )) ;;
        *m) echo $(( ${1%m} * 60 )) ;;
        *s) echo "${1%s}" ;;
        *) echo "$1" ;;
    esac
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

cargo build --release --quiet
BIN=target/release/tessera
work=$(mktemp -d)
pids=()
# A Postgres of its own with the server's defaults (fsync and autovacuum on), unless
# TESSERA_TEST_POSTGRES_URL names one: a shared test server may run without autovacuum, and
# then no table is ever analyzed or vacuumed and the figures measure that instead.
pg_env=$(TESSERA_CI_OWN_POSTGRES=1 TESSERA_CI_PG_OPTIONS="" scripts/ci-postgres.sh)
while IFS= read -r line; do [ -n "$line" ] && export "$line"; done <<<"$pg_env"
base=$TESSERA_TEST_POSTGRES_URL
db="tessera_soak_$$"
psql -w "$base" -XAtqc "CREATE DATABASE $db" >/dev/null
url="${base%/*}/$db"
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql -w "$base" -XAtqc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    [ -n "${TESSERA_CI_PG_DIR:-}" ] && scripts/ci-postgres.sh stop "$TESSERA_CI_PG_DIR"
    rm -rf "$work"
}
trap cleanup EXIT

export TESSERA_DATABASE_URL=$url
export TESSERA_SECRET_KEY
TESSERA_SECRET_KEY=$(head -c 48 /dev/urandom | base64 -w0)
export TESSERA_TOKEN_HMAC_KEY
TESSERA_TOKEN_HMAC_KEY=$(head -c 48 /dev/urandom | base64 -w0)
export RUST_LOG=${RUST_LOG:-warn,tessera=info} TESSERA_LOG_FORMAT=json
# Issue outpaces Revoke (5 % to 3 %): live keys grow by design, over 64 users.
export TESSERA_MAX_TOKENS_PER_USER=${TESSERA_MAX_TOKENS_PER_USER:-100000}
# A cache that is full before the warm-up ends (new keys arrive at ~150/s), so RSS after it
# says whether anything grows without bound, not how full the cache got.
export TESSERA_CACHE_CAPACITY=${TESSERA_CACHE_CAPACITY:-10000}
"$BIN" migrate
"$BIN" bootstrap >"$work/admin-key"

declare -A port pid_of
port[a]=$(free_port)
port[b]=$(free_port)
start() {  # a replica on its fixed port, waiting until it serves
    local name=$1 log="$work/$1.log"
    "$BIN" serve --listen "127.0.0.1:${port[$name]}" --http-listen 127.0.0.1:0 --metrics-listen "" \
        >>"$log" 2>&1 &
    pid_of[$name]=$!
    pids+=("$!")
    for _ in $(seq 1 600); do
        [ "$(grep -c 'tessera serving' "$log" 2>/dev/null)" -ge "${2:-1}" ] && return 0
        kill -0 "${pid_of[$name]}" 2>/dev/null || { tail -20 "$log" >&2; return 1; }
        sleep 0.05
    done
    echo "replica $name did not start" >&2
    return 1
}
start a
start b
starts_b=1

total=$(seconds "$DURATION")
echo "== soak: $DURATION against replicas a (:${port[a]}) and b (:${port[b]}), c=$CONCURRENCY"
"$BIN" soak --addr "127.0.0.1:${port[a]},127.0.0.1:${port[b]}" --admin-key-file "$work/admin-key" \
    --duration "$DURATION" --window "$WINDOW" --concurrency "$CONCURRENCY" >"$work/report.md" &
soak=$!
pids+=("$soak")

kill_every=$(seconds "$KILL_EVERY")
listener_every=$(seconds "$LISTENER_KILL_EVERY")
begun=$(date +%s)
rss_warm=""
kills=0
listener_kills=0
while kill -0 "$soak" 2>/dev/null; do
    sleep 1
    elapsed=$(( $(date +%s) - begun ))
    if [ -z "$rss_warm" ] && [ "$elapsed" -ge "$WARMUP" ]; then
        rss_warm=$(rss_kib "${pid_of[a]}")
    fi
    [ "$elapsed" -ge "$total" ] && continue
    if [ "$elapsed" -gt 0 ] && [ $(( elapsed % kill_every )) -eq 0 ]; then
        kill -9 "${pid_of[b]}" 2>/dev/null || true
        wait "${pid_of[b]}" 2>/dev/null || true
        starts_b=$(( starts_b + 1 ))
        start b "$starts_b"
        kills=$(( kills + 1 ))
        echo "   ${elapsed}s: replica b killed (SIGKILL) and restarted"
    fi
    if [ "$elapsed" -gt 0 ] && [ $(( elapsed % listener_every )) -eq 0 ]; then
        n=$(psql -w "$base" -XAtqc "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$db' AND query ILIKE 'LISTEN%'")
        listener_kills=$(( listener_kills + 1 ))
        echo "   ${elapsed}s: $n listener connection(s) terminated"
    fi
done
wait "$soak"
rss_end=$(rss_kib "${pid_of[a]}")
echo "== report"
cat "$work/report.md"
echo
echo "replica b killed and restarted $kills time(s); listener connections terminated $listener_kills time(s)"
if [ -n "$rss_warm" ]; then
    growth=$(python3 -c "print(f'{($rss_end - $rss_warm) * 100 / $rss_warm:+.1f}')")
    echo "replica a RSS: ${rss_warm} KiB after ${WARMUP}s, ${rss_end} KiB at the end (${growth} %)"
fi
