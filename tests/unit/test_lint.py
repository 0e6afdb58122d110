"""The code stays as its linters want it: ruff's checks and format (pyproject.toml) and `snakemake --lint`,
run by the README's test command so CI keeps them clean."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUFF = [sys.executable, "-m", "ruff"]


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300, **kwargs)


def test_ruff_finds_nothing_to_fix():
    result = run([*RUFF, "check", "--no-cache", "."])
    assert result.returncode == 0, result.stdout[-3000:]


def test_ruff_format_leaves_every_file_as_it_is():
    result = run([*RUFF, "format", "--check", "--no-cache", "."])
    assert result.returncode == 0, result.stdout[-3000:]


def test_snakemake_lint_finds_nothing(tmp_path):
    """Linted on the tiny campaign in a scratch folder: the rules are the same whatever the campaign."""
    command = [sys.executable, "-m", "snakemake", "--lint", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
               "--configfile", str(REPO / "tests" / "config" / "tiny.yaml")]  # fmt: skip
    result = run(command)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
