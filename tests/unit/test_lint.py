"""The code stays as its linters want it: ruff's checks and format (pyproject.toml) and `snakemake --lint`,
run by the README's test command so CI keeps them clean."""

import ast
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


def test_every_process_astray_starts_has_a_time_limit():
    """A hung Psi4, nequip tool, git or Snakemake fails its job by name instead of running into the
    scheduler's (or CI's) limit: every subprocess call in the package passes a timeout."""
    unlimited = []
    for path in sorted((REPO / "astray").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if _starts_a_process(node) and not any(keyword.arg == "timeout" for keyword in node.keywords):
                unlimited.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not unlimited, unlimited


def _starts_a_process(node) -> bool:
    """subprocess.run, check_output or call."""
    function = node.func if isinstance(node, ast.Call) else None
    return (
        isinstance(function, ast.Attribute)
        and getattr(function.value, "id", None) == "subprocess"
        and function.attr in ("run", "check_output", "call")
    )
