"""Probe curves and their references: H2 against the label method and FCI, two bare protons against 1/r.

All probe energies use one convention: energy relative to the separated fragments (two H atoms for H2, two
bare protons for H2²⁺), in eV. For H2²⁺ that is exactly the Coulomb repulsion 1/r in atomic units.
"""

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from pyscf import fci, gto, scf

from astray.labels import Level, label_geometry
from astray.units import ANGSTROM_TO_BOHR, HARTREE_TO_EV


@dataclass(frozen=True)
class Probe:
    name: str
    long_name: str
    charge: int
    multiplicity: int


PROBES = {
    "H2": Probe("H2", "hydrogen molecule dissociation curve", charge=0, multiplicity=1),
    "H2_2plus": Probe("H2_2plus", "two bare protons (H2 with charge +2, no electrons)", charge=2, multiplicity=1),
}


def probe_geometry(probe: Probe, distance: float) -> Atoms:
    atoms = Atoms("H2", positions=[(0.0, 0.0, 0.0), (0.0, 0.0, distance)])
    atoms.info.update(charge=probe.charge, multiplicity=probe.multiplicity, geometry_id=f"{probe.name}@{distance:g}")
    return atoms


def fragment_energy(probe: Probe, atom_energies: dict) -> float:
    """Energy (eV) of the separated fragments: two H atoms, or zero for two bare protons."""
    return 0.0 if probe.charge == 2 else 2.0 * atom_energies["H"]


def label_method_curve(probe: Probe, distances, level: Level, atom_energies: dict) -> np.ndarray:
    """The label method's own curve (eV), so model error can be told apart from method error."""
    reference = fragment_energy(probe, atom_energies)
    energies = [label_geometry(probe_geometry(probe, r), level, forces=False)["energy"] for r in distances]
    return np.array(energies) - reference


def coulomb_curve(distances) -> np.ndarray:
    """Exact energy of two bare protons: 1/r Hartree with r in Bohr, returned in eV."""
    return HARTREE_TO_EV / (np.asarray(distances, dtype=float) * ANGSTROM_TO_BOHR)


def h2_fci_curve(distances, basis: str) -> np.ndarray:
    """FCI of H2 relative to two H atoms in the same basis (eV): exact for two electrons in that basis."""
    hydrogen = scf.UHF(gto.M(atom="H 0 0 0", basis=basis, spin=1, verbose=0)).run()
    energies = []
    for r in distances:
        mol = gto.M(atom=f"H 0 0 0; H 0 0 {r}", unit="Angstrom", basis=basis, verbose=0)
        energies.append(fci.FCI(scf.RHF(mol).run()).kernel()[0])
    return (np.array(energies) - 2.0 * hydrogen.e_tot) * HARTREE_TO_EV


def exact_curve(probe: Probe, distances, fci_basis: str) -> np.ndarray:
    if probe.charge == 2:
        return coulomb_curve(distances)
    return h2_fci_curve(distances, fci_basis)
