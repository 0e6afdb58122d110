"""The README's commands work in the environment its first command builds. The test environment is that
environment plus the test tools alone, so every test that runs a README command (the report, the planning
summary, a plan, a SLURM run) runs it where a user would; and the first command itself plans here."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_workflow import planned_jobs

REPO = Path(__file__).resolve().parents[2]
TEST_TOOLS = {"pytest", "ruff"}


def pinned(requirements: Path) -> dict:
    lines = [line.split("#")[0].strip() for line in requirements.read_text().splitlines()]
    return dict(
        re.match(r"([A-Za-z0-9_.-]+)(.*)", line).groups() for line in lines if line and not line.startswith("-")
    )


def test_the_test_environment_is_the_run_environment_and_the_test_tools():
    development = REPO / "requirements-dev.txt"
    assert "-r requirements.txt" in development.read_text().splitlines()
    assert set(pinned(development)) == TEST_TOOLS, "a package a README command needs belongs in requirements.txt"
    # ... and the workflow never needs a test tool.
    sources = [*REPO.glob("astray/**/*.py"), *REPO.glob("workflow_scripts/*.py"), *REPO.glob("rules/*.smk")]
    imports = re.compile(r"^\s*(?:import|from)\s+(" + "|".join(TEST_TOOLS) + r")\b", re.M)
    assert not [str(path) for path in sources if imports.search(path.read_text())]


@pytest.mark.workflow
def test_the_readmes_first_command_plans_the_default_campaign(tmp_path):
    """`./run.sh -n` as the README says, in a scratch folder that holds the default config: it checks the
    environment (installing nothing new here) and plans every job of the default campaign."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    result = subprocess.run(["./run.sh", "-n", "--directory", str(tmp_path)], capture_output=True, text=True,
                            cwd=REPO, timeout=900)  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    jobs = planned_jobs(result)
    assert jobs["train"] == 5 * 3 * 2 and jobs["predict_pretrained"] == 1  # sizes x seeds x kinds, SevenNet-0
    assert not (tmp_path / "results").exists()
