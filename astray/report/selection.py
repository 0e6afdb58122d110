"""Chosen against random data: the learning curves and probe errors of committee-selected sets beside the
random ones, against N and against the labels each set spent, and what the committee chose (origins,
element pairs, short contacts)."""

from collections import Counter

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from ase.data import chemical_symbols
from matplotlib.ticker import FixedLocator, NullFormatter

from astray.datasets.selection import drawn_from
from astray.evaluation.scaling import target_errors
from astray.report.findings import trained_models
from astray.report.plots import PLAIN_NUMBER, plain_log_axis, save_figure, seed_mean_and_range

# Pair distances closer than this (Å) count as contacts: every bond of the elements here and the geminal
# H-H pairs of a CH2 (1.8 Å), but not the pairs across a molecule.
CONTACT = 2.0
# The errors a committee's labels saved are counted by: learning curves that fall with N (the probes' need
# not: H2 and the two protons are out of distribution).
EQUAL_ERROR_TARGETS = ("test_mae", "test_mae_equilibrium")
ERROR_PANELS = (
    ("test_mae", "holdout MAE"),
    ("probe_mae/H2/exact", "H2 against the exact curve"),
    ("probe_mae/H2_2plus/exact", "two protons against Coulomb's law"),
)
AXES = {"size": "training geometries N", "labels_spent": "reference calculations the set spent"}


def set_composition(atoms_list) -> dict:
    """What a training set holds: its share of each origin, and per element pair its contacts (pair
    distances below CONTACT) per geometry and the shortest of them (Å)."""
    origins = Counter(atoms.info["origin"] for atoms in atoms_list)
    contacts, shortest = Counter(), {}
    for atoms in atoms_list:
        distances = atoms.get_all_distances()
        numbers = atoms.numbers
        for i, j in zip(*np.triu_indices(len(atoms), k=1)):
            if distances[i, j] < CONTACT:
                pair = "-".join(sorted((chemical_symbols[numbers[i]], chemical_symbols[numbers[j]])))
                contacts[pair] += 1
                shortest[pair] = min(shortest.get(pair, np.inf), float(distances[i, j]))
    total = len(atoms_list)
    return {
        "geometries": total,
        "origins": {origin: count / total for origin, count in sorted(origins.items())},
        "contacts_per_geometry": {pair: count / total for pair, count in sorted(contacts.items())},
        "shortest_contact": dict(sorted(shortest.items())),
    }


def composition_rows(sets: dict) -> list[dict]:
    """One row per (kind, seed, size) set of `sets`: its composition flattened into columns."""
    rows = []
    for (kind, seed, size), atoms_list in sorted(sets.items()):
        composition = set_composition(atoms_list)
        row = {"kind": kind, "seed": seed, "size": size, "geometries": composition["geometries"]}
        row.update({f"origin_{origin}": share for origin, share in composition["origins"].items()})
        row.update({f"contacts_{pair}": value for pair, value in composition["contacts_per_geometry"].items()})
        row.update({f"shortest_{pair}": value for pair, value in composition["shortest_contact"].items()})
        rows.append(row)
    return rows


def random_size_at_equal_error(sizes, random_errors, error: float) -> float:
    """The training size (or labels spent, given those) at which the random sets' mean error reaches
    `error`, interpolated in log-log between the measured sizes; NaN outside them (a learning curve would
    have to be extrapolated) and where the random errors do not fall with every size (an error reached at
    two sizes names neither)."""
    log_sizes, log_errors = np.log(np.asarray(sizes, float)), np.log(np.asarray(random_errors, float))
    if not (np.diff(log_errors) < 0).all() or not log_errors[-1] <= np.log(error) <= log_errors[0]:
        return np.nan
    # np.interp needs rising x: the errors, largest N first.
    return float(np.exp(np.interp(np.log(error), log_errors[::-1], log_sizes[::-1])))


def equal_error_rows(cube) -> list[dict]:
    """Per trained model, committee dataset, target error and size: the committee's and the random sets'
    seed-mean errors at that N, and the reference calculations the random sets need for the committee's
    error, interpolated on their errors against their labels spent: `labels_saved` is that number minus the
    committee's labels spent (negative: selection cost labels)."""
    rows = []
    sizes = cube["size"].values
    for kind in (str(k) for k, s in zip(cube.kind.values, cube.selection.values) if s == "committee"):
        random_spent = cube.labels_spent.sel(kind=drawn_from(kind)).mean("seed").values
        chosen_spent = cube.labels_spent.sel(kind=kind).mean("seed").values
        for model in trained_models(cube):
            for target in EQUAL_ERROR_TARGETS:
                errors = target_errors(cube, target).sel(model=model)
                chosen = errors.sel(kind=kind).mean("seed").values
                random = errors.sel(kind=drawn_from(kind)).mean("seed").values
                for size, spent, chosen_error, random_error in zip(sizes, chosen_spent, chosen, random):
                    matched = random_size_at_equal_error(random_spent, random, chosen_error)
                    rows.append({"model": model, "kind": kind, "target": target, "size": int(size),
                                 "committee_error_eV": float(chosen_error), "random_error_eV": float(random_error),
                                 "committee_labels_spent": float(spent), "random_labels_at_equal_error": matched,
                                 "labels_saved": matched - spent})  # fmt: skip
    return rows


def plot_selection(cube, rows, path, dpi: int = 110) -> None:
    """Random (solid, seed means with the seeds' range) against committee-chosen (dashed) sets of each
    kind, per trained model: errors against N (top row) and against the reference calculations each set
    spent (bottom row), beside (d) the share of distorted geometries and (h) H-H contacts per geometry."""
    committee_kinds = [str(kind) for kind, selection in zip(cube.kind.values, cube.selection.values)
                       if selection == "committee"]  # fmt: skip
    figure, axes = plt.subplots(2, 4, figsize=(21, 9))
    lines = [(model, kind) for model in trained_models(cube) for kind in committee_kinds]
    for row, x_axis in zip(axes, AXES):
        for axis, (target, title) in zip(row, ERROR_PANELS):
            _error_panel(axis, cube, target, lines, x_axis, title)
    sizes = cube["size"].values
    colours = {kind: plt.cm.Dark2(index % 8) for index, kind in enumerate(committee_kinds)}
    distorted_kinds = [kind for kind in committee_kinds if drawn_from(kind) != "equilibrium"]
    _composition_panel(axes[0, 3], rows, distorted_kinds, colours, lambda row: 1 - row.get("origin_equilibrium", 0.0),
                       sizes, "distorted geometries in the set", "share of the set")  # fmt: skip
    _composition_panel(axes[1, 3], rows, committee_kinds, colours, lambda row: row.get("contacts_H-H", 0.0),
                       sizes, f"H-H pairs closer than {CONTACT:g} Å", "per geometry")  # fmt: skip
    for letter, axis in zip("abcdefgh", axes.flat):
        axis.set_title(f"({letter}) {axis.get_title()}", fontsize=10)
    figure.tight_layout()
    save_figure(figure, path, dpi)
    plt.close(figure)


def _error_panel(axis, cube, target, lines, x_axis, title) -> None:
    """One error against N or against labels spent, random and committee per (model, kind)."""
    if target.startswith("probe_mae/") and target.split("/")[1] not in cube.probe.values:
        axis.set_visible(False)
        return
    errors = target_errors(cube, target)
    for index, (model, kind) in enumerate(lines):
        colour = plt.cm.tab10(index % 10)
        label = f"{model} · {drawn_from(kind)}"
        for dataset, style, strategy in ((drawn_from(kind), "o-", "random"), (kind, "s--", "committee")):
            mean, bars = seed_mean_and_range(errors.sel(model=model, kind=dataset))
            x = cube["size"].values if x_axis == "size" else cube.labels_spent.sel(kind=dataset).mean("seed").values
            axis.errorbar(x, mean, yerr=bars, fmt=style, color=colour, capsize=3, label=f"{label} · {strategy}")
    axis.set(xscale="log", yscale="log", xlabel=AXES[x_axis], ylabel="MAE (eV)")
    plain_log_axis(axis, cube["size"].values)
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=7)


def _composition_panel(axis, rows, committee_kinds, colours, value, sizes, title, ylabel) -> None:
    """`value` of each set against N, random (seed mean) and committee, per committee kind; a kind of
    equilibrium geometries alone has no distorted share, so panel (d) may have none to draw."""
    if not committee_kinds:
        axis.text(0.5, 0.5, "no kind with distorted geometries", ha="center", va="center", transform=axis.transAxes)
    for kind in committee_kinds:
        colour = colours[kind]
        random_kind = drawn_from(kind)
        for strategy_kind, style, name in ((random_kind, "o-", "random"), (kind, "s--", "committee")):
            by_size = {}
            for row in rows:
                if row["kind"] == strategy_kind:
                    by_size.setdefault(row["size"], []).append(value(row))
            drawn = sorted(by_size)
            axis.plot(drawn, [np.mean(by_size[size]) for size in drawn], style, color=colour,
                      label=f"{random_kind} · {name}")  # fmt: skip
    axis.set(xscale="log", xlabel="training geometries N", ylabel=ylabel)
    axis.xaxis.set_major_locator(FixedLocator(sizes))
    axis.xaxis.set_major_formatter(PLAIN_NUMBER)
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.set_title(title, fontsize=10)
    if committee_kinds:
        axis.legend(fontsize=7)
