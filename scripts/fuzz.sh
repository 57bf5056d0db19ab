#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: runs every cargo-fuzz target in fuzz/ for SECONDS each (default
# 60) on the nightly toolchain (libFuzzer, AddressSanitizer), installing cargo-fuzz when
# missing, and prints a line per target: executions, coverage, corpus size and crashes.
#
# Each target starts from its committed seeds (fuzz/corpus/TARGET, read only) and keeps what
# it finds in target/fuzz-corpus/TARGET. A crash stops the run with libFuzzer's report and
# the input under fuzz/artifacts/TARGET/; make it a regression test in tests/ (a file
# tests/api/fuzz_regressions.rs, the input inline) before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi

echo "== cargo +nightly fuzz build"
cargo +nightly fuzz build --fuzz-dir fuzz
bin_dir="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release"

summary=()
for target in $(cargo +nightly fuzz list --fuzz-dir fuzz); do
    echo "== $target for ${seconds}s"
    work="target/fuzz-corpus/$target"
    mkdir -p "$work" "fuzz/corpus/$target"
    log="target/fuzz-$target.log"
    status=0
    # The binary the build above made, run directly: `cargo fuzz run` would rebuild first.
    mkdir -p "fuzz/artifacts/$target"
    ASAN_OPTIONS=detect_odr_violation=0 "$bin_dir/$target" "$work" "fuzz/corpus/$target" \
        -artifact_prefix="fuzz/artifacts/$target/" -max_total_time="$seconds" \
        -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | tr -dc 0-9)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | tr -dc 0-9)
    corpus=$(find "$work" -type f | wc -l)
    if [ "$status" -ne 0 ]; then
        tail -40 "$log"
        echo "fuzz.sh: $target FAILED (exit $status); the input is under fuzz/artifacts/$target/" >&2
        exit 1
    fi
    line="$target: ${execs:-?} executions in ${seconds}s, coverage ${cov:-?} edges / ${ft:-?} features, corpus $corpus, crashes 0"
    echo "$line"
    summary+=("$line")
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
