#!/usr/bin/env bash
# Create or update .venv with astray's pinned dependencies. Sourced by run.sh and test.sh.
# Usage: source scripts/setup-env.sh [requirements file]   (default: requirements.txt)
# Idempotent: reinstalls only when the requirements file changed since the last install.
set -euo pipefail

requirements="${1:-requirements.txt}"
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
    echo "astray: creating virtual environment in .venv"
    if ! "$python" -m venv .venv 2>/dev/null; then
        # Debian's python3 ships without ensurepip; its venv module comes as a separate package.
        if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
            echo "astray: installing python3-venv with apt-get"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            rm -rf .venv
            "$python" -m venv .venv
        else
            echo "astray: '$python -m venv' failed; install your distribution's python3-venv package" >&2
            exit 1
        fi
    fi
fi

stamp=".venv/.astray-$(basename "$requirements").sha256"
wanted=$(cat "$requirements" requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "astray: installing pinned dependencies from $requirements (first time: a few minutes)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r "$requirements"
    .venv/bin/python -m pip install --quiet --no-deps -e .
    echo "$wanted" > "$stamp"
fi
