#!/usr/bin/env bash
# A/B of two tessera builds on one machine, interleaved so both see the same conditions:
# seeds one store, copies it for each build, starts each build's server with the cache off,
# and alternates `tessera bench` runs between them.
#
#   scripts/bench-ab.sh OLD_BINARY NEW_BINARY            # authorize_cold and issue, 2 rounds
#   ONLY=authorize_cold ROUNDS=3 scripts/bench-ab.sh old new
#
# Build the old one from a worktree: git worktree add ../old <commit> && (cd ../old && cargo build --release)
set -euo pipefail
OLD=$(realpath "$1")
NEW=$(realpath "$2")
ONLY=${ONLY:-authorize_cold,issue}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-3s}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export RUST_LOG=${RUST_LOG:-warn,tessera=info}

"$OLD" bench-seed --database-url "sqlite://$work/old.db" --tokens 100000 >"$work/old.key" 2>/dev/null
cp "$work/old.db" "$work/new.db"
cp "$work/old.key" "$work/new.key"

# Starts a server; prints its address.
start() {
  local bin=$1 name=$2
  "$bin" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --database-url "sqlite://$work/$name.db" --log-format json \
    --cache-capacity 0 >/dev/null 2>"$work/$name.log" &
  pids+=("$!")
  for _ in $(seq 1 400); do
    if grep -q 'tessera serving' "$work/$name.log" 2>/dev/null; then
      grep 'tessera serving' "$work/$name.log" | head -n1 | grep -o '"listen":"[^"]*"' | cut -d'"' -f4
      return 0
    fi
    sleep 0.05
  done
  echo "server $name did not start" >&2
  return 1
}
old_addr=$(start "$OLD" old)
new_addr=$(start "$NEW" new)

echo "| build | scenario | conc | calls/s | × empty | p50 µs | × empty | p99 µs | × empty | p99.9 µs | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for _ in $(seq 1 "$ROUNDS"); do
  for build in old new; do
    addr=$old_addr
    [ "$build" = new ] && addr=$new_addr
    "$NEW" bench --addr "$addr" --cold-addr "$addr" --admin-key-file "$work/$build.key" \
      --only "$ONLY" --concurrency 1 --duration "$DURATION" --rounds 3 2>/dev/null |
      grep -E "^\| ($(echo "$ONLY" | tr , '|')) " | sed "s/^/| $build /"
  done
done
