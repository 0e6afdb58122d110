"""Figures a scientist reads at a glance: each model's probe curves against the references, with the
distances its training sets covered; its holdout energies against their labels (parity); and the scaling
of errors with training-set size."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, ScalarFormatter

from astray.evaluation.scaling import target_errors
from astray.io import write_atomically
from astray.report.findings import pretrained_models, trained_models

# symlog keeps the Coulomb wall and negative model energies on one readable axis.
UNBOUND_LINEAR_THRESHOLD_EV = 1.0
# Tick labels as plain numbers (0.05, 2, 300), never 3 x 10^0 or a row of overlapping minor labels.
PLAIN_NUMBER = FuncFormatter(lambda value, _: f"{value:g}")
DISTANCE_TICKS = [0.3, 0.5, 1.0, 2.0, 3.0, 5.0]
# Reference curves under each model's curves: exact solid, FCI in a basis dotted, the label method dashed.
REFERENCE_STYLES = {"exact": "k-", "fci": "k:", "label_method": "k--"}
# The scaling figure shows the holdout error (the equilibrium molecules, in distribution for every kind,
# and the whole test set with its distorted geometries), each probe against the label method (what a model
# can learn from its labels) and against the exact curve (what transfers; the label level's own error is
# its floor, drawn as a grey line).
SCALING_PANELS = ("test_mae_equilibrium", "test_mae", "probe_mae/{probe}/label_method", "probe_mae/{probe}/exact")
SCALING_COLUMNS = 3
# The label level's floor is drawn where it is within a decade of the smallest model error.
FLOOR_DRAWN_WITHIN = 0.1


def plot_model_curves(
    evaluations, references, model: str, training_sets: dict, path, dpi: int = 110, energy_range=(-8.0, 8.0)
) -> None:
    """One block per dataset kind: a row of probe panels (one line per training size, both references)
    over a row of histograms of the interatomic distances in that kind's largest training set. A pretrained
    model's curves are the same for every kind and size: one block, one line."""
    pretrained = str(evaluations.energy_alignment.sel(model=model).values) != "none"
    kinds = list(evaluations.kind.values)[: 1 if pretrained else None]
    probes = list(references.probe.values)
    sizes = list(evaluations["size"].values)
    colours = plt.cm.viridis(np.linspace(0.1, 0.9, len(sizes)))
    distance = references.distance.values
    figure, axes = plt.subplots(
        2 * len(kinds), len(probes), figsize=(5.5 * len(probes) + 3.0, 5.2 * len(kinds)), squeeze=False,
        gridspec_kw={"height_ratios": [3, 1] * len(kinds)},
    )  # fmt: skip
    for block, kind in enumerate(kinds):
        for column, probe in enumerate(probes):
            axis = axes[2 * block, column]
            drawn = []
            for reference, style in REFERENCE_STYLES.items():
                curve = references.reference_energy.sel(reference=reference, probe=probe).values
                # A reference that is another one drawn already (FCI of bare protons is 1/r) is not drawn twice.
                if np.isfinite(curve).any() and not any(np.allclose(curve, other) for other in drawn):
                    axis.plot(distance, curve, style, lw=1.5, label=_reference_label(references, reference, probe))
                    drawn.append(curve)
            predicted = evaluations.predicted_energy.sel(model=model, kind=kind, probe=probe)
            if pretrained:
                axis.plot(distance, predicted.isel(size=0, seed=0), "o-", ms=3, color=colours[-1],
                          label="pretrained, as it ships (not trained here)")  # fmt: skip
            for size, colour in zip([] if pretrained else sizes, colours):
                axis.plot(
                    distance, predicted.sel(size=size).mean("seed"), "o-", ms=3, color=colour, label=f"N = {size}"
                )
            unbound = int(references.expected_minima.sel(probe=probe)) == 0
            _style_axis(axis, probe, "pretrained" if pretrained else kind, model, unbound, energy_range)
            # A pretrained model never saw these pairs: they show where the campaign's own models had data.
            _distance_histogram(axes[2 * block + 1, column], training_sets[kind], distance, unbound,
                                "campaign's pairs" if pretrained else "training pairs")  # fmt: skip
    # Beside the panels, not over a curve: the references' labels are long and every panel is full.
    handles, labels = axes[0, 0].get_legend_handles_labels()
    for handle, label in zip(*axes[0, -1].get_legend_handles_labels()):
        if label not in labels:
            handles.append(handle)
            labels.append(label)
    figure.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(0.8, 0.99), frameon=False)
    figure.tight_layout(rect=(0, 0, 0.8, 1))
    save_figure(figure, path, dpi)
    plt.close(figure)


def plot_parity(evaluations, model: str, path, dpi: int = 110) -> None:
    """Predicted against reference holdout atomization energies, one panel per kind (rows) and training size
    (columns), every seed's points, equilibrium and distorted test geometries apart; each panel's title
    gives the MAE over seeds. A pretrained model's panels differ only by its per-element alignment."""
    kinds, sizes = list(evaluations.kind.values), list(evaluations["size"].values)
    reference = evaluations.test_reference_energy.values
    equilibrium = evaluations.test_origin.values == "equilibrium"
    limits = _parity_limits(reference, evaluations.test_predicted_energy.sel(model=model).values)
    figure, axes = plt.subplots(len(kinds), len(sizes), figsize=(2.9 * len(sizes) + 1.0, 3.0 * len(kinds)),
                                squeeze=False, sharex=True, sharey=True)  # fmt: skip
    for row, kind in enumerate(kinds):
        for column, size in enumerate(sizes):
            axis = axes[row, column]
            predicted = evaluations.test_predicted_energy.sel(model=model, kind=kind, size=size)
            axis.plot(limits, limits, color="0.5", lw=0.8)
            for seed in predicted.seed.values:
                values = predicted.sel(seed=seed).values
                axis.plot(reference[equilibrium], values[equilibrium], ".", ms=3, alpha=0.5, color="tab:blue",
                          label="equilibrium" if seed == predicted.seed.values[0] else None)  # fmt: skip
                axis.plot(reference[~equilibrium], values[~equilibrium], ".", ms=3, alpha=0.5, color="tab:orange",
                          label="distorted" if seed == predicted.seed.values[0] else None)  # fmt: skip
            mae = float(np.nanmean(np.abs(predicted.values - reference)))
            axis.set_title(f"{kind} · N = {size}\nMAE {mae:.2f} eV", fontsize=9)
            axis.set_xlim(*limits)
            axis.set_ylim(*limits)
            axis.set_aspect("equal")
    for axis in axes[-1]:
        axis.set_xlabel("label atomization energy (eV)", fontsize=8)
    for axis in axes[:, 0]:
        axis.set_ylabel(f"{model} (eV)", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    save_figure(figure, path, dpi)
    plt.close(figure)


def _parity_limits(reference, predicted) -> tuple[float, float]:
    values = np.concatenate([reference.ravel(), predicted.ravel()])
    values = values[np.isfinite(values)]
    low, high = values.min(), values.max()
    margin = 0.04 * (high - low)
    return float(low - margin), float(high + margin)


def interatomic_distances(atoms_list, pair=None) -> np.ndarray:
    """Every interatomic distance (Å) in the geometries, or only those between the elements of `pair`."""
    distances = []
    for atoms in atoms_list:
        symbols = np.array(atoms.get_chemical_symbols())
        i, j = np.triu_indices(len(atoms), k=1)
        if pair is not None:
            wanted = np.array([sorted(p) == sorted(pair) for p in zip(symbols[i], symbols[j])], dtype=bool)
            i, j = i[wanted], j[wanted]
        distances.append(atoms.get_all_distances()[i, j])
    return np.concatenate(distances) if distances else np.zeros(0)


def _distance_histogram(axis, training_set, grid, log_scale: bool, ylabel: str) -> None:
    bins = np.geomspace(grid.min(), grid.max(), 40) if log_scale else np.linspace(grid.min(), grid.max(), 40)
    axis.hist(interatomic_distances(training_set), bins=bins, color="0.7", label="all atom pairs")
    axis.hist(interatomic_distances(training_set, ("H", "H")), bins=bins, color="tab:red", label="H-H pairs")
    axis.set_ylabel(ylabel, fontsize=8)
    axis.set_xlabel("distance (Å)", fontsize=8)
    if log_scale:
        _log_distance_axis(axis)
    axis.legend(fontsize=7)


def plot_scaling(cube, path, dpi: int = 110) -> None:
    """Error against training-set size on log-log axes, one panel per error, one line per model and kind;
    markers are seed means, bars the spread over seeds, dashed lines the power laws and dotted ones the laws
    with floor where the grid identifies a floor."""
    targets = [t.format(probe=p) for t in SCALING_PANELS for p in cube.probe.values]
    targets = [t for t in dict.fromkeys(targets) if t in cube.target.values]
    lines = len(cube.model) * len(cube.kind)
    rows = -(-len(targets) // SCALING_COLUMNS)
    columns = min(len(targets), SCALING_COLUMNS)
    height = 4.0 + 0.16 * lines  # room for the legend: a run and its fit per line
    figure, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, height * rows), squeeze=False)
    sizes = cube["size"].values.astype(float)
    dense = np.geomspace(sizes.min(), sizes.max(), 50)
    for axis, target in zip(axes.ravel(), targets):
        errors = target_errors(cube, target)
        for line, (model, kind) in enumerate((m, k) for m in cube.model.values for k in cube.kind.values):
            runs = errors.sel(model=model, kind=kind)
            colour = plt.cm.tab10(line % 10)
            axis.errorbar(sizes, runs.mean("seed"), yerr=runs.std("seed"), fmt="o", color=colour, capsize=3,
                          label=f"{model} · {kind}")  # fmt: skip
            _draw_fits(axis, cube.sel(model=model, kind=kind, target=target), dense, colour)
        _draw_label_floor(axis, cube, target, errors)
        axis.set_xscale("log")
        _error_axis(axis, errors)
        axis.xaxis.set_major_formatter(PLAIN_NUMBER)
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_xticks(sizes)
        axis.set_xlabel("training geometries N")
        axis.set_ylabel("MAE (eV)")
        axis.set_title(target.replace("probe_mae/", "").replace("/", " vs "), fontsize=10)
        # Under each panel (every panel has its own fits), not over the data.
        axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    for axis in axes.ravel()[len(targets) :]:
        axis.set_visible(False)
    figure.tight_layout()
    save_figure(figure, path, dpi)
    plt.close(figure)


def _draw_fits(axis, fit, dense, colour) -> None:
    """The power law, labelled with b and its 95% t-interval over seeds (b alone with one seed), and the
    law with floor where it was fitted."""
    if np.isfinite(fit.scaling_exponent):
        b, low, high = (float(fit[f"scaling_exponent{part}"]) for part in ("", "_ci_low", "_ci_high"))
        label = f"b = {b:.2f} [{low:.2f}, {high:.2f}]" if np.isfinite(low) else f"b = {b:.2f} (one seed)"
        axis.plot(dense, float(fit.scaling_amplitude) * dense**-b, "--", color=colour, lw=1, label=label)
    if np.isfinite(fit.scaling_floor_exponent):
        b, c = float(fit.scaling_floor_exponent), float(fit.scaling_floor)
        axis.plot(dense, float(fit.scaling_floor_amplitude) * dense**-b + c, ":", color=colour, lw=1,
                  label=f"with floor: b = {b:.2f}, c = {c:.2g} eV")  # fmt: skip


def _draw_label_floor(axis, cube, target: str, errors) -> None:
    """Against the exact curve: the label level's own error, which a model that learned its labels exactly
    would score. A floor orders of magnitude below every model's error (the two protons, where the label
    method is exact) is named in the legend only: drawn, it would squash the models' points into a line."""
    if not target.endswith("/exact") or "reference_probe_mae" not in cube:
        return
    floor = float(cube.reference_probe_mae.sel(reference="label_method", probe=target.split("/")[1]))
    if not (np.isfinite(floor) and floor > 0):
        return
    label = f"label level vs exact: {floor:.2g} eV"
    smallest = float(errors.where(errors > 0).min())
    if floor < FLOOR_DRAWN_WITHIN * smallest:
        axis.plot([], [], color="0.5", lw=1, label=f"{label} (below the axis)")
    else:
        axis.axhline(floor, color="0.5", lw=1, label=label)


def _error_axis(axis, errors) -> None:
    """Log errors where every error is positive; where some are exactly zero (a model that carries the
    exact physics), a symmetric-log axis, linear below the smallest positive error."""
    values = errors.values[np.isfinite(errors.values)]
    positive = values[values > 0]
    if len(positive) == len(values) and len(values):
        axis.set_yscale("log")
        # Labels at 1, 2 and 5 where the errors span a decade or two, every decade where they span more.
        decades = np.log10(positive.max() / positive.min())
        axis.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if decades < 2 else (1,), numticks=8))
    else:
        axis.set_yscale("symlog", linthresh=float(positive.min()) if len(positive) else 1e-3)
        axis.set_ylim(bottom=0)
    axis.yaxis.set_major_formatter(PLAIN_NUMBER)
    axis.yaxis.set_minor_formatter(NullFormatter())


def _reference_label(references, reference, probe) -> str:
    if reference == "label_method":
        return f"label method ({references.attrs.get('label_method', '')})"
    return f"{reference}: {json.loads(references.attrs.get(f'{reference}_reference', '{}')).get(probe, reference)}"


def _style_axis(axis, probe, kind, model, unbound: bool, energy_range) -> None:
    axis.set_ylabel("energy rel. to fragments (eV)")
    axis.set_title(f"{model} · {kind} · {probe}", fontsize=10)
    axis.axhline(0.0, color="grey", lw=0.5)
    if unbound:
        _log_distance_axis(axis)
        axis.set_yscale("symlog", linthresh=UNBOUND_LINEAR_THRESHOLD_EV)
    else:
        axis.set_ylim(*energy_range)


def _log_distance_axis(axis) -> None:
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(FixedLocator(DISTANCE_TICKS))
    axis.xaxis.set_major_formatter(ScalarFormatter())
    axis.xaxis.set_minor_formatter(NullFormatter())


def save_figure(figure, path, dpi: int) -> None:
    # The temporary name hides the extension, so the format is given.
    format = str(path).rsplit(".", 1)[-1]
    write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=dpi, format=format))


def plot_front_figure(cube, path, dpi: int = 110) -> None:
    """The campaign's answer in one figure: (a) the learning curves, holdout error and H2 error against the
    label method, of every trained model and kind; (b) H2 at the largest training set, every model against
    the exact curve and the label method; (c) two bare protons against 1/r."""
    figure, axes = plt.subplots(1, 3, figsize=(15.5, 4.6))
    sizes = cube["size"].values
    styles = {kind: marker for kind, marker in zip(cube.kind.values, "os^D")}
    colours = {m: plt.cm.tab10(i) for i, m in enumerate(cube.model.values)}
    for model in trained_models(cube):
        for kind, marker in styles.items():
            run = cube.sel(model=model, kind=kind)
            axes[0].plot(sizes, run.test_mae_equilibrium.mean("seed"), marker + "-", color=colours[model],
                         label=f"{model} · {kind} · holdout")  # fmt: skip
            if "H2" in cube.probe.values:
                h2 = run.probe_mae.sel(probe="H2", reference="label_method").mean("seed")
                axes[0].plot(sizes, h2, marker + "--", color=colours[model], mfc="none",
                             label=f"{model} · {kind} · H2 vs label method")  # fmt: skip
    axes[0].set(xscale="log", yscale="log", xlabel="training-set size N", ylabel="MAE (eV), mean over seeds",
                title="(a) holdout error falls with N; H2's does not follow")  # fmt: skip
    plain_log_axis(axes[0], sizes)
    axes[0].legend(fontsize=7)
    for axis, probe in zip(axes[1:], ("H2", "H2_2plus")):
        if probe in cube.probe.values:
            _front_probe_panel(axis, cube, probe, colours, trained_models(cube), pretrained_models(cube))
    axes[1].set_title("(b) H2 at the largest N", fontsize=10)
    axes[2].set_title("(c) two bare protons: Coulomb's 1/r", fontsize=10)
    axes[0].title.set_fontsize(10)
    figure.tight_layout()
    save_figure(figure, path, dpi)
    plt.close(figure)


def _front_probe_panel(axis, cube, probe, colours, trained, pretrained) -> None:
    distance = cube.distance.values
    unbound = int(cube.expected_minima.sel(probe=probe)) == 0
    for reference, style in (("exact", "k-"), ("label_method", "k--")):
        curve = cube.reference_energy.sel(reference=reference, probe=probe).values
        if np.isfinite(curve).any() and not (reference != "exact" and unbound):
            axis.plot(distance, curve, style, lw=1.5, label=_reference_label(cube, reference, probe))
    kind = cube.kind.values[0]
    for model in [*trained, *pretrained]:
        curve = cube.predicted_energy.sel(model=model, kind=kind, probe=probe).isel(size=-1).mean("seed")
        label = f"{model}" + (" (pretrained)" if model in pretrained else f" · {kind} · N = {int(cube['size'][-1])}")
        axis.plot(distance, curve, "o-", ms=3, color=colours[model], label=label)
    axis.set_xlabel("distance (Å)")
    axis.set_ylabel("energy rel. to fragments (eV)")
    axis.axhline(0.0, color="grey", lw=0.5)
    if unbound:
        _log_distance_axis(axis)
        axis.set_yscale("symlog", linthresh=UNBOUND_LINEAR_THRESHOLD_EV)
        axis.yaxis.set_major_formatter(PLAIN_NUMBER)
    else:
        axis.set_ylim(-8, 8)
    axis.legend(fontsize=7)


def plain_log_axis(axis, sizes) -> None:
    """Ticks at the training-set sizes, and errors at 1, 2 and 5 of each decade, as plain numbers."""
    axis.xaxis.set_major_locator(FixedLocator(sizes))
    axis.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5), numticks=12))
    for ticks in (axis.xaxis, axis.yaxis):
        ticks.set_major_formatter(PLAIN_NUMBER)
        ticks.set_minor_formatter(NullFormatter())


def plot_uncertainty_and_dynamics(cube, path, dpi: int = 110) -> None:
    """What the errors alone do not say, against training-set size: (a) is the committee's spread calibrated
    (errors within k spreads against a Gaussian's fraction), (b) does it grow where H2 fails, (c) does it
    rank errors; (d) does the model soften; (e) does it hold molecules together in NVE dynamics, (f) and
    conserve their energy. Lines are the models trained or fine-tuned per kind; pretrained models as they
    ship are horizontal lines (the same at every size); committees are of the models astray trained."""
    figure, axes = plt.subplots(2, 3, figsize=(15.5, 9.0))
    architectures = {str(m): str(cube.model_architecture.sel(model=m).values) for m in cube.model.values}
    as_shipped = [model for model, architecture in architectures.items() if architecture.startswith("pretrained:")]
    lines = [(model, kind) for model in architectures if model not in as_shipped for kind in cube.kind.values]
    colours = {line: plt.cm.tab10(i % 10) for i, line in enumerate(lines)}
    if "committee_test_spread" in cube:
        committees = [(model, kind) for model, kind in lines if model in trained_models(cube)]
        _calibration_panel(axes[0, 0], cube, committees, colours)
        _probe_spread_panel(axes[0, 1], cube, committees, colours)
    else:
        for axis in axes[0]:
            _no_committee(axis)
    panels = [
        (axes[0, 2], "committee_spread_error_spearman", "(c) rank correlation of spread and |error|", "Spearman ρ"),
        (axes[1, 0], "softening_slope", "(d) softening on distorted test geometries", "Δpredicted / Δlabel"),
        (axes[1, 1], "md_mean_time_intact", "(e) NVE dynamics: mean time bonds stay intact", "time intact (ps)"),
        (axes[1, 2], "md_median_energy_drift", "(f) NVE dynamics: median energy drift", "|drift| (meV/atom/ps)"),
    ]
    for axis, name, title, ylabel in panels:
        if name in cube:
            _against_size(axis, cube, name, lines, colours, as_shipped)
        elif not name.startswith("committee"):
            axis.text(0.5, 0.5, f"not in this cube ({name})", ha="center", va="center", transform=axis.transAxes)
        axis.set_title(title, fontsize=10)
        axis.set_ylabel(ylabel)
    axes[1, 0].axhline(1.0, color="0.5", lw=1, label="as stiff as the labels")
    if "md_mean_time_intact" in cube:
        duration = float(cube.md_time_intact.max())
        axes[1, 1].axhline(duration, color="0.5", lw=1, ls=":", label=f"run length ({duration:g} ps)")
    if "md_median_energy_drift" in cube and (cube.md_median_energy_drift > 0).any():
        axes[1, 2].set_yscale("log")
        axes[1, 2].yaxis.set_major_formatter(PLAIN_NUMBER)
    for axis in axes.ravel():
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    figure.tight_layout()
    save_figure(figure, path, dpi)
    plt.close(figure)


def _no_committee(axis) -> None:
    axis.text(0.5, 0.5, "one seed: no committee\n(datasets.seeds needs two or more)", ha="center", va="center",
              transform=axis.transAxes)  # fmt: skip
    axis.set_xticks([])
    axis.set_yticks([])


def _calibration_panel(axis, cube, lines, colours) -> None:
    """Fraction of the committee mean's holdout errors within k spreads, at the smallest and largest N."""
    from scipy.special import erf

    k = np.linspace(0, 3, 61)
    axis.plot(k, erf(k / np.sqrt(2)), "k-", lw=1.5, label="calibrated (Gaussian)")
    sizes = cube["size"].values
    for (model, kind), size, style in ((line, size, style) for line in lines for size, style in
                                       ((sizes[0], ":"), (sizes[-1], "-"))):  # fmt: skip
        run = cube.sel(model=model, kind=kind, size=size)
        spread, error = run.committee_test_spread.values, run.committee_test_error.values
        within = [(error <= multiple * spread).mean() for multiple in k]
        axis.plot(k, within, style, color=colours[(model, kind)], label=f"{model} · {kind} · N = {int(size)}")
    axis.set(xlabel="k (committee spreads)", ylabel="fraction of holdout errors within k spreads", ylim=(0, 1))
    axis.set_title("(a) calibration on the test set (below the black line: overconfident)", fontsize=10)


def _probe_spread_panel(axis, cube, lines, colours) -> None:
    """Along H2 at the largest N: the committee's spread (solid) and its mean's error against exact (dashed)."""
    probe = "H2" if "H2" in cube.probe.values else str(cube.probe.values[0])
    for model, kind in lines:
        run = cube.sel(model=model, kind=kind, probe=probe).isel(size=-1)
        colour = colours[(model, kind)]
        axis.plot(cube.distance, run.committee_probe_spread, "-", color=colour, label=f"{model} · {kind}: spread")
        axis.plot(cube.distance, run.committee_probe_error, "--", color=colour, label=f"{model} · {kind}: |error|")
    axis.set(xlabel="distance (Å)", ylabel="eV", yscale="log")
    axis.set_ylim(bottom=1e-3)  # where an error crosses zero its log would plunge off the panel
    axis.yaxis.set_major_formatter(PLAIN_NUMBER)
    _log_distance_axis(axis)
    axis.set_title(f"(b) {probe} at N = {int(cube['size'][-1])}: does the spread grow where it fails?", fontsize=10)


def seed_mean_and_range(runs):
    """The seeds' mean, and their range as error bars below and above it (None for one seed)."""
    mean = runs.mean("seed")
    if runs.sizes["seed"] < 2:
        return mean, None
    return mean, np.array([mean - runs.min("seed"), runs.max("seed") - mean])


def _against_size(axis, cube, name, lines, colours, pretrained) -> None:
    """Seed means with the seeds' range as bars, per trained model and kind; each pretrained model as one
    dashed line (its value is the same at every size)."""
    sizes = cube["size"].values
    for model, kind in lines:
        runs = cube[name].sel(model=model, kind=kind)
        if not np.isfinite(runs).any():
            continue
        # A committee's field is one value per size; a run's has a seed each, its bar their range (which, unlike
        # a standard deviation, never reaches below zero on a log axis).
        mean, bars = seed_mean_and_range(runs) if "seed" in runs.dims else (runs, None)
        axis.errorbar(sizes, mean, yerr=bars, fmt="o-", color=colours[(model, kind)], capsize=3,
                      label=f"{model} · {kind}")  # fmt: skip
    for index, model in enumerate(pretrained):
        value = float(cube[name].sel(model=model).mean())
        if np.isfinite(value):
            axis.axhline(value, color=plt.cm.Dark2(index % 8), ls="--", lw=1.2, label=f"{model} (pretrained)")
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(FixedLocator(sizes))
    axis.xaxis.set_major_formatter(PLAIN_NUMBER)
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.set_xlabel("training geometries N")
