#!/usr/bin/env bash
# README command 2: set up .venv with the test tools and the system packages (Psi4, SLURM, Chromium), then
# run the whole test suite. Extra arguments go to pytest, e.g. `./test.sh tests/unit -x`, or
# `./test.sh -m "not workflow"` for the fast lane.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup-env.sh requirements-dev.txt
source scripts/system-packages.sh
# The tests' campaign has a MACE rung, so MACE's own environment (.venv-mace) is built too, as the workflow
# builds it for any campaign with one.
bash scripts/setup-mace-env.sh
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    # Every system package is installed here, so a skipped test is one that did not run: the run fails on
    # any skip but these (tests/conftest.py), whose reasons this machine cannot change.
    export ASTRAY_ALLOWED_SKIPS="${ASTRAY_ALLOWED_SKIPS-no CUDA device}"
fi
exec .venv/bin/python -m pytest "$@"
