#!/usr/bin/env bash
# MACE's own environment, .venv-mace, from envs/mace-requirements.txt (mace-torch pins e3nn 0.4.4, which
# astray's .venv cannot hold). Run by the workflow's mace_environment job when a campaign has a MACE rung,
# and by test.sh. Idempotent: reinstalls only when the requirements changed; a lock keeps two campaigns
# from building it at once.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-mace
requirements=envs/mace-requirements.txt
exec 9>".venv-mace.lock"
flock 9
stamp="$venv/.astray-requirements.sha256"
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "astray: building MACE's environment in $venv (first time: about a minute)"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$requirements"
    echo "$wanted" > "$stamp"
fi
