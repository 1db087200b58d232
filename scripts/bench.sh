#!/usr/bin/env bash
# Every benchmark in one run: each criterion bench, then W1 beside its anchors (wall time) and
# W1's instructions per invocation under callgrind (the figure that does not drift).
#
#   scripts/bench.sh                 everything
#   scripts/bench.sh criterion       the criterion benches only
#   scripts/bench.sh w1              W1 only (run_all.sh and instructions.sh)
#
# Environment:
#   CARGO_TARGET_DIR   honoured when set (the W1 binary is read from it)
#   W1_ANCHORS         the anchors' directory (default ../shared/bench/anchors beside the repo)
#   W1_WORK            where run_all.sh builds the anchors (default /tmp/w1-anchors)
#   BENCH_ARGS         extra arguments for each `cargo bench` (e.g. "-- --quick")
#
# Figures go to docs/performance.md by hand, with the command that produced them: wall time on
# a shared machine drifts by half, so a run is a reading, not a record.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
what="${1:-all}"
read -r -a extra <<<"${BENCH_ARGS:-}"

# Each criterion bench with the features it needs: `package bench features`.
benches=(
    "lift corridor -"
    "lift observability -"
    "lift middleware -"
    "lift events -"
    "lift security jwt"
    "lift xray opentelemetry"
    "lift-aws logs cloudwatch-logs"
)

criterion() {
    local line package bench features
    for line in "${benches[@]}"; do
        read -r package bench features <<<"$line"
        echo
        echo "==> cargo bench -p $package --bench $bench${features:+ (features: $features)}"
        if [[ "$features" == "-" ]]; then
            cargo bench -p "$package" --bench "$bench" "${extra[@]}"
        else
            cargo bench -p "$package" --features "$features" --bench "$bench" "${extra[@]}"
        fi
    done
}

w1() {
    local anchors="${W1_ANCHORS:-../shared/bench/anchors}"
    if [[ ! -x "$anchors/run_all.sh" ]]; then
        echo "bench.sh: no W1 anchors at $anchors (set W1_ANCHORS)" >&2
        return 1
    fi
    cargo build --release -p w1-lift
    local target
    target="$(cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    local bin="$target/release/w1-lift"
    echo
    echo "==> W1 beside the anchors: W1_EXTRA=\"lift=$bin;lift-traced=$bin --traced\" $anchors/run_all.sh"
    # The anchors build into their own folders (the floor is read from there below), never
    # into this workspace's target directory.
    env -u CARGO_TARGET_DIR W1_EXTRA="lift=$bin;lift-traced=$bin --traced" "$anchors/run_all.sh"

    local work="${W1_WORK:-/tmp/w1-anchors}"
    local floor="$work/rust-baseline/target/release/w1-rust-baseline"
    echo
    echo "==> W1 instructions per invocation (callgrind)"
    W1_FLOOR="$floor" "$anchors/instructions.sh" "$bin"
    W1_FLOOR="$floor" "$anchors/instructions.sh" "$bin" --traced
    W1_FLOOR="$floor" "$anchors/instructions.sh" "$bin" --cloudwatch-logs
}

case "$what" in
    all) criterion; w1 ;;
    criterion) criterion ;;
    w1) w1 ;;
    *) sed -n 2,15p "$0"; exit 2 ;;
esac
