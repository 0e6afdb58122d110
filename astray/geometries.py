"""Geometries for the training pool: equilibrium molecules and bond-scaled (compressed/stretched) copies.

Every geometry carries its provenance in ``atoms.info``: ``geometry_id``, ``molecule``, ``origin``
(``equilibrium`` or ``bond_scaled``), ``bond`` and ``scale_factor``, plus ``charge`` and ``multiplicity``.
"""

from collections import deque

import numpy as np
from ase import Atoms
from ase.collections import g2
from ase.neighborlist import natural_cutoffs, neighbor_list

EQUILIBRIUM = "equilibrium"
BOND_SCALED = "bond_scaled"
# Covalent radii sums miss real bonds (ethanol's C-O is 1.43 Å, C+O radii 1.42 Å); 20% slack is customary.
BOND_CUTOFF_MULTIPLIER = 1.2


def is_probe_molecule(atoms: Atoms) -> bool:
    """H2 (any charge) is a probe: letting it into training would answer the probe question by memory."""
    return sorted(atoms.get_chemical_symbols()) == ["H", "H"]


def g2_molecules(elements, min_atoms=2, max_atoms=6, names=(), include_probe=False) -> list[Atoms]:
    """Neutral molecules of ASE's G2 set made only of `elements`, with their ground-state multiplicity.

    Single atoms are left out: they are the isolated-atom references, not training molecules.
    """
    allowed = set(elements)
    selected = []
    for name in names or g2.names:
        if name not in g2.names:
            raise ValueError(f"geometries.molecules: '{name}' is not in ASE's G2 collection")
        atoms = g2[name]
        symbols = set(atoms.get_chemical_symbols())
        if not symbols <= allowed or not min_atoms <= len(atoms) <= max_atoms or len(atoms) < 2:
            continue
        if is_probe_molecule(atoms) and not include_probe:
            continue
        selected.append(_tag_equilibrium(atoms, name))
    return selected


def _tag_equilibrium(atoms: Atoms, name: str) -> Atoms:
    unpaired = int(round(abs(atoms.get_initial_magnetic_moments().sum())))
    clean = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions)
    clean.info.update(
        geometry_id=name,
        molecule=name,
        origin=EQUILIBRIUM,
        bond="",
        scale_factor=1.0,
        charge=int(round(atoms.get_initial_charges().sum())),
        multiplicity=unpaired + 1,
    )
    return clean


def bonds(atoms: Atoms) -> list[tuple[int, int]]:
    """Bonded pairs (i < j): atoms closer than 1.2 times the sum of their covalent radii."""
    first, second = neighbor_list("ij", atoms, natural_cutoffs(atoms, mult=BOND_CUTOFF_MULTIPLIER))
    return sorted({(int(i), int(j)) for i, j in zip(first, second) if i < j})


def scale_bond(atoms: Atoms, i: int, j: int, factor: float) -> Atoms:
    """Copy of `atoms` with bond i–j scaled by `factor`, moving only the fragment on j's side.

    Cutting an acyclic bond splits the molecule; the smaller side moves rigidly along the bond so every
    other bond length is kept. In a ring the bond does not split the molecule, so only atom j moves.
    """
    side = _fragment_beyond(atoms, i, j)
    if i in side:
        side = {j}
    elif len(side) > len(atoms) - len(side):
        i, j = j, i
        side = set(range(len(atoms))) - side
    vector = atoms.positions[j] - atoms.positions[i]
    shift = (factor - 1.0) * vector
    scaled = atoms.copy()
    scaled.positions[sorted(side)] += shift
    return scaled


def _fragment_beyond(atoms: Atoms, i: int, j: int) -> set[int]:
    """Atoms reachable from j without crossing the bond i–j."""
    neighbours = {k: set() for k in range(len(atoms))}
    for a, b in bonds(atoms):
        if {a, b} != {i, j}:
            neighbours[a].add(b)
            neighbours[b].add(a)
    seen, queue = {j}, deque([j])
    while queue:
        for nxt in neighbours[queue.popleft()] - seen:
            seen.add(nxt)
            queue.append(nxt)
    return seen


def min_interatomic_distance(atoms: Atoms) -> float:
    if len(atoms) < 2:
        return np.inf
    distances = atoms.get_all_distances()
    return float(distances[np.triu_indices(len(atoms), k=1)].min())


def bond_scaled_copies(molecule: Atoms, factors, min_distance: float) -> list[Atoms]:
    """One copy per bond and factor; copies with atoms closer than `min_distance` Å are dropped."""
    copies = []
    symbols = molecule.get_chemical_symbols()
    for i, j in bonds(molecule):
        for factor in factors:
            scaled = scale_bond(molecule, i, j, factor)
            if min_interatomic_distance(scaled) < min_distance:
                continue
            bond = f"{symbols[i]}{i}-{symbols[j]}{j}"
            scaled.info.update(
                geometry_id=f"{molecule.info['molecule']}:{bond}x{factor:g}",
                origin=BOND_SCALED,
                bond=bond,
                scale_factor=float(factor),
            )
            copies.append(scaled)
    return copies


def build_pool(geometry_config: dict) -> list[Atoms]:
    """All geometries to label, in a deterministic order: each molecule followed by its distortions."""
    molecules = g2_molecules(
        elements=geometry_config["elements"],
        min_atoms=geometry_config["min_atoms"],
        max_atoms=geometry_config["max_atoms"],
        names=geometry_config.get("molecules", []),
        include_probe=geometry_config["include_probe"],
    )
    pool = []
    for molecule in molecules:
        pool.append(molecule)
        pool.extend(
            bond_scaled_copies(
                molecule,
                geometry_config["bond_scaling"]["factors"],
                geometry_config["min_distance"],
            )
        )
    return pool
