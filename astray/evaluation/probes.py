"""Probe curves and their references: each probe against the label method, FCI in a basis (exact for a
few electrons within that basis), and, where physics has it, the exact answer (astray.evaluation.exact_curves: H2
from the literature, H2+ solved exactly, Z₁Z₂/r for bare nuclei).

All probe energies use one convention: energy relative to the probe's separated fragments (two H atoms for
H2, H + H⁺ for H2⁺, two bare protons for H2²⁺, neutral atoms for LiH, HF, N2), in eV. A model trained on
atomization energies (relative to neutral atoms) is put on that scale by the probe's fragment shift.
"""

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from astray.evaluation.exact_curves import (
    H2_CITATION,
    H2_PLUS_CITATION,
    coulomb_curve,
    curve_minimum,
    h2_curve,
    h2_plus_curve,
)
from astray.labels.engines.pyscf_engine import FCI_MAX_DETERMINANTS
from astray.labels.labeling import Level, label_geometry
from astray.labels.levels import fci_determinants


@dataclass(frozen=True)
class Probe:
    name: str
    long_name: str
    symbols: tuple[str, str]
    charge: int
    multiplicity: int
    fragments: tuple[tuple[str, int, int], ...]  # (element, charge, multiplicity) of each separated fragment
    # Experimental equilibrium distance (Å) that scales the error windows; H2's for unbound probes, so the
    # windows of H2 and of two protons cover the same distances.
    length_scale: float
    expected_minima: int  # what the exact curve has: a bound diatomic one, bare nuclei none
    expected_force_flips: int  # repulsive inside the minimum, attractive outside: one sign change
    # The true well depth D_e (eV; NaN when unbound), so the cube shows how close the references come:
    # H2 4.748 (109.5 kcal/mol, exact Born-Oppenheimer), H2+ 2.793 (exact), LiH 2.515, HF 6.122 and
    # N2 9.905 (experimental D_e: D_0 plus the zero-point energy).
    limit_well_depth: float

    @property
    def electrons(self) -> int:
        return sum(atomic_numbers[s] for s in self.symbols) - self.charge


H = ("H", 0, 2)
PROTON = ("H", 1, 1)
PROBES = {
    probe.name: probe
    for probe in (
        Probe("H2", "hydrogen molecule", ("H", "H"), 0, 1, (H, H), 0.741, 1, 1, 4.748),
        Probe("H2_plus", "hydrogen molecular ion H2+ (one electron)", ("H", "H"), 1, 2, (H, PROTON), 1.057, 1, 1,
              2.793),
        Probe("H2_2plus", "two bare protons (H2 with charge +2, no electrons)", ("H", "H"), 2, 1, (PROTON, PROTON),
              0.741, 0, 0, np.nan),
        Probe("LiH", "lithium hydride", ("Li", "H"), 0, 1, (("Li", 0, 2), H), 1.595, 1, 1, 2.515),
        Probe("HF", "hydrogen fluoride", ("H", "F"), 0, 1, (H, ("F", 0, 2)), 0.917, 1, 1, 6.122),
        Probe("N2", "nitrogen molecule", ("N", "N"), 0, 1, (("N", 0, 4), ("N", 0, 4)), 1.098, 1, 1, 9.905),
    )
}  # fmt: skip


def probe_geometry(probe: Probe, distance: float) -> Atoms:
    atoms = Atoms("".join(probe.symbols), positions=[(0.0, 0.0, 0.0), (0.0, 0.0, distance)])
    atoms.info.update(charge=probe.charge, multiplicity=probe.multiplicity, geometry_id=f"{probe.name}@{distance:g}")
    return atoms


def fragment_atom(element: str, charge: int, multiplicity: int) -> Atoms:
    atom = Atoms(element, positions=[(0.0, 0.0, 0.0)])
    atom.info.update(charge=charge, multiplicity=multiplicity, geometry_id=f"{element}{charge:+d} fragment")
    return atom


def fragment_energy(probe: Probe, level: Level) -> float:
    """Energy (eV) of the separated fragments at `level`; a bare proton's is zero."""
    return sum(label_geometry(fragment_atom(*fragment), level, forces=False)["energy"] for fragment in probe.fragments)


def fragment_shift(probe: Probe, level: Level, atom_energies: dict) -> float:
    """What turns an atomization energy (relative to neutral atoms) into one relative to this probe's
    fragments (eV): zero for neutral fragments, -13.6 eV per proton at the exact limit."""
    neutral_atoms = sum(atom_energies[symbol] for symbol in probe.symbols)
    return neutral_atoms - fragment_energy(probe, level)


def curve(probe: Probe, distances, level: Level) -> np.ndarray:
    """The probe's curve at `level`, relative to its fragments at the same level (eV)."""
    return level_curve(probe, level)(distances)


def level_curve(probe: Probe, level: Level):
    """The probe's curve at `level` as a function of the distances (Å), its fragments computed once."""
    fragments = fragment_energy(probe, level)

    def energies(distances) -> np.ndarray:
        molecule = [label_geometry(probe_geometry(probe, r), level, forces=False)["energy"] for r in distances]
        return np.array(molecule) - fragments

    return energies


# The probes whose exact curve is known: a function of the distance (Å) in eV, a short name for legends,
# and its citation.
EXACT_CURVES = {
    "H2": (h2_curve, "Born-Oppenheimer, Pachucki 2010", H2_CITATION),
    "H2_plus": (h2_plus_curve, "exact solution", H2_PLUS_CITATION),
}
COULOMB = "Coulomb law Z1*Z2/r"


def exact_reference_name(probe: Probe) -> str | None:
    """What the probe's exact curve is, in a few words, or None when physics gives none (LiH, HF, N2)."""
    if probe.electrons == 0:
        return COULOMB
    return EXACT_CURVES[probe.name][1] if probe.name in EXACT_CURVES else None


def exact_reference_citation(probe: Probe) -> str | None:
    if probe.electrons == 0:
        return "Coulomb's law between bare nuclei, exact"
    return EXACT_CURVES[probe.name][2] if probe.name in EXACT_CURVES else None


def exact_curve(probe: Probe, distances) -> np.ndarray:
    """The exact curve (eV), or NaN everywhere where physics gives none."""
    if probe.electrons == 0:
        return coulomb_curve(distances, *(atomic_numbers[s] for s in probe.symbols))
    if probe.name in EXACT_CURVES:
        return EXACT_CURVES[probe.name][0](distances)
    return np.full(len(distances), np.nan)


def fci_reference_name(probe: Probe, fci_basis: str) -> str | None:
    """FCI in `fci_basis`, or None when its determinant space is too large to afford."""
    if probe.electrons == 0:
        return COULOMB  # no electrons: FCI is the nuclear repulsion
    n_orbitals = _orbital_count(probe, fci_basis)
    n_alpha = (probe.electrons + probe.multiplicity - 1) // 2
    if fci_determinants(n_orbitals, n_alpha, probe.electrons - n_alpha) > FCI_MAX_DETERMINANTS:
        return None
    return f"FCI/{fci_basis}"


def fci_curve(probe: Probe, distances, fci_basis: str) -> np.ndarray:
    """FCI curve in `fci_basis` (eV), or NaN everywhere when FCI is not affordable for this probe."""
    method = fci_reference_name(probe, fci_basis)
    if method is None:
        return np.full(len(distances), np.nan)
    if probe.electrons == 0:
        return exact_curve(probe, distances)
    return curve(probe, distances, Level("fci", fci_basis))


def reference_minimum(probe: Probe, curve_of, distances, energies, tolerance: float = 1e-8) -> tuple[float, float]:
    """(r_e in Å, D_e in eV) of a reference curve, minimised on the curve itself (`curve_of(distances)`)
    between the grid points beside its lowest one, to `tolerance` Å: a grid cannot give r_e to 0.001 Å.
    NaN for a curve without an interior minimum (two bare protons) or without values."""
    energies = np.asarray(energies, dtype=float)
    lowest = int(np.argmin(energies)) if np.isfinite(energies).all() else 0
    if probe.expected_minima == 0 or not 0 < lowest < len(distances) - 1:
        return np.nan, np.nan
    return curve_minimum(curve_of, (distances[lowest - 1], distances[lowest + 1]), tolerance)


def _orbital_count(probe: Probe, basis: str) -> int:
    from astray.labels.engines.pyscf_engine import build_molecule

    return build_molecule(probe_geometry(probe, 1.0), basis).nao_nr()


# r_e of a quantum-chemistry curve to 1e-5 Å: its SCF and FCI convergence allows no finer.
QC_TOLERANCE = 1e-5


def probe_references(probe: Probe, distances, level: Level, fci_basis: str) -> tuple[dict, dict]:
    """Every reference of one probe: ({reference: energies on `distances` (eV)}, {reference: (r_e, D_e)}),
    the minima from the curves themselves (NaN for a curve that has none or no values)."""
    functions = {"label_method": (level_curve(probe, level), QC_TOLERANCE)}
    if fci_reference_name(probe, fci_basis) and probe.electrons:
        functions["fci"] = (level_curve(probe, Level("fci", fci_basis)), QC_TOLERANCE)
    if probe.name in EXACT_CURVES:
        functions["exact"] = (EXACT_CURVES[probe.name][0], 1e-8)
    curves = {
        "exact": exact_curve(probe, distances),
        "fci": functions["fci"][0](distances) if "fci" in functions else fci_curve(probe, distances, fci_basis),
        "label_method": functions["label_method"][0](distances),
    }
    minima = {
        reference: reference_minimum(probe, function, distances, curves[reference], tolerance)
        for reference, (function, tolerance) in functions.items()
    }
    return curves, minima


def check_fci_basis(probe_names, fci_basis: str) -> None:
    """Fail at planning, not in the reference job, when PySCF has no `fci_basis` for a probe's element."""
    from astray.labels.engines.pyscf_engine import check_basis

    check_basis(fci_basis, {symbol for name in probe_names for symbol in PROBES[name].symbols}, "evaluation.fci_basis")
