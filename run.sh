#!/usr/bin/env bash
# README command 1: set up .venv and run the default campaign on this machine (CPU, ~15 minutes).
# Extra arguments go to Snakemake, e.g. `./run.sh -n` to plan without running.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup-env.sh requirements.txt
exec .venv/bin/snakemake --profile profiles/local "$@"
