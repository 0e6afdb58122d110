#!/usr/bin/env bash
# Debian packages astray's tests need beyond Python: Psi4 (the second quantum-chemistry engine), SLURM
# with munge (the one-node cluster the SLURM profile is tested on) and Chromium with its WebDriver (the
# explorer's browser test). Sourced by test.sh.
# Installs with apt-get when run as root; otherwise says what to install.
set -euo pipefail

missing=()
command -v psi4 >/dev/null || missing+=(psi4)
command -v slurmctld >/dev/null || missing+=(slurm-wlm)
command -v munged >/dev/null || missing+=(munge)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)

if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "astray: installing ${missing[*]} with apt-get (first time: a few minutes)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "astray: missing ${missing[*]}; install with 'sudo apt-get install ${missing[*]}'" \
             "(Psi4 also: 'conda install -c conda-forge psi4'). Without SLURM its test is skipped;" \
             "without Psi4 set ASTRAY_SKIP_PSI4=1 to skip the Psi4 tests; without Chromium the explorer's" \
             "browser test is skipped" >&2
    fi
fi
