"""Figures a scientist reads at a glance: each model's probe curves against both references."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

# symlog keeps the Coulomb wall and negative model energies on one readable axis.
PROTON_LINEAR_THRESHOLD_EV = 1.0
DISTANCE_TICKS = [0.3, 0.5, 1.0, 2.0, 3.0, 5.0]


def plot_model_curves(evaluations, references, model: str, path) -> None:
    """One row per dataset kind; H2 on the left, two protons on the right; one line per training size."""
    kinds = list(evaluations.kind.values)
    probes = list(references.probe.values)
    sizes = list(evaluations["size"].values)
    colours = plt.cm.viridis(np.linspace(0.1, 0.9, len(sizes)))
    distance = references.distance.values
    figure, axes = plt.subplots(len(kinds), len(probes), figsize=(5.5 * len(probes), 3.8 * len(kinds)), squeeze=False)
    for row, kind in enumerate(kinds):
        for column, probe in enumerate(probes):
            axis = axes[row, column]
            for reference, style in (("exact", "k-"), ("label_method", "k--")):
                curve = references.reference_energy.sel(reference=reference, probe=probe)
                axis.plot(distance, curve, style, lw=1.5, label=_reference_label(references, reference, probe))
            for size, colour in zip(sizes, colours):
                predicted = evaluations.predicted_energy.sel(model=model, kind=kind, probe=probe, size=size)
                axis.plot(distance, predicted.mean("seed"), "o-", ms=3, color=colour, label=f"N = {size}")
            _style_axis(axis, probe, kind, model)
    axes[0, -1].legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _reference_label(references, reference, probe) -> str:
    if reference == "label_method":
        return f"label method ({references.attrs.get('label_method', '')})"
    return "exact: 1/r" if probe == "H2_2plus" else "exact: FCI"


def _style_axis(axis, probe, kind, model) -> None:
    axis.set_xlabel("H–H distance (Å)")
    axis.set_ylabel("energy rel. to fragments (eV)")
    axis.set_title(f"{model} · {kind} · {probe}", fontsize=10)
    axis.axhline(0.0, color="grey", lw=0.5)
    if probe == "H2_2plus":
        axis.set_xscale("log")
        axis.set_yscale("symlog", linthresh=PROTON_LINEAR_THRESHOLD_EV)
        axis.xaxis.set_major_locator(FixedLocator(DISTANCE_TICKS))
        axis.xaxis.set_major_formatter(ScalarFormatter())
        axis.xaxis.set_minor_formatter(NullFormatter())
    else:
        axis.set_ylim(-8.0, 8.0)
