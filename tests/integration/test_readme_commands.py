"""The commands of README.md and docs/ work in the environment the first command builds. The test
environment is that environment plus the test tools alone, so every test that runs a documented command
(the report, the planning summary, a plan, a SLURM run) runs it where a user would; every command in a
shell block of the README or docs/ is named here with the test that runs it, and the first command and the
README's own campaign file plan here."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_workflow import planned_jobs

REPO = Path(__file__).resolve().parents[2]
TEST_TOOLS = {"pytest", "pytest-timeout", "ruff", "selenium"}
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

SUMMARY_TEST = "test_the_summary_writes_the_results_page_from_the_run"
SLURM_TEST = "test_tiny_campaign_runs_through_sbatch_with_gpus_for_training"
PAPER_TEST = "test_the_paper_scale_config_plans_its_training_grid"
SELECTION_TEST = "test_the_selection_config_plans_every_round_of_both_committees"
# Every command of a shell block in README.md or docs/, and the test that runs it.
COMMANDS_RUN_BY = {
    "./run.sh": "test_readme_commands.py::test_the_readmes_first_command_plans_the_default_campaign",
    "./run.sh -n": "test_readme_commands.py::test_the_readmes_first_command_plans_the_default_campaign",
    "./run.sh --configfile my_campaign.yaml": "test_readme_commands.py::test_the_readmes_own_campaign_file_plans",
    "./test.sh": "test_readme_commands.py::test_ci_runs_exactly_the_readmes_test_command",
    ".venv/bin/snakemake --report report.html": "test_workflow.py::test_report_gathers_plots_and_tables",
    ".venv/bin/python -m astray.report.summary results/": f"test_workflow.py::{SUMMARY_TEST}",
    "$EDITOR profiles/slurm/config.yaml": f"test_slurm.py::{SLURM_TEST}",  # the test writes the SITE lines
    ".venv/bin/snakemake --profile profiles/slurm": f"test_slurm.py::{SLURM_TEST}",
    ".venv/bin/python -m astray.plan --configfile config/paper_scale.yaml": f"test_sources_workflow.py::{PAPER_TEST}",
    # Planned whole (its dry run and summary); run whole at tiny scale by test_selection_workflow.py.
    ".venv/bin/python -m astray.plan --configfile config/selection.yaml": f"test_sources_workflow.py::{SELECTION_TEST}",
    "./run.sh --configfile config/selection.yaml": f"test_sources_workflow.py::{SELECTION_TEST}",
    "sudo apt-get install psi4": "test_psi4.py::test_the_schema_flag_is_one_the_installed_psi4_accepts",
    # Run in its dry mode, on the CPU: no GPU here.
    "bash benchmarks/gpu.sh": "test_workflow.py::test_the_gpu_benchmark_runs_every_case_in_its_dry_mode_on_the_cpu",
}
# The commands no test here can run, and why.
NOT_RUN_HERE = {
    "conda env create -f envs/psi4.yaml -p .psi4": "conda-forge is unreachable from the test machine",
    "export ASTRAY_PSI4=$PWD/.psi4/bin/psi4": "points astray at the conda Psi4 above",
}


def documented_commands() -> dict:
    """{command: document} for every line of every ```bash block, comments dropped."""
    commands = {}
    for document in DOCUMENTS:
        for block in re.findall(r"```bash\n(.*?)```", document.read_text(), flags=re.S):
            for line in block.splitlines():
                command = line.split(" #")[0].strip()
                if command and not command.startswith("#"):
                    commands.setdefault(command, document.name)
    return commands


def test_every_documented_command_is_run_by_a_named_test():
    commands = documented_commands()
    unaccounted = {c: where for c, where in commands.items() if c not in COMMANDS_RUN_BY and c not in NOT_RUN_HERE}
    assert not unaccounted, f"documented commands no test runs: {unaccounted}"
    assert set(COMMANDS_RUN_BY) | set(NOT_RUN_HERE) == set(commands), "a listed command is no longer documented"
    for command, test in COMMANDS_RUN_BY.items():
        file, name = test.split("::")
        path = next(REPO.glob(f"tests/*/{file}"))
        assert f"def {name}(" in path.read_text(), f"{command!r}: {test} does not exist"


def test_ci_runs_exactly_the_readmes_test_command():
    lines = [line for line in (REPO / ".ci/run").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[-1] == "./test.sh"


def test_the_readme_states_no_measured_figure_of_its_own():
    """Measured numbers drift; the README points to docs/results.md, which the summary command writes."""
    text = (REPO / "README.md").read_text()
    figures = re.findall(r"\b\d[\d.,]*\s?(?:eV|meV|s|min|minutes|hours|%|GB|MB|jobs)\b", text)
    assert not figures, figures


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
    modules = [tool.replace("-", "_") for tool in TEST_TOOLS]
    imports = re.compile(r"^\s*(?:import|from)\s+(" + "|".join(modules) + r")\b", re.M)
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
    assert jobs["plot_parity"] == 2 and jobs["explorer"] == jobs["abstract"] == 1
    assert not (tmp_path / "results").exists()


@pytest.mark.workflow
def test_the_readmes_own_campaign_file_plans(tmp_path):
    """The README's my_campaign.yaml, as printed, laid over the default with `./run.sh --configfile`: its
    rung joins the default's ladder and its seeds replace the default's."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    block = re.search(r"```yaml\n(# my_campaign.yaml.*?)```", (REPO / "README.md").read_text(), flags=re.S).group(1)
    (tmp_path / "my_campaign.yaml").write_text(block)
    command = ["./run.sh", "-n", "--directory", str(tmp_path), "--configfile", str(tmp_path / "my_campaign.yaml")]
    result = subprocess.run(command,
                            capture_output=True, text=True, cwd=REPO, timeout=900)  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert planned_jobs(result)["train"] == 2 * 5 * 5 * 2  # schnet_m and schnet_l x sizes x seeds x kinds


def test_every_link_of_the_readme_and_docs_leads_somewhere():
    """Relative links point at files that exist and, with an anchor, at one of their headings."""
    broken = []
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            if not linked.exists():
                broken.append(f"{document.name}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in headings(linked):
                broken.append(f"{document.name}: {target} (no such heading)")
    assert not broken, broken


def headings(document: Path) -> set:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces as hyphens."""
    titles = re.findall(r"^#+\s+(.+)$", document.read_text(), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-") for title in titles}
