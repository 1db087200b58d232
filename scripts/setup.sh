#!/usr/bin/env bash
# Creates (once) the Python venv holding the test tools:
#   - cargo-lambda: the Runtime API emulator (`cargo lambda watch`) and `cargo lambda invoke`,
#     installed with --no-deps to skip the ~400 MB ziglang wheel (only cross-builds need zig);
#   - moto[server] + cbor2: local stand-ins for CloudWatch, X-Ray, Secrets Manager and SSM;
#   - aws-lambda-powertools: the reference EMF writer Lift's metrics documents are compared with
#     (tests/e2e/tests/emf_powertools.rs); pure Python, and its optional extras are not needed;
#   - aws-embedded-metrics: AWS's EMF library for Python, the reference Lift's histograms are
#     compared with (tests/e2e/tests/emf_histograms.rs);
#   - cfn-lint with aws-sam-translator: validates the SAM template in deploy/ offline, after the
#     SAM transform (tests/e2e/tests/deploy_template.rs);
#   - PyJWT with cryptography: an independent JWT implementation that signs the tokens Lift's
#     verifier is tested with (tests/e2e/py/jwt_tokens.py).
# aws-sam-cli is deliberately not here: it only regenerates tests/fixtures (see its README).
#
# Idempotent: a stamp file keyed on the requirement list skips pip when nothing changed.
# The venv lives at ${LIFT_VENV:-$HOME/.cache/lift/venv}.
#
# Run it, or source it: when sourced it also exports LIFT_VENV and puts $LIFT_VENV/bin on PATH.
# Either way it prints the venv's bin directory as its last line of stdout.

lift_setup() {
    set -euo pipefail

    local venv="${LIFT_VENV:-$HOME/.cache/lift/venv}"
    local python="${LIFT_PYTHON:-python3}"
    # Installed in this order; the stamp is the hash of this list.
    local -a steps=(
        "--no-deps cargo-lambda==1.9.2"
        "moto[server]==5.* cbor2"
        "aws-lambda-powertools==3.37.0"
        "aws-embedded-metrics==3.5.0"
        "cfn-lint==1.58.0 aws-sam-translator==1.115.0"
        "PyJWT[crypto]==2.10.1"
    )
    local stamp="$venv/.lift-setup-stamp"
    local want
    want="$(printf '%s\n' "${steps[@]}" | sha256sum | cut -d' ' -f1)"

    if [[ -x "$venv/bin/python" && -x "$venv/bin/cargo-lambda" && -f "$stamp" \
          && "$(cat "$stamp")" == "$want" ]]; then
        echo "setup: test tools already installed in $venv" >&2
    else
        echo "setup: installing test tools into $venv" >&2
        if [[ ! -x "$venv/bin/python" ]]; then
            mkdir -p "$(dirname "$venv")" || return
            "$python" -m venv "$venv" || return
        fi
        # Explicit `|| return`s: errexit does not apply when this runs inside a condition.
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 \
            || return
        local step
        for step in "${steps[@]}"; do
            # Word splitting is wanted: each step is a pip argument list.
            # shellcheck disable=SC2086
            "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $step >&2 \
                || return
        done
        "$venv/bin/cargo-lambda" lambda --version >&2 || return
        printf '%s\n' "$want" >"$stamp" || return
    fi

    export LIFT_VENV="$venv"
    case ":$PATH:" in
        *":$venv/bin:"*) ;;
        *) export PATH="$venv/bin:$PATH" ;;
    esac
    echo "$venv/bin"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: export into the caller's shell, but leave its shell options as they were.
    __lift_opts="$(set +o)"
    __lift_rc=0
    lift_setup || __lift_rc=$?
    eval "$__lift_opts"
    unset __lift_opts
    return "$__lift_rc"
else
    lift_setup
fi
