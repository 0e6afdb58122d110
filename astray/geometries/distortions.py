"""Distorted copies of an equilibrium molecule: bonds scaled one at a time, Gaussian rattling, and
normal-mode sampling at a temperature. Each copy records how it was made (``origin`` and its parameters).
"""

import math
from collections import deque

import numpy as np
from ase import Atoms, units
from scipy.spatial.distance import pdist

from astray.bonding import bonds
from astray.labels.from_files import without_provided

BOND_SCALED = "bond_scaled"
RATTLED = "rattled"
NORMAL_MODE = "normal_mode"
# Draws of a random distortion that breaks the minimum-distance guard are redrawn at most this often.
MAX_REDRAWS = 100
# Modes softer than this (cm^-1) are sampled as if they had it: a near-free rotor would otherwise get an
# unbounded amplitude. An imaginary mode (the cheap method's minimum differs from the geometry's, e.g.
# planar CH3 at HF/STO-3G) is sampled with the magnitude of its curvature.
MIN_WAVENUMBER = 100.0


def scale_bond(atoms: Atoms, i: int, j: int, factor: float, bonded=None) -> Atoms:
    """Copy of `atoms` with bond i–j scaled by `factor`, moving only the fragment on j's side.

    Cutting an acyclic bond splits the molecule; the smaller side moves rigidly along the bond so every
    other bond length is kept. In a ring the bond does not split the molecule, so only atom j moves.
    `bonded`: the molecule's `bonds`, when the caller has them already.
    """
    side = _fragment_beyond(atoms, i, j, bonds(atoms) if bonded is None else bonded)
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


def _fragment_beyond(atoms: Atoms, i: int, j: int, bonded) -> set[int]:
    """Atoms reachable from j without crossing the bond i–j."""
    neighbours = {k: set() for k in range(len(atoms))}
    for a, b in bonded:
        if {a, b} != {i, j}:
            neighbours[a].add(b)
            neighbours[b].add(a)
    seen, queue = {j}, deque([j])
    while queue:
        for nxt in neighbours[queue.popleft()] - seen:
            seen.add(nxt)
            queue.append(nxt)
    return seen


def sorted_distances(positions) -> np.ndarray:
    """Every interatomic distance, sorted: invariant to translation, rotation and the numbering of atoms,
    the fingerprint by which two geometries of the same atoms are duplicates."""
    return np.sort(pdist(positions))


def min_interatomic_distance(atoms: Atoms) -> float:
    # scipy's pdist: ASE's get_all_distances handles periodic cells and is ~10x slower on a molecule.
    return float(pdist(atoms.positions).min()) if len(atoms) > 1 else np.inf


def bond_scaled_copies(
    molecule: Atoms, factors, min_distance: float, element_pairs=(), budget: float = 0, seed: int = 0, tolerance=0.01
) -> list[Atoms]:
    """One copy per bond and factor; copies with atoms closer than `min_distance` Å are dropped.

    With `element_pairs` (e.g. [["C", "H"], ["O", "H"]]) only bonds between those elements are scaled.
    With a `budget`, `budget` distinct copies: (bond, factor) pairs are tried in a seeded random order and
    a copy whose sorted interatomic distances all lie within `tolerance` Å of one already kept is passed
    over, so symmetric bonds (water's two O-H) do not spend the budget twice, and only the copies kept
    are built. A fractional budget is a mean over molecules: 1.5 gives each molecule one copy and, with
    probability 0.5 (seeded per geometry), a second.
    """
    rng = geometry_rng(seed, molecule)
    whole = math.floor(budget)
    if budget != whole:  # drawn only for a fraction, so whole budgets keep the copies they always had
        budget = whole + int(rng.random() < budget - whole)
        if budget == 0:
            return []
    if not factors:
        return []  # finding the bonds is the costly part; skip it when nothing would be scaled
    wanted = {frozenset(pair) for pair in element_pairs}
    symbols = molecule.get_chemical_symbols()
    bonded = bonds(molecule)
    candidates = [
        (i, j, factor)
        for i, j in bonded
        if not wanted or frozenset((symbols[i], symbols[j])) in wanted
        for factor in factors
    ]
    order = rng.permutation(len(candidates)) if budget else range(len(candidates))
    kept, fingerprints = {}, []
    for index in order:
        i, j, factor = candidates[index]
        scaled = scale_bond(molecule, i, j, factor, bonded)
        fingerprint = sorted_distances(scaled.positions)
        if fingerprint[0] < min_distance:
            continue
        if budget:
            if any(np.abs(fingerprint - other).max() <= tolerance for other in fingerprints):
                continue
            fingerprints.append(fingerprint)
        bond = f"{symbols[i]}{i}-{symbols[j]}{j}"
        kept[index] = _distorted(molecule, scaled.positions, BOND_SCALED, f"{bond}x{factor:g}", bond=bond,
                                 scale_factor=factor)  # fmt: skip
        if len(kept) == budget:
            break
    return [kept[index] for index in sorted(kept)]


def rattled_copies(molecule: Atoms, copies: int, sigma: float, seed: int, min_distance: float) -> list[Atoms]:
    """`copies` geometries with every coordinate displaced by Gaussian noise of `sigma` Å.

    The random stream depends only on the seed and the geometry's id, so adding a molecule to the
    campaign does not change the rattled copies of the others.
    """
    rng = geometry_rng(seed, molecule)
    rattled = []
    for copy in range(copies):
        positions = _guarded_draw(
            molecule, min_distance, lambda: molecule.positions + rng.normal(0.0, sigma, molecule.positions.shape)
        )
        rattled.append(_distorted(molecule, positions, RATTLED, f"rattle{copy}", sigma=float(sigma)))
    return rattled


def normal_mode_copies(
    molecule: Atoms, hessian: np.ndarray | None, samples: int, temperature: float, seed: int, min_distance: float
) -> list[Atoms]:
    """Geometries drawn from the classical Boltzmann distribution of the harmonic potential at `temperature`.

    Each mass-weighted normal coordinate Q_k is Gaussian with variance k_B T / ω_k², so every vibrational
    mode holds k_B T / 2 of potential energy on average (equipartition); translations and rotations are
    not excited. `hessian` is in eV/Å², shape (3N, 3N); without one the copies are placeholders at the
    equilibrium positions, with the ids and number the real draws will have.
    """
    if hessian is None:
        return [
            _distorted(molecule, molecule.positions, NORMAL_MODE, f"nm{sample}", temperature=float(temperature))
            for sample in range(samples)
        ]
    wavenumbers, modes = vibrational_modes(molecule, hessian)
    omega_squared = _omega_squared(np.maximum(np.abs(wavenumbers), MIN_WAVENUMBER))
    spread = np.sqrt(units.kB * temperature / omega_squared)  # Å amu^1/2
    inverse_sqrt_mass = np.repeat(molecule.get_masses() ** -0.5, 3)
    rng = geometry_rng(seed, molecule)

    def draw():
        displacement = inverse_sqrt_mass * (modes @ (spread * rng.standard_normal(len(spread))))
        return molecule.positions + displacement.reshape(-1, 3)

    return [
        _distorted(
            molecule, _guarded_draw(molecule, min_distance, draw), NORMAL_MODE, f"nm{i}", temperature=temperature
        )
        for i in range(samples)
    ]


def vibrational_modes(molecule: Atoms, hessian: np.ndarray):
    """(wavenumbers in cm^-1, orthonormal mass-weighted modes as columns) with translations and rotations
    projected out; imaginary modes of a Hessian taken away from its own minimum come out negative."""
    masses = np.repeat(molecule.get_masses(), 3)
    weighted = hessian / np.sqrt(np.outer(masses, masses))
    external = _external_motions(molecule)
    projector = np.eye(len(masses)) - external @ external.T
    eigenvalues, vectors = np.linalg.eigh(projector @ weighted @ projector)
    internal = np.abs(vectors.T @ external).sum(axis=1) < 1e-6
    # Of the modes orthogonal to translations and rotations, the 3N-6 (3N-5 linear) stiffest are vibrations.
    n_vibrations = len(masses) - external.shape[1]
    keep = np.flatnonzero(internal)[-n_vibrations:]
    return _wavenumbers(eigenvalues[keep]), vectors[:, keep]


def _external_motions(molecule: Atoms) -> np.ndarray:
    """Orthonormal mass-weighted translations and rotations (5 for a linear molecule, 6 otherwise)."""
    masses = molecule.get_masses()
    centred = molecule.positions - molecule.get_center_of_mass()
    sqrt_mass = np.sqrt(masses)[:, None]
    motions = [np.ravel(sqrt_mass * np.eye(3)[axis]) for axis in range(3)]
    motions += [np.ravel(sqrt_mass * np.cross(np.eye(3)[axis], centred)) for axis in range(3)]
    left, singular, _ = np.linalg.svd(np.array(motions).T, full_matrices=False)
    return left[:, singular > 1e-6 * singular.max()]


# ω² in (eV / Å² / amu) to wavenumber in cm^-1, and back: ω [1/s] = sqrt(λ eV/(Å² amu)), ν̃ = ω / (2π c).
_EV_PER_A2_AMU_TO_PER_S2 = units._e / (1e-20 * units._amu)
_PER_S_TO_WAVENUMBER = 1.0 / (2 * np.pi * units._c * 100)


def _wavenumbers(omega_squared: np.ndarray) -> np.ndarray:
    return np.sign(omega_squared) * np.sqrt(np.abs(omega_squared) * _EV_PER_A2_AMU_TO_PER_S2) * _PER_S_TO_WAVENUMBER


def _omega_squared(wavenumbers: np.ndarray) -> np.ndarray:
    return (wavenumbers / _PER_S_TO_WAVENUMBER) ** 2 / _EV_PER_A2_AMU_TO_PER_S2


def check_hessian_level(method: str, basis: str, elements) -> None:
    """Fail when planning, naming the config key, if the normal modes' Hessian cannot be computed: PySCF lacks
    the basis for an element of the pool, or the method is not the mean field (HF or a functional) whose
    analytic Hessian `harmonic_hessian` uses."""
    from astray.labels.engines.pyscf_engine import check_basis, check_method
    from astray.labels.levels import LabelInputError, Level

    key = "geometries.distortions.normal_modes"
    level = Level(method, basis)
    if level.family not in ("hf", "dft"):
        raise LabelInputError(f"{key}.method: '{method}' has no analytic Hessian here; use hf or a functional")
    check_basis(basis, elements, f"{key}.basis")
    try:
        check_method(level)
    except LabelInputError as error:
        raise LabelInputError(f"{key}.method: {error}") from None


def harmonic_hessian(molecule: Atoms, method: str = "hf", basis: str = "sto-3g", threads=None) -> np.ndarray:
    """Cartesian Hessian (eV/Å², shape 3N×3N) of a cheap mean-field method with PySCF, at the molecule's
    own geometry and spin; restricted for closed shells, unrestricted otherwise. The SCF climbs the same
    retry ladder as labeling and raises LabelFailure if it never converges."""
    from pyscf import lib

    from astray.labels.engines.pyscf_engine import build_molecule, converged_scf
    from astray.labels.levels import Level
    from astray.units import BOHR_TO_ANGSTROM, HARTREE_TO_EV

    if threads:
        lib.num_threads(threads)
    mol = build_molecule(molecule, basis)
    mf = converged_scf(mol, Level(method, basis), unrestricted=mol.spin != 0)
    hessian = mf.Hessian().kernel()  # Hartree/Bohr², shape (N, N, 3, 3)
    n = len(molecule)
    return hessian.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n) * HARTREE_TO_EV / BOHR_TO_ANGSTROM**2


def geometry_rng(seed: int, geometry: Atoms) -> np.random.Generator:
    """A random stream of its own for each geometry. Its id, not its molecule's name: two geometries of one
    molecule (conformers, or the same species from two sources) get different draws."""
    return np.random.default_rng([seed, *geometry.info["geometry_id"].encode()])


def _guarded_draw(molecule: Atoms, min_distance: float, draw) -> np.ndarray:
    """Positions from `draw()`, redrawn until no two atoms are closer than `min_distance` Å."""
    for _ in range(MAX_REDRAWS):
        positions = draw()
        if min_interatomic_distance(Atoms(molecule.numbers, positions=positions)) >= min_distance:
            return positions
    raise ValueError(
        f"geometries.distortions: {MAX_REDRAWS} draws of molecule '{molecule.info['molecule']}' all put two atoms "
        f"closer than geometries.min_distance = {min_distance} Å; lower sigma or temperature"
    )


def _distorted(molecule: Atoms, positions, origin: str, suffix: str, **details) -> Atoms:
    copy = Atoms(molecule.numbers, positions=positions)
    copy.info.update(without_provided(molecule.info))  # a label the file gave the molecule is not the copy's
    copy.info.update(geometry_id=f"{molecule.info['geometry_id']}:{suffix}", origin=origin, **details)
    return copy
