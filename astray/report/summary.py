"""What a campaign did and found, in sentences and tables written from its own record: the result cube
(which holds the config), the labeling summary, the Snakemake log and the jobs' timings. Nothing here is
typed by hand, so the numbers cannot drift from the run.

    python -m astray.report.summary results/                 # writes docs/results.md and docs/figures/
    python -m astray.report.summary results/ --out my_docs/  # elsewhere

The report's front page (rule `abstract`) is astray.report.findings' sentences; the results page adds the
tables, the figure, the labels' electronic states and the run's wall time and jobs.
"""

import argparse
import csv
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
import xarray as xr

from astray.evaluation.scaling import target_errors
from astray.io import write_atomically
from astray.report.findings import abstract, pretrained_models, references_summary, target_name, trained_models
from astray.report.plots import plot_front_figure, plot_uncertainty_and_dynamics

FIGURE = "figures/campaign.png"
BEYOND_ERRORS_FIGURE = "figures/uncertainty_and_dynamics.png"


# ---- the results page -------------------------------------------------------------------------------


def results_page(results: Path, figure: str | None = FIGURE) -> str:
    cube = xr.load_dataset(results / "cube.nc")
    labels = _read_json(results / "labels/references.json")
    record = run_record(results.parent)
    lines = [
        "# What the default campaign found",
        "",
        f"<!-- Written by `python -m astray.report.summary {results.name}/` from the run's own record; "
        "do not edit. -->",
        f"Generated from `{results.name}/cube.nc` (astray commit `{cube.attrs.get('git_commit', 'unknown')[:12]}`, "
        f"config SHA-256 `{cube.attrs.get('config_sha256', '')[:12]}`).",
        "",
        *[paragraph + "\n" for paragraph in abstract(cube, labels)],
    ]
    if figure:
        lines += [f"![The campaign's learning curves and probe curves]({figure})", ""]
    lines += _learning_tables(cube) + _window_table(cube) + _committee_table(cube) + _dynamics_table(cube)
    if figure and ("md_mean_time_intact" in cube or "committee_test_spread" in cube):
        lines += [f"![Committee calibration, softening and molecular dynamics against N]({BEYOND_ERRORS_FIGURE})", ""]
    lines += _pretrained_table(cube)
    lines += _label_table(labels) + _run_table(record, results)
    return "\n".join(lines).rstrip() + "\n"


def _learning_tables(cube) -> list[str]:
    lines = []
    sizes = [int(s) for s in cube["size"].values]
    for model in trained_models(cube):
        header = [f"`{model}`, mean over seeds (eV)", *[f"N = {s:,}" for s in sizes], "b (95% t-interval over seeds)"]
        rows = []
        for kind in cube.kind.values:
            run = cube.sel(model=model, kind=kind)
            for target in _targets(cube):
                errors = target_errors(run, target).mean("seed").values
                fit = run.sel(target=target)
                rows.append([f"{target_name(target)}, `{kind}`", *[f"{e:.3f}" for e in errors], _interval(fit)])
        lines += [f"## Learning curve: `{model}`", "", *_table(header, rows), ""]
    return lines


def _window_table(cube) -> list[str]:
    if "H2" not in cube.probe.values or not trained_models(cube):
        return []
    windows = list(cube.window.values)
    header = ["H2 MAE by window at the largest N (eV)", *windows]
    rows = []
    for model in trained_models(cube):
        for kind in cube.kind.values:
            for reference in ("label_method", "exact"):
                values = cube.probe_window_mae.sel(model=model, kind=kind, probe="H2", reference=reference)
                values = values.isel(size=-1).mean("seed")
                rows.append([f"`{model}`, `{kind}`, against {reference.replace('_', ' ')}",
                             *[f"{float(values.sel(window=w)):.3f}" for w in windows]])  # fmt: skip
    floor = cube.reference_window_mae.sel(reference="label_method", probe="H2")
    rows.append(["the label level against exact (the floor)", *[f"{float(floor.sel(window=w)):.3f}" for w in windows]])
    return ["## H2 by distance window", "", *_table(header, rows), ""]


def _committee_table(cube) -> list[str]:
    """Whether the seeds' spread, read as a committee's uncertainty, tells where the model errs; and how much
    of the labels' energy change on distortion the model reproduces."""
    if "committee_within_1_spread" not in cube or not trained_models(cube):
        return []
    sizes = [int(s) for s in cube["size"].values]
    rows = []
    quantities = (
        ("rank correlation of spread and error", "committee_spread_error_spearman", "{:.2f}"),
        ("errors within one spread (Gaussian: 0.68)", "committee_within_1_spread", "{:.2f}"),
        ("errors within two spreads (Gaussian: 0.95)", "committee_within_2_spread", "{:.2f}"),
    )
    for model in trained_models(cube):
        for kind in cube.kind.values:
            run = cube.sel(model=model, kind=kind)
            for name, variable, form in quantities:
                rows.append([f"`{model}`, `{kind}`: {name}", *[form.format(float(v)) for v in run[variable].values]])
            softening = run.softening_slope.mean("seed").values
            rows.append([f"`{model}`, `{kind}`: softening slope (labels: 1)", *[f"{v:.2f}" for v in softening]])
    lines = ["## A committee of seeds, and softening", "",
             *_table(["holdout set, over the test geometries", *[f"N = {s:,}" for s in sizes]], rows), ""]  # fmt: skip
    if "H2" in cube.probe.values:
        windows = list(cube.window.values)
        h2 = []
        for model in trained_models(cube):
            largest = cube.sel(model=model, probe="H2").isel(size=-1)
            for kind in cube.kind.values:
                spread = largest.committee_probe_window_spread.sel(kind=kind)
                error = largest.probe_window_mae.sel(kind=kind, reference="exact").mean("seed")
                h2.append([f"`{model}`, `{kind}`: spread / error", *[f"{float(spread.sel(window=w)):.2f} / "
                           f"{float(error.sel(window=w)):.2f}" for w in windows]])  # fmt: skip
        header = [f"H2 at N = {sizes[-1]:,}: committee spread against the error vs exact (eV)", *windows]
        lines += [*_table(header, h2), ""]
    return lines


def _dynamics_table(cube) -> list[str]:
    """NVE stability against N per trained model and kind (means over seeds), and which bonds changed first."""
    if "md_mean_time_intact" not in cube or not trained_models(cube):
        return []
    sizes = [int(s) for s in cube["size"].values]
    quantities = (
        ("mean time intact (ps)", "md_mean_time_intact", "{:.3f}"),
        ("fraction intact at the end", "md_intact_fraction", "{:.2f}"),
        ("median energy drift while intact (meV/atom/ps)", "md_median_energy_drift", "{:.3g}"),
    )
    rows = []
    for model in trained_models(cube):
        for kind in cube.kind.values:
            run = cube.sel(model=model, kind=kind)
            for name, variable, form in quantities:
                values = run[variable].mean("seed").values
                rows.append([f"`{model}`, `{kind}`: {name}", *[form.format(float(v)) for v in values]])
    header = ["NVE dynamics, mean over seeds", *[f"N = {s:,}" for s in sizes]]
    changes = first_changes(cube.md_first_change.sel(model=trained_models(cube)).values.ravel())
    counted = ", ".join(f"{what} {count}" for what, count in changes.most_common())
    return [
        "## Molecular dynamics", "", *_table(header, rows), "",
        f"The first change of each broken run of the trained models (every kind, seed and size): {counted or 'none'}.",
        "",
    ]  # fmt: skip


def first_changes(descriptions) -> Counter:
    """'bond C0-H5 formed (1.02 Å)' counted as 'C-H formed', by element pair and what happened."""
    counts = Counter()
    for description in descriptions:
        found = re.match(r"bond ([A-Z][a-z]?)\d+-([A-Z][a-z]?)\d+ (\w+)", str(description))
        if found:
            # Heavy atom first, hydrogen last: C-H, O-H, H-H.
            pair = "-".join(sorted(found.group(1, 2), key=lambda symbol: (symbol == "H", symbol)))
            counts[f"{pair} {found.group(3)}"] += 1
        elif description:
            counts["energy or forces not finite"] += 1
    return counts


def _pretrained_table(cube) -> list[str]:
    models = trained_models(cube)[:1] + pretrained_models(cube)
    if not pretrained_models(cube):
        return []
    kind = str(cube.kind.values[0])
    rows = []
    quantities = [
        ("H2 MAE against the exact curve (eV)", lambda run: run.probe_mae.sel(probe="H2", reference="exact"), "{:.3f}"),
        ("H2 well depth D_e (eV)", lambda run: run.well_depth.sel(probe="H2"), "{:.2f}"),
        ("H2 r_e (Å)", lambda run: run.equilibrium_distance.sel(probe="H2"), "{:.3f}"),
        (
            "two protons MAE against 1/r (eV)",
            lambda run: run.probe_mae.sel(probe="H2_2plus", reference="exact"),
            "{:.1f}",
        ),
        ("holdout MAE, equilibrium test molecules (eV)", lambda run: run.test_mae_equilibrium, "{:.3f}"),
        ("MD: mean time intact (ps)", lambda run: run.md_mean_time_intact, "{:.3f}"),
        ("MD: fraction intact at the end", lambda run: run.md_intact_fraction, "{:.2f}"),
    ]
    exact = {"H2 well depth D_e (eV)": cube.reference_well_depth, "H2 r_e (Å)": cube.reference_equilibrium_distance}
    for name, quantity, form in quantities:
        try:
            values = [float(quantity(cube.sel(model=m, kind=kind).isel(size=-1)).mean("seed")) for m in models]
        except KeyError:
            continue
        reference = exact.get(name)
        exact_value = "" if reference is None else form.format(float(reference.sel(reference="exact", probe="H2")))
        rows.append([name, *[form.format(v) for v in values], exact_value])
    header = [f"N = {int(cube['size'][-1]):,}, `{kind}` kind", *[f"`{m}`" for m in models], "exact"]
    return ["## Trained and pretrained", "", *_table(header, rows), ""]


def _label_table(labels: dict | None) -> list[str]:
    if not labels:
        return []
    header = ["origin", "geometries", "broken symmetry", "median lowering (eV)", "largest (eV)"]
    rows = [[origin, f"{o['geometries']:,}", f"{o['broken_symmetry']:,}", f"{o['median_lowering_eV']:.3f}",
             f"{o['largest_lowering_eV']:.3f}"] for origin, o in labels["by_origin"].items()]  # fmt: skip
    return [
        "## Labels: one electronic-state rule",
        "",
        f"Rule: {labels['rule']}. {labels['stability_checked']:,} geometries were stability-checked; references: "
        f"{references_summary(labels)}. Broken symmetry lowers a label below the restricted solution by:",
        "",
        *_table(header, rows),
        "",
    ]


def _run_table(record: dict, results: Path) -> list[str]:
    if not record:
        return ["## The run", "", "No complete Snakemake log was found beside this results folder.", ""]
    stages = stage_seconds(results / "benchmarks")
    rows = [
        [rule, str(count), _duration(stages[rule]) if rule in stages else ""] for rule, count in record["jobs"].items()
    ]
    lines = [
        "## The run",
        "",
        f"Snakemake ran {record['steps']} jobs in {_duration(record['elapsed_seconds'])} (started {record['started']}, "
        f"{record['cores']} cores). Job time per rule is the sum of its jobs' benchmark files; jobs run side by side, "
        f"so it adds up to more than the wall time.",
        "",
        *_table(["rule", "jobs", "job time"], rows),
        "",
    ]
    return lines


def _targets(cube) -> list[str]:
    wanted = ["test_mae_equilibrium", "test_mae"]
    # Against 1/r the label method of two bare protons is the exact curve: one row, not two.
    wanted += [f"probe_mae/{p}/{r}" for p in cube.probe.values for r in ("label_method", "exact")
               if not (p == "H2_2plus" and r == "label_method")]  # fmt: skip
    return [t for t in wanted if t in cube.target.values]


def _interval(fit) -> str:
    b, low, high = (
        float(fit[name]) for name in ("scaling_exponent", "scaling_exponent_ci_low", "scaling_exponent_ci_high")
    )
    if not np.isfinite(b):
        return "not fitted"
    return f"{b:.2f} ({low:.2f} to {high:.2f})" if np.isfinite(low) else f"{b:.2f}"


def _table(header, rows) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *["| " + " | ".join(r) + " |" for r in rows]]


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


# ---- the run's record: Snakemake's log and the jobs' benchmark files -----------------------------------

LOG_DATE = re.compile(r"^\s*Date: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", re.M)
STEPS_DONE = re.compile(r"^(\d+) of (\d+) steps \(100%\) done", re.M)
ELAPSED = re.compile(r"Elapsed time: (?:(\d+) days?, )?(\d+):(\d+):([\d.]+)")


def run_record(workdir: Path) -> dict:
    """The Snakemake run in `workdir` that built the campaign: of the runs that did every job they planned,
    the one with the most jobs (the latest of equals; later runs that added a model or redrew a plot are
    smaller). When it started, how many jobs of each rule, on how many cores, and how long it took (its own
    elapsed time, or its log's last write)."""
    runs = []
    for log in sorted((workdir / ".snakemake/log").glob("*.snakemake.log")):
        text = log.read_text(errors="replace")
        done = STEPS_DONE.findall(text)
        if done and "Job stats:" in text and LOG_DATE.search(text):
            runs.append((int(done[-1][1]), log, text))
    if not runs:
        return {}
    # Logs sort by their start time, so among runs of equal size the last one wins.
    steps, log, text = max(reversed(runs), key=lambda run: run[0])
    started = datetime.strptime(LOG_DATE.search(text).group(1), "%Y-%m-%d %H:%M:%S")
    elapsed = _elapsed(text) or (datetime.fromtimestamp(log.stat().st_mtime) - started).total_seconds()
    return {
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "steps": steps,
        "cores": int(re.search(r"Provided cores: (\d+)", text).group(1)),
        "jobs": _job_stats(text),
        "elapsed_seconds": elapsed,
        "log": str(log.relative_to(workdir)),
    }


def _job_stats(text: str) -> dict:
    table = text.split("Job stats:", 1)[1].splitlines()
    jobs = {}
    for line in table[3:]:
        fields = line.split()
        if len(fields) != 2 or fields[0] == "total":
            break
        jobs[fields[0]] = int(fields[1])
    return jobs


def _elapsed(text: str) -> float | None:
    match = ELAPSED.search(text)
    if not match:
        return None
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


# Which rule wrote a benchmark file: by its folder (results/benchmarks/<folder>/...), and under models/ by
# the file it times (rules/train.smk).
RULE_OF_BENCHMARK = {"geometries": "geometries", "labels": "label_chunk", "references": "reference_curves",
                     "pretrained": "predict_pretrained", "evaluation": "evaluate"}  # fmt: skip
RULE_OF_MODEL_BENCHMARK = {"model.pt.tsv": "train", "model.sevennet.pt.tsv": "train_finetune",
                           "best.ckpt.tsv": "train_nequip"}  # fmt: skip


def stage_seconds(benchmarks: Path) -> dict:
    """Seconds of job time per rule, summed over its jobs' Snakemake benchmark files."""
    totals = {}
    for path in sorted(benchmarks.rglob("*.tsv")):
        folder = path.relative_to(benchmarks).parts[0]
        rule = _model_rule(path, benchmarks) if folder == "models" else RULE_OF_BENCHMARK.get(folder, folder)
        with open(path) as handle:
            seconds = sum(float(row["s"]) for row in csv.DictReader(handle, delimiter="\t"))
        totals[rule] = totals.get(rule, 0.0) + seconds
    return totals


def _model_rule(path: Path, benchmarks: Path) -> str:
    """The training rule of a benchmark under models/: by the file it times; MACE's and an external rung's
    both time calculator.json, and the run's folder tells them apart (an external rung's has external/)."""
    if path.name == "calculator.json.tsv":
        run = benchmarks.parent / path.relative_to(benchmarks).parent
        return "train_external" if (run / "external").is_dir() else "train_mace"
    return RULE_OF_MODEL_BENCHMARK.get(path.name, path.name)


def _read_json(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def write_results_page(results: Path, out: Path) -> None:
    """docs/results.md and its figure, from the results folder of a finished run."""
    cube = xr.load_dataset(results / "cube.nc")
    plot_front_figure(cube, out / FIGURE)
    plot_uncertainty_and_dynamics(cube, out / BEYOND_ERRORS_FIGURE)
    page = results_page(results)
    write_atomically(out / "results.md", lambda temporary: Path(temporary).write_text(page))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m astray.report.summary", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a finished campaign's results folder")
    parser.add_argument("--out", type=Path, default=Path("docs"), help="where results.md and figures/ go")
    arguments = parser.parse_args(argv)
    if not (arguments.results / "cube.nc").exists():
        parser.error(f"{arguments.results / 'cube.nc'} does not exist: run the campaign first")
    (arguments.out / "figures").mkdir(parents=True, exist_ok=True)
    write_results_page(arguments.results.resolve(), arguments.out)
    print(f"wrote {arguments.out / 'results.md'} and {arguments.out / FIGURE}")


if __name__ == "__main__":
    main()
