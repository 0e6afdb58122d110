"""The audit of labels that came with the data: a seeded sample recomputed by astray at their declared
level and compared, geometry by geometry, before any dataset is built on them.

Labels from another code mean the same as astray's only if they are the same electronic energy, in the
same basis-set conventions, of the same functional variant, in the same units. When they are not, the
deviations have a shape that points to the cause, and the audit says which: a constant offset, one that
grows with the molecule, one per atom of some element, or a ratio (units).
"""

import math
from collections import Counter

import numpy as np
from ase import Atoms

from astray.labels.from_files import ENERGY_KEY, FORCES_KEY, has_provided, without_provided
from astray.units import EV_TO_KCAL_PER_MOL, HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM, HARTREE_TO_EV

COLUMNS = (
    "geometry_id", "formula", "atoms", "provided_eV", "recomputed_eV", "deviation_eV", "deviation_mEh",
    "deviation_kcal_per_mol", "max_force_deviation_eV_per_angstrom", "force_ratio",
)  # fmt: skip
# Conventions that typically make two codes' energies of one level differ (docs/labels.md, "Labels that come
# with the data").
USUAL_CAUSES = (
    "which property is the electronic energy (QM9's U0 adds the zero-point energy; astray's 'electronic' is U0 - zpve)",
    "spherical (5D 7F) versus Cartesian (6D 10F) basis functions: Gaussian uses 6D for the 6-31G family, PySCF "
    "and Psi4 spherical unless told",
    "functional variants (B3LYP with VWN3 as in Gaussian or VWN5; dispersion included or not)",
    "frozen core in correlated methods",
    "units (Hartree, eV, kcal/mol)",
)


class AuditError(ValueError):
    """The provided labels deviate from astray's beyond the tolerance; the message says how."""


def sample(pool, size: int, fraction: float, seed: int) -> list[Atoms]:
    """A seeded random sample of the pool's geometries that carry a provided label, in pool order: `size`
    of them, or `fraction` of all, whichever is more."""
    provided = [atoms for atoms in pool if has_provided(atoms)]
    count = min(len(provided), max(size, math.ceil(fraction * len(provided))))
    chosen = np.random.default_rng(seed).choice(len(provided), size=count, replace=False)
    return [provided[index] for index in sorted(chosen)]


def to_recompute(atoms: Atoms) -> Atoms:
    """The geometry without its provided label, so labeling computes it."""
    bare = atoms.copy()
    bare.info = without_provided(bare.info)
    bare.arrays.pop(FORCES_KEY, None)
    return bare


def compare(provided, recomputed) -> list[dict]:
    """One row per geometry (COLUMNS): the provided and the recomputed energy and their deviation
    (provided - recomputed), and the largest force deviation where both have forces."""
    recomputed = {atoms.info["geometry_id"]: atoms for atoms in recomputed}
    rows = []
    for atoms in provided:
        mine = recomputed[atoms.info["geometry_id"]]
        deviation = atoms.info[ENERGY_KEY] - mine.get_potential_energy()
        force_deviation = force_ratio = math.nan
        if FORCES_KEY in atoms.arrays and mine.calc.results.get("forces") is not None:
            theirs, ours = atoms.arrays[FORCES_KEY], mine.get_forces()
            force_deviation = float(np.abs(theirs - ours).max())
            clear = np.abs(ours) > 0.05  # eV/Å: components large enough for their ratio to mean something
            force_ratio = float(np.median(theirs[clear] / ours[clear])) if clear.any() else math.nan
        rows.append({
            "geometry_id": atoms.info["geometry_id"], "formula": atoms.get_chemical_formula(), "atoms": len(atoms),
            "provided_eV": atoms.info[ENERGY_KEY], "recomputed_eV": mine.get_potential_energy(),
            "deviation_eV": deviation, "deviation_mEh": 1000 * deviation / HARTREE_TO_EV,
            "deviation_kcal_per_mol": deviation * EV_TO_KCAL_PER_MOL,
            "max_force_deviation_eV_per_angstrom": force_deviation, "force_ratio": force_ratio,
        })  # fmt: skip
    return rows


def verdict(rows, tolerance_kcal_per_mol: float, force_tolerance: float, symbols) -> dict:
    """What the audit found: its figures, whether it passed, and, if not, a diagnosis of the deviations'
    shape. `symbols`: each row's geometry's chemical symbols, for the per-element fit."""
    deviations = np.array([row["deviation_kcal_per_mol"] for row in rows])
    forces = np.array([row["max_force_deviation_eV_per_angstrom"] for row in rows])
    forces = forces[np.isfinite(forces)]
    summary = {
        "geometries": len(rows),
        "tolerance_kcal_per_mol": tolerance_kcal_per_mol,
        "max_abs_deviation_kcal_per_mol": float(np.abs(deviations).max()),
        "mean_deviation_kcal_per_mol": float(deviations.mean()),
        "max_force_deviation_eV_per_angstrom": float(forces.max()) if len(forces) else None,
    }
    forces_pass = not len(forces) or forces.max() <= force_tolerance
    summary["passed"] = bool(summary["max_abs_deviation_kcal_per_mol"] <= tolerance_kcal_per_mol and forces_pass)
    if not summary["passed"]:
        summary["diagnosis"] = diagnosis(rows, symbols, tolerance_kcal_per_mol, force_tolerance)
    return summary


def diagnosis(rows, symbols, tolerance_kcal_per_mol: float, force_tolerance: float) -> str:
    """The shape of the deviations (constant, per atom, per element, a ratio) in words, and the usual causes."""
    deviations_meh = np.array([row["deviation_mEh"] for row in rows])
    lines = [_energy_shape(rows, symbols, deviations_meh, tolerance_kcal_per_mol)]
    forces = [row["max_force_deviation_eV_per_angstrom"] for row in rows]
    worst_force = max((f for f in forces if math.isfinite(f)), default=None)
    if worst_force is not None and worst_force > force_tolerance:
        lines.append(_force_shape(rows, worst_force, force_tolerance))
    lines.append("Usual causes: " + "; ".join(USUAL_CAUSES) + ".")
    return "\n".join(lines)


def _energy_shape(rows, symbols, deviations_meh, tolerance_kcal_per_mol: float) -> str:
    spread = deviations_meh.max() - deviations_meh.min()
    mean = deviations_meh.mean()
    worst = max(rows, key=lambda row: abs(row["deviation_kcal_per_mol"]))
    head = (
        f"Energies deviate (provided - recomputed) by {deviations_meh.min():+.3f} to {deviations_meh.max():+.3f} mEh "
        f"(mean {mean:+.3f} mEh; worst {worst['geometry_id']}: {worst['deviation_kcal_per_mol']:+.2f} kcal/mol against "
        f"a tolerance of {tolerance_kcal_per_mol} kcal/mol)."
    )
    ratios = np.array([row["provided_eV"] / row["recomputed_eV"] for row in rows])
    units = {"Hartree read as eV": 1 / HARTREE_TO_EV, "eV read as Hartree": HARTREE_TO_EV,
             "kcal/mol read as eV": EV_TO_KCAL_PER_MOL, "eV read as kcal/mol": 1 / EV_TO_KCAL_PER_MOL}  # fmt: skip
    for name, factor in units.items():
        if np.allclose(ratios, factor, rtol=1e-3):
            return f"{head} The provided energies are {factor:.6g} times astray's: units ({name})."
    if len(rows) > 1 and spread < 0.1 * abs(mean):
        return f"{head} The offset is constant ({mean:+.3f} mEh): another zero of energy, or a constant added."
    atoms = np.array([row["atoms"] for row in rows], dtype=float)
    per_atom, residual = _fit(atoms[:, None], deviations_meh)
    if len(rows) > 2 and residual < 0.1 * np.abs(deviations_meh).max():
        return f"{head} It grows with the molecule, {per_atom[0]:+.3f} mEh per atom (residual {residual:.3f} mEh)."
    elements = sorted({symbol for geometry in symbols for symbol in geometry})
    counts = np.array([[Counter(geometry)[element] for element in elements] for geometry in symbols], dtype=float)
    if len(rows) > 2:
        one_element = [(_fit(counts[:, [k]], deviations_meh), element) for k, element in enumerate(elements)]
        ((per_element, residual), element) = min(one_element, key=lambda fit: fit[0][1])
        if residual < 0.1 * np.abs(deviations_meh).max():
            shape = f"{head} It grows with the number of {element} atoms, {per_element[0]:+.3f} mEh per {element} "
            shape += f"(residual {residual:.3f} mEh)"
            if element == "H":  # X-H stretches carry most of a molecule's zero-point energy
                shape += ": as an energy with the zero-point energy in it would (QM9's U0, U, H and G include it)"
            return shape + "."
    if len(rows) > len(elements):
        per_element, residual = _fit(counts, deviations_meh)
        if residual < 0.1 * np.abs(deviations_meh).max():
            terms = ", ".join(f"{c:+.3f} mEh per {e}" for e, c in zip(elements, per_element))
            return f"{head} It follows the element counts: {terms} (residual {residual:.3f} mEh)."
        return f"{head} It is neither constant, nor per atom, nor per element (residual {residual:.3f} mEh)."
    return (
        f"{head} It is neither constant nor per atom; {len(rows)} geometries are too few to tell a per-element "
        f"offset among {len(elements)} elements."
    )


def _force_shape(rows, worst_force: float, force_tolerance: float) -> str:
    text = f"Forces deviate by up to {worst_force:.4f} eV/Å (tolerance {force_tolerance} eV/Å)."
    ratios = np.array([row["force_ratio"] for row in rows if math.isfinite(row["force_ratio"])])
    units = {"Hartree/Bohr read as eV/Å": 1 / HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM,
             "eV/Å read as Hartree/Bohr": HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM,
             "kcal/mol/Å read as eV/Å": EV_TO_KCAL_PER_MOL, "the sign (gradients, not forces)": -1.0}  # fmt: skip
    for name, factor in units.items():
        if len(ratios) and np.allclose(ratios, factor, rtol=0.02):
            return f"{text} The provided forces are {factor:.5g} times astray's: {name}."
    return text


def _fit(features: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares coefficients of values ~ features (no intercept) and the root-mean-square residual."""
    coefficients, *_ = np.linalg.lstsq(features, values, rcond=None)
    residual = float(np.sqrt(np.mean((features @ coefficients - values) ** 2)))
    return coefficients, residual


def message(summary: dict, table_path) -> str:
    """The error a failed audit stops the run with."""
    return (
        f"labels.audit: the labels that came with the files do not match astray's at their declared level "
        f"({summary['geometries']} geometries recomputed; table in {table_path}).\n{summary['diagnosis']}\n"
        "Nothing was built on them. Fix the declaration (geometries.sources.files.labels: energy field, units, "
        "level) or, if the difference is understood and acceptable, raise labels.audit.tolerance_kcal_per_mol."
    )
