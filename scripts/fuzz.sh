#!/usr/bin/env bash
# A short run of every fuzz target (see docs/fuzzing.md): each over its seeds and its committed
# regression inputs, with a throwaway corpus, failing on the first crash.
#
#   scripts/fuzz.sh [target...]      all targets when none is named
#
# Environment:
#   FUZZ_SECONDS           how long each target runs (default 5)
#   LIFT_FUZZ_TARGET_DIR   the fuzz build's target directory (default ~/.cache/lift/target-fuzz).
#                          Never the main target dir: the sanitizer flags differ, so sharing it
#                          would rebuild everything both ways. CARGO_TARGET_DIR is not used.
#   FUZZ_NICE              the niceness of the build and the runs (default 19)
#
# cargo-fuzz is installed (`cargo install cargo-fuzz --locked`) when missing. It needs nightly
# compiler flags, which RUSTC_BOOTSTRAP=1 allows on a stable toolchain.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

seconds="${FUZZ_SECONDS:-5}"
niceness="${FUZZ_NICE:-19}"
export CARGO_TARGET_DIR="${LIFT_FUZZ_TARGET_DIR:-$HOME/.cache/lift/target-fuzz}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

started=$SECONDS
echo "==> build: cargo fuzz build (target dir $CARGO_TARGET_DIR)"
for t in "${targets[@]}"; do
    nice -n "$niceness" cargo fuzz build "$t"
done
echo "    built in $((SECONDS - started))s"

scratch="$(mktemp -d /tmp/lift-fuzz.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT

failed=()
for t in "${targets[@]}"; do
    corpus="$scratch/corpus/$t"
    mkdir -p "$corpus"
    inputs=("$corpus")
    [ -d "seeds/$t" ] && inputs+=("seeds/$t")
    [ -d "regressions/$t" ] && inputs+=("regressions/$t")
    args=(-max_total_time="$seconds" -print_final_stats=1)
    [ -f "$t.dict" ] && args+=(-dict="$t.dict")
    log="$scratch/$t.log"
    t0=$SECONDS
    if nice -n "$niceness" cargo fuzz run "$t" "${inputs[@]}" -- "${args[@]}" >"$log" 2>&1; then
        runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
        cov="$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)"
        printf 'ok    %4ds  %-14s %s runs, %s\n' $((SECONDS - t0)) "$t" "${runs:-?}" "${cov:-cov: ?}"
    else
        printf 'FAIL  %4ds  %-14s\n' $((SECONDS - t0)) "$t"
        tail -n 40 "$log" >&2
        failed+=("$t")
    fi
done

echo "==> $((SECONDS - started))s in all"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz.sh: crashed: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
