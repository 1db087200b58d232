#!/usr/bin/env bash
# The test command: formatting, lints, the example builds, every test, the doc tests.
#
#   scripts/test.sh
#
# Environment:
#   LIFT_VENV         the test tools' venv (default ~/.cache/lift/venv), made by scripts/setup.sh
#   CARGO_TARGET_DIR  honoured when set, never overridden
#   LIFT_TEST_ARGS    extra arguments for `cargo nextest run` / `cargo test` (e.g. a filter)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=$SECONDS
declare -a summary=()

step() {
    local name="$1"
    shift
    local t0=$SECONDS
    echo
    echo "==> $name: $*"
    if "$@"; then
        summary+=("ok    $(printf '%4ds' $((SECONDS - t0)))  $name")
    else
        local rc=$?
        summary+=("FAIL  $(printf '%4ds' $((SECONDS - t0)))  $name")
        print_summary
        echo "test.sh: '$name' failed (exit $rc)" >&2
        exit "$rc"
    fi
}

print_summary() {
    echo
    echo "==> summary ($((SECONDS - started))s)"
    printf '    %s\n' "${summary[@]}"
}

# Test tools (cargo-lambda, moto); $LIFT_VENV/bin goes on PATH for the e2e tests.
echo "==> setup: scripts/setup.sh"
t0=$SECONDS
venv_bin="$(scripts/setup.sh)"
export LIFT_VENV="${venv_bin%/bin}"
export PATH="$venv_bin:$PATH"
summary+=("ok    $(printf '%4ds' $((SECONDS - t0)))  setup ($LIFT_VENV)")

step "fmt" cargo fmt --all -- --check
step "clippy" cargo clippy --workspace --all-targets --all-features -- -D warnings
step "build examples" cargo build -p hello-world -p observability -p middleware-showcase -p events -p multi-tenant-api -p lift-e2e --bins

# The e2e tests run the binaries built above and build nothing themselves.
target_dir="$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
export LIFT_E2E_BIN_DIR="$target_dir/debug"

read -r -a extra <<<"${LIFT_TEST_ARGS:-}"
if cargo nextest --version >/dev/null 2>&1; then
    step "tests (nextest)" cargo nextest run --workspace --all-features --no-fail-fast "${extra[@]}"
else
    echo "test.sh: cargo-nextest not found, falling back to cargo test" >&2
    step "tests" cargo test --workspace --all-features --no-fail-fast "${extra[@]}"
fi
step "doc tests" cargo test --workspace --all-features --doc
step "rustdoc" env RUSTDOCFLAGS="-D warnings" cargo doc -p lift -p lift-aws --no-deps --all-features

# Every fuzz target for a few seconds over its seeds and regression inputs, so that a crash
# found once stays found (its own target dir: cargo-fuzz builds with other flags).
step "fuzz (brief)" env FUZZ_SECONDS="${FUZZ_SECONDS:-5}" scripts/fuzz.sh

print_summary
echo "test.sh: all green"
