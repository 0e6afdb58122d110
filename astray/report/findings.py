"""What a campaign did and found, in sentences written from the config (held by the cube) and the cube:
the report's front page (rule abstract) and the opening of the results page (astray.report.summary).

Kept apart from the figures, so restyling a plot leaves the report's front page alone.
"""

import json
from pathlib import Path

import numpy as np

from astray.io import write_atomically

PROBE_NAMES = {"H2": "H2", "H2_plus": "H2+", "H2_2plus": "two bare protons", "LiH": "LiH", "HF": "HF", "N2": "N2"}


def abstract(cube, labels: dict | None = None) -> list[str]:
    """Paragraphs saying what the campaign did (molecules and sources, level of theory, sizes, seeds,
    models) and what it found (the learning curve, H2, the two protons, the pretrained models)."""
    config = json.loads(cube.attrs["config"])
    paragraphs = [_what_was_done(cube, config, labels)]
    paragraphs += [_learning_curve(cube, model) for model in trained_models(cube)]
    paragraphs += [_pretrained(cube, model) for model in pretrained_models(cube)]
    return [p for p in paragraphs if p]


def target_name(target: str) -> str:
    """A scaling target (`astray.evaluation.scaling.scaling_targets`) in words."""
    if target == "test_mae_equilibrium":
        return "holdout MAE, equilibrium test molecules"
    if target == "test_mae":
        return "holdout MAE, all test geometries"
    _, probe, reference = target.split("/")
    against = "1/r" if probe == "H2_2plus" and reference == "exact" else reference.replace("_", " ")
    return f"{PROBE_NAMES.get(probe, probe)} MAE against {against}"


def trained_models(cube) -> list[str]:
    return [str(m) for m in cube.model.values if str(cube.energy_alignment.sel(model=m).values) == "none"]


def pretrained_models(cube) -> list[str]:
    return [str(m) for m in cube.model.values if str(cube.energy_alignment.sel(model=m).values) != "none"]


def _what_was_done(cube, config: dict, labels: dict | None) -> str:
    geometries = config["geometries"]
    level = f"{config['labels']['method'].upper()}/{config['labels']['basis']}"
    labeled = "Its geometries were labeled"
    if labels:
        total = sum(labels["by_reference"].values()) + labels["labeled_by_files"]
        labeled = f"{total:,} geometries were labeled"
    states = f" ({references_summary(labels)})" if labels else ""
    quarantined = int(cube.attrs["quarantined_geometries"])
    seeds = len(cube.seed)
    models = [f"{m} ({_parameters(cube, m)})" for m in trained_models(cube)]
    sentence = (
        f"This campaign took its molecules from {_sources(geometries['sources'])}{_distortions(geometries)}. "
        f"{labeled} at {level} with {config['labels']['engine']}{states}; {quarantined} "
        f"{'was' if quarantined == 1 else 'were'} quarantined. Models were trained on nested training sets of "
        f"{_numbers(cube['size'].values)} geometries, {seeds} seed{'s' if seeds > 1 else ''} each, of "
        f"{_kinds(cube)}: {_join(models) or 'none'}."
    )
    if pretrained_models(cube):
        names = [f"{m} ({_parameters(cube, m)}; its authors trained it on {cube.training_data.sel(model=m).values})"
                 for m in pretrained_models(cube)]  # fmt: skip
        sentence += f" Beside them, pretrained and not trained here: {_join(names)}."
    tested = (
        f"{cube.sizes['test_geometry']:,} held-out test geometries" if "test_geometry" in cube.dims else "a test set"
    )
    probes = [PROBE_NAMES.get(p, p) for p in cube.probe.values]
    return sentence + f" Every model was evaluated on {_join([*probes, tested])}."


def _learning_curve(cube, model: str) -> str:
    sentences = []
    for number, kind in enumerate(cube.kind.values):
        run = cube.sel(model=model, kind=kind)
        errors = run.test_mae_equilibrium.mean("seed").values
        what = f"{model}'s holdout error on the equilibrium test molecules goes" if number == 0 else "it goes"
        sentences.append(
            f"With {kind} data, {what} from {_ev(errors[0])} at N = {int(run['size'][0])} to {_ev(errors[-1])} at "
            f"N = {int(run['size'][-1])}, {_law(run.sel(target='test_mae_equilibrium'))}."
        )
    kind = str(cube.kind.values[0])
    run = cube.sel(model=model, kind=kind)
    if "H2" in cube.probe.values:
        label = run.probe_mae.sel(probe="H2", reference="label_method").mean("seed").values
        exact = run.probe_mae.sel(probe="H2", reference="exact").mean("seed").values
        floor = float(cube.reference_probe_mae.sel(reference="label_method", probe="H2"))
        sentences.append(
            f"On H2 ({kind} data) its error against the label method goes from {_ev(label[0])} to "
            f"{_ev(label[-1])}, {_law(run.sel(target='probe_mae/H2/label_method'))}, and against the exact curve "
            f"from {_ev(exact[0])} to {_ev(exact[-1])}; the label level itself is {_ev(floor)} from exact."
        )
    if "H2_2plus" in cube.probe.values:
        protons = float(run.probe_mae.sel(probe="H2_2plus", reference="exact").mean("seed")[-1])
        told = "is told the charge" if int(cube.charge_aware.sel(model=model)) else "is not told the charge"
        sentences.append(f"On two bare protons, which it {told} of, it is {_ev(protons)} from 1/r at the largest N.")
    if "md_mean_time_intact" in cube:
        sentences.append(_dynamics(cube, model))
    return " ".join(sentences)


def _dynamics_setting(cube) -> str:
    dynamics = json.loads(cube.attrs["config"])["evaluation"]["dynamics"]
    duration = dynamics["steps"] * dynamics["timestep"] / 1000.0
    return f"{cube.sizes['md_molecule']} test molecules at {dynamics['temperature']:g} K for {duration:g} ps"


def _dynamics(cube, model: str) -> str:
    """Does more data hold molecules together in NVE dynamics? Per kind, the mean time intact at the smallest
    and the largest N (means over seeds and molecules)."""
    parts = []
    for kind in cube.kind.values:
        run = cube.sel(model=model, kind=kind)
        time, intact = run.md_mean_time_intact.mean("seed").values, run.md_intact_fraction.mean("seed").values
        parts.append(
            f"with {kind} data for {time[0]:.3f} ps on average at N = {int(run['size'][0])} and {time[-1]:.3f} ps "
            f"at N = {int(run['size'][-1])} ({intact[-1]:.0%} intact at the end)"
        )
    return f"In NVE dynamics of {_dynamics_setting(cube)}, its molecules' bonds held {_join(parts)}."


def _pretrained(cube, model: str) -> str:
    run = cube.sel(model=model).isel(kind=0, seed=0)
    largest = run.isel(size=-1)
    parts = []
    if "H2" in cube.probe.values:
        h2 = float(largest.probe_mae.sel(probe="H2", reference="exact"))
        depth, distance = float(largest.well_depth.sel(probe="H2")), float(largest.equilibrium_distance.sel(probe="H2"))
        exact = cube.sel(reference="exact", probe="H2")
        parts.append(
            f"is {_ev(h2)} from the exact H2 curve (a well {depth:.2f} eV deep at {distance:.3f} Å; exact: "
            f"{float(exact.reference_well_depth):.2f} eV at {float(exact.reference_equilibrium_distance):.3f} Å)"
        )
    if "H2_2plus" in cube.probe.values:
        parts.append(
            f"{_ev(float(largest.probe_mae.sel(probe='H2_2plus', reference='exact')))} from 1/r on two protons"
        )
    holdout = run.test_mae_equilibrium.values
    parts.append(
        f"misses the equilibrium test molecules by {_ev(holdout[0])} aligned on {int(run['size'][0])} training "
        f"geometries and by {_ev(holdout[-1])} aligned on {int(run['size'][-1])}"
    )
    if "md_intact_fraction" in cube:
        parts.append(
            f"in NVE dynamics of {_dynamics_setting(cube)} keeps {float(largest.md_intact_fraction):.0%} of them "
            f"intact, with a median energy drift of {float(largest.md_median_energy_drift):.2g} meV/atom/ps"
        )
    return f"Pretrained {model}, as it ships, " + _join(parts) + "."


def _sources(sources: dict) -> str:
    named = []
    space = sources.get("chemical_space")
    if space:
        elements = ", ".join(space.get("elements", ["C", "N", "O", "F"]))
        sample = f", {space['sample']:,} of them drawn at random" if space.get("sample") else ""
        named.append(f"a generated chemical space (every closed-shell molecule of up to {space['max_heavy_atoms']} "
                     f"heavy atoms of {elements}{sample})")  # fmt: skip
    ase = sources.get("ase", {})
    if ase.get("collection", "none") != "none" or ase.get("names"):
        named.append(
            f"ASE's {ase.get('collection')} collection" + (f" ({', '.join(ase['names'])})" if ase.get("names") else "")
        )
    if sources.get("files", {}).get("paths"):
        named.append("the files " + ", ".join(sources["files"]["paths"]))
    if sources.get("ions"):
        named.append("the ions " + ", ".join(sources["ions"]))
    if sources.get("scans"):
        named.append("scans of " + ", ".join(scan["species"] for scan in sources["scans"]))
    return _join(named) or "no source"


def _distortions(geometries: dict) -> str:
    distortions = geometries.get("distortions", {})
    made = []
    bonds = distortions.get("bond_scaling")
    if bonds and bonds.get("factors") and bonds.get("per_molecule", 1) != 0:
        per = bonds.get("per_molecule", 0)
        count = "every bond" if per == 0 else f"{per:g} copies per molecule on average"
        made.append(f"one bond scaled by {', '.join(f'{f:g}' for f in bonds['factors'])} ({count})")
    rattle = distortions.get("rattle", {})
    if rattle.get("copies"):
        made.append(f"{rattle['copies']} rattled copies of {rattle['sigma']:g} Å each")
    modes = distortions.get("normal_modes", {})
    if modes.get("samples"):
        made.append(f"{modes['samples']} normal-mode samples at {modes['temperature']} K each")
    return ", with distorted copies: " + "; ".join(made) if made else ""


def references_summary(labels: dict) -> str:
    counts = ", ".join(f"{n:,} {name.upper()}" for name, n in labels["by_reference"].items())
    if labels["labeled_by_files"]:
        counts += f", {labels['labeled_by_files']:,} from the files"
    return counts


def _kinds(cube) -> str:
    return _join([f"the {kind} kind" for kind in cube.kind.values])


def _parameters(cube, model: str) -> str:
    return f"{int(cube.n_parameters.sel(model=model)):,} parameters"


def _law(fit) -> str:
    b = float(fit.scaling_exponent)
    if not np.isfinite(b):
        return "with no exponent fitted"
    low, high = float(fit.scaling_exponent_ci_low), float(fit.scaling_exponent_ci_high)
    seeds = int(fit.scaling_seeds)
    if np.isfinite(low):
        return f"as N^-{b:.2f} (95% t-interval over {seeds} seeds: {low:.2f} to {high:.2f})"
    return f"as N^-{b:.2f} (one seed: no interval)"


def _ev(value) -> str:
    value = float(value)
    return f"{value:.3g} eV" if abs(value) < 10 else f"{value:.1f} eV"


def _numbers(values) -> str:
    return _join([f"{int(v):,}" for v in values])


def _join(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def write_abstract(cube, labels: dict | None, path) -> None:
    """The report's front page (reStructuredText, read through Jinja by Snakemake: no braces in it)."""
    title = "What this astray campaign did and found"
    text = "\n\n".join([title, "=" * len(title), *abstract(cube, labels)]).replace("{", "(").replace("}", ")")
    text += "\n\nThe result cube is results/cube.nc and results/explorer.html browses it; the sections below hold "
    text += "the plots and tables.\n"
    write_atomically(path, lambda temporary: Path(temporary).write_text(text))
