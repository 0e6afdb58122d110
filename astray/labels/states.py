"""The electronic state every geometry is tagged with (total charge, spin multiplicity) and the checks a
geometry passes before an engine spends CPU time on it: a real state of its nuclei, known elements, no
overlapping atoms; and what its state and shape say about the labeling path (spin fragments, stretched bonds).
"""

from collections import Counter

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii
from scipy.spatial.distance import pdist, squareform

from astray.labels.levels import LabelInputError

# Ground-state spin multiplicities of the isolated atoms (Hund's rules), for atomization energies.
ATOM_MULTIPLICITY = {
    "H": 2, "He": 1, "Li": 2, "Be": 1, "B": 2, "C": 3, "N": 4, "O": 3, "F": 2, "Ne": 1,
    "Na": 2, "Mg": 1, "Al": 2, "Si": 3, "P": 4, "S": 3, "Cl": 2, "Ar": 1,
}  # fmt: skip


# A nearest neighbour farther than this multiple of the covalent-radius sum counts as a stretched bond.
STRETCH_RATIO = 1.3


def electronic_state(atoms: Atoms) -> tuple:
    """The total charge and spin multiplicity a geometry is tagged with (every source tags its geometries:
    `astray.geometries.sources.tagged`). One without them is refused, never taken for a neutral singlet: for H2+ or a
    stretched radical that guess would be a different molecule."""
    missing = [key for key in ("charge", "multiplicity") if key not in atoms.info]
    if missing:
        raise LabelInputError(
            f"{geometry_name(atoms)}: no {' or '.join(repr(key) for key in missing)} in its info; astray's sources tag "
            "every geometry with its total charge and spin multiplicity"
        )
    return atoms.info["charge"], atoms.info["multiplicity"]


def charge_and_multiplicity(atoms: Atoms) -> tuple[int, int]:
    charge, multiplicity = electronic_state(atoms)
    return int(charge), int(multiplicity)


def electron_count(atoms: Atoms) -> int:
    return int(atoms.numbers.sum()) - charge_and_multiplicity(atoms)[0]


def check_charge_and_spin(atoms: Atoms) -> None:
    """Charge and multiplicity must describe a real electronic state of these nuclei."""
    charge, multiplicity = electronic_state(atoms)
    name = geometry_name(atoms)
    if int(charge) != charge:
        raise LabelInputError(f"{name}: field 'charge' must be an integer, got {charge!r}")
    if int(multiplicity) != multiplicity or multiplicity < 1:
        raise LabelInputError(f"{name}: field 'multiplicity' must be a positive integer, got {multiplicity!r}")
    electrons = electron_count(atoms)
    if electrons < 0:
        raise LabelInputError(f"{name}: field 'charge' {charge} removes more electrons than the nuclei have")
    unpaired = int(multiplicity) - 1
    if unpaired > electrons or (electrons - unpaired) % 2:
        raise LabelInputError(
            f"{name}: field 'multiplicity' {multiplicity} is impossible with {electrons} electrons "
            f"(charge {charge}); {electrons} electrons allow multiplicities {_allowed_multiplicities(electrons)}"
        )


def _allowed_multiplicities(electrons: int) -> str:
    return ", ".join(str(m) for m in range(1 if electrons % 2 == 0 else 2, electrons + 2, 2))


def check_distances(atoms: Atoms, min_distance: float) -> None:
    """Atoms closer than `min_distance` (Å) are a broken input, not a hard physics case."""
    positions = np.asarray(atoms.positions, dtype=float)
    if not np.all(np.isfinite(positions)):
        raise LabelInputError(f"{geometry_name(atoms)}: field 'positions' contains NaN or infinite coordinates")
    if len(atoms) < 2 or pdist(positions).min() >= min_distance:  # the common case, checked cheaply
        return
    distances = atoms.get_all_distances()
    np.fill_diagonal(distances, np.inf)
    i, j = np.unravel_index(np.argmin(distances), distances.shape)
    if distances[i, j] < min_distance:
        raise LabelInputError(
            f"{geometry_name(atoms)}: field 'positions': atoms {i} ({atoms[i].symbol}) and {j} ({atoms[j].symbol}) are "
            f"{distances[i, j]:.3f} Å apart, closer than labels.min_distance = {min_distance} Å"
        )


def check_elements(atoms: Atoms) -> None:
    for symbol in set(atoms.get_chemical_symbols()):
        if symbol not in atomic_numbers or symbol == "X":
            raise LabelInputError(f"{geometry_name(atoms)}: field 'symbols': unknown element '{symbol}'")


def spin_fragments(atoms: Atoms) -> np.ndarray:
    """Which side of its weakest bond each atom lies on (True: the first atom's side), for a broken-symmetry
    start that puts the two sides' unpaired electrons in opposite spins.

    The sides are the bond graph's components (bonds as `astray.bonding.bonds` finds them); a molecule
    still in one piece is cut at its bond longest relative to its covalent radii. A ring cut once stays in
    one piece, and all its atoms are on the first side.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from astray.bonding import bonds

    bonded = bonds(atoms)
    if len(atoms) < 2 or not bonded:
        return np.arange(len(atoms)) == 0

    def sides(pairs):
        rows, columns = zip(*pairs) if pairs else ((), ())
        graph = coo_matrix((np.ones(len(pairs)), (rows, columns)), shape=(len(atoms), len(atoms)))
        labels = connected_components(graph, directed=False)[1]
        return labels == labels[0]

    side = sides(bonded)
    if not side.all():
        return side
    distances = squareform(pdist(atoms.positions))
    radii = covalent_radii[atoms.numbers]
    weakest = max(bonded, key=lambda pair: distances[pair] / (radii[pair[0]] + radii[pair[1]]))
    return sides([pair for pair in bonded if pair != weakest])


HALOGENS = ("F", "Cl", "Br", "I")


def may_break_spin_symmetry(atoms: Atoms) -> bool:
    """Whether labeling a closed shell is priced on the unrestricted path: a stretched bond, or a multiple
    bond or ring by its formula (degree of unsaturation above 0). Only the stability analysis knows; on the
    default pool this guess caught 36 of the 37 unstable equilibrium molecules and priced 12 of 23 stable
    ones too (rings), so the estimate errs high."""
    return is_unsaturated(Counter(atoms.get_chemical_symbols())) or is_stretched(atoms)


def is_unsaturated(counts) -> bool:
    """A multiple bond or a ring by the formula's element counts: degree of unsaturation above 0."""
    monovalent = counts["H"] + sum(counts[halogen] for halogen in HALOGENS)
    return counts["C"] + counts["Si"] + (counts["N"] + counts["P"] - monovalent) / 2 + 1 > 0


def is_stretched(atoms: Atoms) -> bool:
    """True for geometries with a bond stretched well beyond its usual length (the cost model prices them
    on the unrestricted path)."""
    if atoms.info.get("scale_factor", 1.0) > 1.0:
        return True
    if len(atoms) < 2:
        return False
    distances = squareform(pdist(atoms.positions))  # scipy: ~5x faster than ASE's, and run at every plan
    np.fill_diagonal(distances, np.inf)
    radii = covalent_radii[atoms.numbers]
    ratio = (distances / (radii[:, None] + radii[None, :])).min(axis=1)
    return bool(ratio.max() > STRETCH_RATIO)


def geometry_name(atoms: Atoms) -> str:
    """The geometry, and for one from a user's file, the file and frame it was read from."""
    name = f"geometry '{atoms.info.get('geometry_id', atoms.get_chemical_formula())}'"
    source = str(atoms.info.get("source", ""))
    if source.startswith("file:") and "source_frame" in atoms.info:
        name += f" ({source.removeprefix('file:')} frame {atoms.info['source_frame']})"
    return name
