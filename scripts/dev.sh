#!/usr/bin/env bash
# Runs the hello-world example as a local HTTP server (outside Lambda, no setup needed):
#
#   scripts/dev.sh            # serves on http://127.0.0.1:3000
#   LIFT_PORT=8080 scripts/dev.sh
#
# Then e.g. `curl 'http://127.0.0.1:3000/hello?name=Ada'`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LIFT_PORT="${LIFT_PORT:-3000}"
# Outside Lambda means no Runtime API, even if the shell has one exported.
unset AWS_LAMBDA_RUNTIME_API
exec cargo run -p hello-world "$@"
