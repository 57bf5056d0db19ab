#!/usr/bin/env bash
# /metrics as a real Prometheus sees it: starts `tessera serve` (SQLite in a temp directory),
# lints one scrape with `promtool check metrics`, then runs Debian's `prometheus` for a few
# seconds against it and checks, through Prometheus's own HTTP API, that the target is up and
# that a tessera series is queryable.
#
#   scripts/prometheus-check.sh [path/to/tessera]   (default target/debug/tessera)
#
# Installs Debian's prometheus package when `prometheus` is missing. Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/debug/tessera}

if ! command -v prometheus >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -q prometheus >/dev/null ||
        { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q prometheus >/dev/null; }
fi
prometheus --version 2>&1 | head -n1

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "prometheus-check: FAIL: $*" >&2
    for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
    exit 1
}

# Polls `$1` (a command) every 0.2 s until it succeeds, for at most `$2` seconds.
until_ok() {
    local cmd=$1 limit=$2 i=0
    until eval "$cmd"; do
        i=$((i + 1))
        [ "$i" -ge $((limit * 5)) ] && return 1
        sleep 0.2
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

"$BIN" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
    --database-url "sqlite://$work/t.db" --log-format json 2>"$work/tessera.log" &
pids+=($!)
until_ok 'grep -q "tessera serving" "$work/tessera.log"' 30 || fail "tessera did not start"
addr=$(grep "tessera serving" "$work/tessera.log" | python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["fields"]["metrics_listen"])')
http=$(grep "tessera serving" "$work/tessera.log" | python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["fields"]["http_listen"])')
echo "tessera /metrics on $addr"

# Some work, so labelled series exist: a refused grant at the token endpoint.
curl -s -o /dev/null -d 'grant_type=client_credentials&client_id=nobody' "http://$http/oauth/token"

curl -sf "http://$addr/metrics" >"$work/scrape.txt" || fail "no scrape"
promtool check metrics <"$work/scrape.txt" || fail "promtool check metrics found problems"
echo "promtool check metrics: clean ($(grep -vc '^#' "$work/scrape.txt") samples)"

port=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tessera
    static_configs:
      - targets: ["$addr"]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$port" 2>"$work/prometheus.log" &
pids+=($!)

api="http://127.0.0.1:$port/api/v1"
query() {  # the first result's value of an instant query, or nothing
    curl -sf --get "$api/query" --data-urlencode "query=$1" |
        python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
until_ok '[ "$(query "up{job=\"tessera\"}" 2>/dev/null)" = 1 ]' 60 || fail "the tessera target never came up"
echo "prometheus: target up"
health=$(curl -sf "$api/targets" | python3 -c 'import json, sys; t = json.load(sys.stdin)["data"]["activeTargets"]; print(t[0]["health"], t[0]["lastError"] or "no error")')
echo "prometheus: target health $health"
[ "${health%% *}" = up ] || fail "target health: $health"

issued=$(query 'tessera_tokens_issued_total{kind="api_key"}')
[ -n "$issued" ] && [ "${issued%.*}" -ge 1 ] || fail "tessera_tokens_issued_total not queryable (got '$issued')"
grants=$(query 'tessera_oauth_grants_total{grant_type="client_credentials"}')
[ -n "$grants" ] || fail "tessera_oauth_grants_total not queryable"
echo "prometheus: tessera_tokens_issued_total{kind=\"api_key\"} = $issued, tessera_oauth_grants_total{grant_type=\"client_credentials\"} = $grants"
echo "prometheus-check: ok"
