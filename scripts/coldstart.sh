#!/usr/bin/env bash
# Cold start and binary size of hello-world and multi-tenant-api against a bare lambda_runtime
# function, as docs/performance.md ("Cold start and size") reports them:
#
#   scripts/coldstart.sh                      # 200 interleaved runs of each binary
#   COLDSTART_RUNS=1000 scripts/coldstart.sh
#
# Builds the examples (and the e2e `lifecycle` function, which registers Lift's shutdown
# extension) with the workspace's release profile into ${CARGO_TARGET_DIR:-target}, and
# bench/coldstart (the bare function and the meter, outside the workspace) with the same profile
# into ${COLDSTART_TARGET_DIR:-<that>/coldstart}. Every binary is stripped, as
# `cargo lambda build --release` strips what it ships, then timed from spawn to its first
# `GET /next` against a Runtime API stand-in on 127.0.0.1 (bench/coldstart/src/main.rs), and
# its size printed beside the 6 MB target. Host architecture only (x86_64 here); for arm64 sizes
# see docs/deployment.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
coldstart_target="${COLDSTART_TARGET_DIR:-$target/coldstart}"
runs="${COLDSTART_RUNS:-200}"
size_budget=6000000

echo "coldstart: building the examples (release profile)" >&2
cargo build --release --quiet -p hello-world -p multi-tenant-api -p lift-e2e \
    --bin hello-world --bin multi-tenant-api --bin lifecycle
echo "coldstart: building bench/coldstart (release profile, own lockfile)" >&2
CARGO_TARGET_DIR="$coldstart_target" cargo build --release --quiet \
    --manifest-path bench/coldstart/Cargo.toml

stripped="$(mktemp -d)"
trap 'rm -rf "$stripped"' EXIT
names=(bare hello-world multi-tenant-api lifecycle)
paths=("$coldstart_target/release/coldstart-bare" "$target/release/hello-world"
       "$target/release/multi-tenant-api" "$target/release/lifecycle")
functions=()
for i in "${!names[@]}"; do
    strip -o "$stripped/${names[$i]}" "${paths[$i]}"
    functions+=("${names[$i]}=$stripped/${names[$i]}")
done

echo
echo "## Cold start"
echo
# multi-tenant-api needs its JWT settings to start; the HS256 secret keeps it off the network.
"$coldstart_target/release/coldstart" --runs "$runs" --warmup 2 --budget-ms 1 \
    --env JWT_SECRET=coldstart-local-hs256-secret-0123456789 \
    --env JWT_ISSUER=https://issuer.example.com/ \
    --env JWT_AUDIENCE=orders \
    "${functions[@]}"
echo
echo "(lifecycle is tests/e2e's function: it records a process-level metric before run(), so Lift"
echo " registers its shutdown extension before polling: the cost of that one registration.)"

echo
echo "## Size (stripped, $(uname -m))"
echo
echo "| binary | bytes | MB | zipped bytes | ≤ 6 MB |"
echo "|---|---:|---:|---:|---|"
for name in "${names[@]}"; do
    [[ "$name" == lifecycle ]] && continue
    file="$stripped/$name"
    bytes="$(stat -c %s "$file")"
    # What the deployment package holds: the binary as `bootstrap`, deflated.
    zipped="$(python3 - "$file" <<'EOF'
import io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buf.getvalue()))
EOF
)"
    if [[ "$name" == bare ]]; then
        verdict="reference"
    elif (( bytes <= size_budget )); then
        verdict="met"
    else
        verdict="not met"
    fi
    mb="$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1e6 }')"
    echo "| $name | $bytes | $mb | $zipped | $verdict |"
done
