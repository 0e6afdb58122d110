#!/usr/bin/env bash
# README command 2: set up .venv with the test tools and Psi4, then run the whole test suite.
# Extra arguments go to pytest, e.g. `./test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup-env.sh requirements-dev.txt
source scripts/system-packages.sh
exec .venv/bin/python -m pytest "$@"
