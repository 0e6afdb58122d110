"""Probe curves and their references: each probe against the label method and, where physics allows, an
exact answer (FCI, exact for a few electrons in a basis; Z₁Z₂/r for bare nuclei).

All probe energies use one convention: energy relative to the probe's separated fragments (two H atoms for
H2, H + H⁺ for H2⁺, two bare protons for H2²⁺, neutral atoms for LiH, HF, N2), in eV. A model trained on
atomization energies (relative to neutral atoms) is put on that scale by the probe's fragment shift.
"""

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from astray.engines.pyscf_engine import FCI_MAX_DETERMINANTS
from astray.labels import Level, label_geometry
from astray.levels import fci_determinants
from astray.units import ANGSTROM_TO_BOHR, HARTREE_TO_EV


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
    energies = [label_geometry(probe_geometry(probe, r), level, forces=False)["energy"] for r in distances]
    return np.array(energies) - fragment_energy(probe, level)


def coulomb_curve(distances, z1: int = 1, z2: int = 1) -> np.ndarray:
    """Exact energy of two bare nuclei: Z₁Z₂/r Hartree with r in Bohr, returned in eV."""
    return z1 * z2 * HARTREE_TO_EV / (np.asarray(distances, dtype=float) * ANGSTROM_TO_BOHR)


def exact_reference_name(probe: Probe, fci_basis: str) -> str | None:
    """How the exact curve is obtained, or None when no exact method is affordable (FCI too large)."""
    if probe.electrons == 0:
        return "Coulomb law Z1*Z2/r"
    n_orbitals = _orbital_count(probe, fci_basis)
    n_alpha = (probe.electrons + probe.multiplicity - 1) // 2
    if fci_determinants(n_orbitals, n_alpha, probe.electrons - n_alpha) > FCI_MAX_DETERMINANTS:
        return None
    return f"FCI/{fci_basis}"


def exact_curve(probe: Probe, distances, fci_basis: str) -> np.ndarray:
    """Exact curve (eV), or NaN everywhere when no exact method is affordable for this probe."""
    method = exact_reference_name(probe, fci_basis)
    if method is None:
        return np.full(len(distances), np.nan)
    if probe.electrons == 0:
        return coulomb_curve(distances, *(atomic_numbers[s] for s in probe.symbols))
    return curve(probe, distances, Level("fci", fci_basis))


def _orbital_count(probe: Probe, basis: str) -> int:
    from astray.engines.pyscf_engine import build_molecule

    return build_molecule(probe_geometry(probe, 1.0), basis).nao_nr()
