#!/usr/bin/env bash
# Reproduces the README's benchmark: builds release, seeds a temporary store with 100,000
# tokens through the store, starts a server (cache on) and a second one on the same store
# (cache off, for the cold case), and runs `tessera bench` at concurrency 1, 16 and 64.
# Also reports memory per cached token and start-up time over a 1,000,000-token store.
#
#   scripts/bench.sh                 # full run (about 6 minutes on 2 cores)
#   DURATION=2s scripts/bench.sh     # shorter cells (ROUNDS=5 slices each)
#   STARTUP_TOKENS=0 scripts/bench.sh  # skip the 1M-token start-up check
#   ONLY=authorize_wide_cold,authorize_cold scripts/bench.sh  # some scenarios only
#   OVERLOAD_LIMIT=0 scripts/bench.sh  # skip the overload run (4x --max-concurrent-requests)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
TOKENS=${TOKENS:-100000}
STARTUP_TOKENS=${STARTUP_TOKENS:-1000000}
CONCURRENCY=${CONCURRENCY:-1,16,64}
CONNECTIONS=${CONNECTIONS:-4}
ROUNDS=${ROUNDS:-5}
ONLY=${ONLY:-}
OVERLOAD_LIMIT=${OVERLOAD_LIMIT:-16}
OVERLOAD_DURATION=${OVERLOAD_DURATION:-30s}

cargo build --release --quiet
BIN=target/release/tessera
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export RUST_LOG=${RUST_LOG:-warn,tessera=info}
# The scenarios mint their PATs with an API key, which the default `--pat-issuers 2fa`
# refuses (a PAT needs a TOTP session); what is measured is the check, not the minting.
export TESSERA_PAT_ISSUERS=any

# Starts `tessera serve` on a free port; sets SERVER_PID and SERVER_ADDR.
start_server() {
  local name=$1 db=$2
  shift 2
  # The default --max-tokens-per-user is in force: the issue scenario spreads its keys over
  # 256 users, each staying far below it.
  "$BIN" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --database-url "$db" --log-format json "$@" 2>"$work/$name.log" &
  SERVER_PID=$!
  pids+=("$SERVER_PID")
  for _ in $(seq 1 600); do
    if grep -q 'tessera serving' "$work/$name.log" 2>/dev/null; then
      SERVER_ADDR=$(grep 'tessera serving' "$work/$name.log" | head -n1 | grep -o '"listen":"[^"]*"' | cut -d'"' -f4)
      SERVER_HTTP=$(grep 'tessera serving' "$work/$name.log" | head -n1 | grep -o '"http_listen":"[^"]*"' | cut -d'"' -f4)
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$work/$name.log" >&2; return 1; }
    sleep 0.05
  done
  echo "server $name did not start" >&2
  return 1
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "## tessera benchmark"
echo
echo "Machine: $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); client and server share the cores. $(date -u +%Y-%m-%d)."
echo

db="sqlite://$work/bench.db"
seed_start=$(date +%s.%N)
"$BIN" bench-seed --database-url "$db" --tokens "$TOKENS" --secrets-out "$work/secrets" >"$work/admin.key" 2>"$work/seed.log"
seed_end=$(date +%s.%N)
echo "Seeded $TOKENS tokens through the store in $(elapsed "$seed_start" "$seed_end") s."
echo

start_server warm "$db"
warm_pid=$SERVER_PID warm_addr=$SERVER_ADDR warm_http=$SERVER_HTTP
start_server cold "$db" --cache-capacity 0
cold_addr=$SERVER_ADDR

"$BIN" bench --addr "$warm_addr" --cold-addr "$cold_addr" --http-addr "$warm_http" --admin-key-file "$work/admin.key" \
  --concurrency "$CONCURRENCY" --connections "$CONNECTIONS" --duration "$DURATION" --rounds "$ROUNDS" \
  ${ONLY:+--only "$ONLY"} 2>"$work/bench.log"

echo
before=$(rss_kib "$warm_pid")
filled=$("$BIN" bench --addr "$warm_addr" --admin-key-file "$work/admin.key" --fill-from "$work/secrets" --concurrency 64)
after=$(rss_kib "$warm_pid")
allowed=${filled%% *}
echo "Memory: filling the cache with $filled raised the warm server's RSS from $((before / 1024)) MiB to $((after / 1024)) MiB: $(( (after - before) * 1024 / (allowed > 0 ? allowed : 1) )) bytes per cached token."

if [ "$STARTUP_TOKENS" -gt 0 ]; then
  big="sqlite://$work/big.db"
  "$BIN" bench-seed --database-url "$big" --tokens "$STARTUP_TOKENS" >/dev/null 2>"$work/big-seed.log"
  t0=$(date +%s.%N)
  start_server big "$big"
  t1=$(date +%s.%N)
  echo
  echo "Start-up over $STARTUP_TOKENS tokens: serving after $(elapsed "$t0" "$t1") s (RSS $(( $(rss_kib "$SERVER_PID") / 1024 )) MiB; nothing is loaded up front)."
fi

if [ "$OVERLOAD_LIMIT" -gt 0 ]; then
  start_server shed "$db" --max-concurrent-requests "$OVERLOAD_LIMIT"
  shed_pid=$SERVER_PID shed_addr=$SERVER_ADDR
  rss_before=$(rss_kib "$shed_pid")
  echo
  echo "Overload: $((4 * OVERLOAD_LIMIT)) concurrent warm checks for $OVERLOAD_DURATION against --max-concurrent-requests $OVERLOAD_LIMIT (4x):"
  echo
  "$BIN" bench --overload --addr "$shed_addr" --admin-key-file "$work/admin.key" \
    --concurrency "$((4 * OVERLOAD_LIMIT))" --connections "$CONNECTIONS" --duration "$OVERLOAD_DURATION" 2>"$work/overload.log"
  echo
  echo "Overloaded server's RSS: $((rss_before / 1024)) MiB before, $(( $(rss_kib "$shed_pid") / 1024 )) MiB after."
fi
