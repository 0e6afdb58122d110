"""Plan a campaign before spending allocation: jobs per rule, CPU-hours of labeling, GPU-hours of
training and the disk the results will take.

    .venv/bin/python -m astray.plan --configfile config/paper_scale.yaml [other snakemake options]

Snakemake makes the plan (a dry run with the given options; the local profile unless one is given), so
the job counts are exactly those a run would schedule; the costs come from astray.campaign.costs.
"""

import itertools
import math
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from ase.formula import Formula

from astray.campaign.costs import basis_functions, disk_bytes, label_seconds, load_calibration, training_seconds
from astray.campaign.pool_plan import (
    LabelCensus,
    PoolSummary,
    SourceFiles,
    built_summary,
    cached_census,
    cached_summary,
    estimated_census,
    labeled_at_most,
    read_plan,
)
from astray.datasets.selection import strategy_of, training_kinds
from astray.labels.levels import Level
from astray.models.registry import architecture

REPO = Path(__file__).resolve().parents[1]
# A dry run of paper scale plans in under a minute (benchmarks/planning.py); an hour means it hangs.
PLAN_TIMEOUT_SECONDS = 3600


def dry_run(snakemake_args) -> tuple[dict, float]:
    """Jobs per rule of a Snakemake dry run with these options, and how long planning took."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--dry-run", "--quiet", "rules"]
    if not any(arg == "--profile" or arg.startswith("--profile=") for arg in snakemake_args):
        command += ["--profile", str(REPO / "profiles" / "local")]
    start = time.perf_counter()
    try:
        result = subprocess.run([*command, *snakemake_args], capture_output=True, text=True,
                                timeout=PLAN_TIMEOUT_SECONDS)  # fmt: skip
    except subprocess.TimeoutExpired:
        sys.exit(f"astray.plan: Snakemake's dry run did not finish within {PLAN_TIMEOUT_SECONDS} s")
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        # Snakemake prints a planning error on stdout and its profile notice on stderr: show both.
        sys.exit("\n".join(part for part in (result.stderr.strip(), result.stdout.strip()) if part))
    return jobs_per_rule(result.stdout + result.stderr), seconds


def jobs_per_rule(output: str) -> dict:
    """Job counts from the 'Job stats' table Snakemake prints; empty when there is nothing to do."""
    if "Job stats:" not in output:
        return {}
    table = output.split("Job stats:")[-1]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M) if rule != "total"}


def workdir_of(snakemake_args) -> Path:
    for flag in ("--directory", "-d"):
        if flag in snakemake_args:
            return Path(snakemake_args[snakemake_args.index(flag) + 1])
    return Path.cwd()


def estimate(config: dict, pool, calibration: dict, counted=()) -> dict:
    """Upper-bound costs of the whole campaign (not only of what is left to do); `counted`, the sources
    whose geometries `pool` estimates instead of holding."""
    level = Level.from_config(config["labels"])
    datasets, training = config["datasets"], config["training"]
    # Pretrained models are not trained: one inference job each, minutes, not counted here. An architecture
    # benchmarks/cost_model.py has not measured (fine-tuning, Allegro) is counted, not priced.
    trained = [spec for spec in config["models"].values() if architecture(spec).trained]
    kinds = training_kinds(datasets)
    runs = [(spec, size) for spec in trained for size in datasets["sizes"]
            for _ in kinds for _ in datasets["seeds"]]  # fmt: skip
    priced = [(spec, size) for spec, size in runs if spec["architecture"] in calibration["training"]]
    computed = [not provided for provided in pool.provided]
    formulas = [formula for formula, compute in zip(pool.formulas, computed) if compute]
    unrestricted = [flag for flag, compute in zip(pool.unrestricted, computed) if compute]
    atoms_per_geometry = {formula: len(Formula(formula)) for formula in set(pool.formulas)}
    mean_atoms = sum(atoms_per_geometry[f] for f in pool.formulas) / len(pool)
    training_geometries = sum(datasets["sizes"]) * len(kinds) * len(datasets["seeds"])
    seconds = label_seconds(formulas, unrestricted, level, calibration)
    molecules = len(set(pool.molecules)) if hasattr(pool, "molecules") else None
    labeled = labeled_at_most(len(formulas), molecules, config["labels"], datasets)
    per_geometry = seconds / len(formulas) if seconds is not None and formulas else None
    return {
        "level": level,
        "geometries": len(formulas),
        "from_files": len(pool) - len(formulas),
        "counted": counted,
        "basis_range": _basis_range(formulas or pool.formulas, level.basis),
        # The audit recomputes a sample of the files' labels: a few geometries, not counted here.
        "label_seconds": None if seconds is None else seconds * labeled / max(len(formulas), 1),
        "label_seconds_per_geometry": per_geometry,
        "scope": config["labels"]["scope"],
        "labeled": labeled,
        "training_runs": len(runs),
        "seeds": len(datasets["seeds"]),
        "committee_rounds": committee_rounds(datasets),
        "unpriced_runs": Counter(
            spec["architecture"] for spec, _ in runs if spec["architecture"] not in calibration["training"]
        ),
        "training_seconds": sum(
            training_seconds(spec, size, training["max_epochs"], calibration) for spec, size in priced
        ),
        "disk_bytes": disk_bytes(
            atoms_labeled=sum(atoms_per_geometry[f] for f in pool.formulas),
            atoms_in_datasets=int(mean_atoms * training_geometries),
            specs=[spec for spec, _ in priced],
            calibration=calibration,
        ),
    }


def committee_rounds(datasets: dict) -> dict:
    """Per committee dataset, its rounds as (from size, to size, picks); their labels are the pool's."""
    sizes = sorted(datasets["sizes"])
    rounds = [(small, large, large - small) for small, large in itertools.pairwise(sizes)]
    return {kind: rounds for kind in training_kinds(datasets) if strategy_of(kind) == "committee"}


def _selection_lines(costs: dict) -> list[str]:
    lines, seeds = [], costs["seeds"]
    for kind, rounds in costs["committee_rounds"].items():
        steps = ", ".join(f"n{small}->n{large} +{picks}{_round_price(costs, picks)}" for small, large, picks in rounds)
        lines.append(f"  selection  {kind}: {len(rounds)} rounds ({steps}); each round {seeds} members predict the "
                     f"candidates (inference: minutes, not priced), {_picks_labels(costs)}; its trainings are among "
                     "the runs above")  # fmt: skip
    return lines


def _round_price(costs: dict, picks: int) -> str:
    """What labeling a round's picks costs at most (labels.scope: datasets); nothing beyond a labeled pool."""
    per_geometry = costs["label_seconds_per_geometry"]
    if costs["scope"] == "pool" or per_geometry is None:
        return ""
    return f" {_figure(picks * per_geometry / 3600)} CPU-h"


def _picks_labels(costs: dict) -> str:
    if costs["scope"] == "pool":
        return "and its picks' labels are the pool's (no calculation beyond it)"
    return ("and its picks are labeled by the round's own jobs (labels.scope: datasets; the CPU-hours are for every "
            "pick, and fewer are computed where a random set has labeled them)")  # fmt: skip


def _basis_range(formulas, basis: str) -> tuple[int, int]:
    counts = [basis_functions(formula, basis) for formula in Counter(formulas)]
    return min(counts), max(counts)


def report(jobs: dict, plan_seconds: float, config_files: str, costs: dict, calibration: dict) -> str:
    level, (fewest, most) = costs["level"], costs["basis_range"]
    lines = [f"astray plan of {config_files}: {sum(jobs.values()):,} jobs to run, planned in {plan_seconds:.1f} s"]
    lines += [f"  {rule:<20} {count:>7,}" for rule, count in sorted(jobs.items(), key=lambda item: -item[1])]
    lines.append("Whole campaign (jobs already done included), estimated:")
    law = calibration["labels"].get(level.family)
    if costs["label_seconds"] is None:
        labeling = "not estimated (FCI grows factorially; keep it to a few electrons)"
    else:
        labeling = f"{_figure(costs['label_seconds'] / 3600)} CPU-hours"
        if most > law["n_basis_range"][1]:
            # Small molecules hide the steep asymptotic scaling of correlated methods (CCSD: n^6).
            labeling += f" (extrapolated: calibrated up to {law['n_basis_range'][1]} basis functions, likely low)"
    scope = "" if costs["scope"] == "pool" else f"up to {costs['labeled']:,} of "
    lines.append(f"  labeling   {scope}{costs['geometries']:,} geometries, {level.method}/{level.basis} "
                 f"({fewest}-{most} basis functions): {labeling}")  # fmt: skip
    if costs["scope"] == "datasets":
        lines.append("             (labels.scope: datasets: the holdout molecules and each random set; a "
                     "committee's picks below)")  # fmt: skip
    if costs["counted"]:
        lines.append(f"             (sources too large to build yet counted: {', '.join(costs['counted'])}; their "
                     "formulas read, their distortions those of a sample)")  # fmt: skip
    if costs["from_files"]:
        lines.append(f"             {costs['from_files']:,} more labeled by their files (audited, not computed)")
    unpriced = ", ".join(f"{count:,} {name}" for name, count in sorted(costs["unpriced_runs"].items()))
    unpriced = f" ({unpriced} runs not priced: not calibrated by benchmarks/cost_model.py)" if unpriced else ""
    lines.append(
        f"  training   {costs['training_runs']:,} runs: {_figure(costs['training_seconds'] / 3600)} hours on "
        f"{calibration['training_measured_on']} if every run reaches max_epochs{unpriced}"
    )
    lines += _selection_lines(costs)
    lines.append(f"  disk       {_figure(costs['disk_bytes'] / 1e9)} GB (labels, training sets, model files)")
    measured_on = calibration["labels_measured_on"]
    lines.append(f"Cost model: astray/campaign/costs.py, calibrated by benchmarks/cost_model.py ({measured_on}).")
    return "\n".join(lines)


def _figure(value: float) -> str:
    """Three significant figures, without exponents: 0.000123, 4.56, 7,890."""
    if value >= 100:
        return f"{value:,.0f}"
    if value <= 0:
        return "0"
    return f"{value:.{max(0, 2 - math.floor(math.log10(value)))}f}"


def labeling_census(workdir: Path, plan: dict) -> PoolSummary | LabelCensus:
    """Every geometry's formula and labeling path, for the labeling estimate: the pool's summary where
    planning or an earlier run's geometries job built it; for sources too large to build while planning,
    before they are built, a census of their formulas and their sampled molecules' distortions (seconds
    for all of QM9; cached in .snakemake/astray/ for the next plan)."""
    cache = workdir / ".snakemake" / "astray"
    summary = built_summary(workdir / "results" / "geometries" / "summary.json", plan["pool_identity"])
    if summary:
        return summary
    geometries, large = plan["config"]["geometries"], plan.get("counted_sources", [])

    def build(config):
        from astray.geometries.pool import build_pool

        return build_pool(config, sample_normal_modes=False, cache_dir=cache)

    if not large:  # built and summarised while planning: read back, or rebuilt if the cache went missing
        return cached_summary(cache, plan["pool_key"], lambda: build(geometries))
    census = lambda: estimated_census(geometries, SourceFiles.of(geometries), build, large, cache)  # noqa: E731
    return cached_census(cache, plan["pool_key"], census)


def main(argv=None) -> None:
    snakemake_args = list(sys.argv[1:] if argv is None else argv)
    jobs, plan_seconds = dry_run(snakemake_args)
    workdir = workdir_of(snakemake_args)
    plan = read_plan(workdir / ".snakemake" / "astray")
    config, config_files, pool = plan["config"], plan["config_files"], labeling_census(workdir, plan)
    calibration = load_calibration()
    counted = [] if isinstance(pool, PoolSummary) else plan["counted_sources"]
    print(report(jobs, plan_seconds, config_files, estimate(config, pool, calibration, counted), calibration))


if __name__ == "__main__":
    main()
