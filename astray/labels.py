"""PySCF labels: energies and forces with a correct spin treatment of stretched bonds.

A restricted solution of a stretched closed-shell molecule is far above the true ground state (RHF of H2 at
3 Å is ~100 kcal/mol too high), so stretched geometries are also solved from a broken-symmetry guess and the
lower solution is kept. Results are converted here, once, from Hartree/Bohr to eV/Å.
"""

import hashlib
import json
import math
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyscf
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import covalent_radii
from pyscf import dft, gto, scf
from pyscf.lib.exceptions import LinearDependencyError

from astray.units import HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM, HARTREE_TO_EV

# Ground-state spin multiplicities of the isolated atoms (Hund's rules), for atomization energies.
ATOM_MULTIPLICITY = {
    "H": 2, "He": 1, "Li": 2, "Be": 1, "B": 2, "C": 3, "N": 4, "O": 3, "F": 2, "Ne": 1,
    "Na": 2, "Mg": 1, "Al": 2, "Si": 3, "P": 4, "S": 3, "Cl": 2, "Ar": 1,
}  # fmt: skip

# A nearest neighbour farther than this multiple of the covalent-radius sum counts as a stretched bond.
STRETCH_RATIO = 1.3
# A broken-symmetry solution must beat the restricted one by more than this to count as broken (Hartree).
SYMMETRY_BREAKING_THRESHOLD = 1e-7


@dataclass(frozen=True)
class Level:
    """Level of theory: `method` is 'hf' or a PySCF functional name such as 'pbe'."""

    method: str
    basis: str

    @property
    def tag(self) -> str:
        return f"{self.method}/{self.basis}"


class LabelFailure(RuntimeError):
    """A calculation that could not produce a trustworthy label; its message is the quarantine reason."""


def build_molecule(atoms: Atoms, basis: str, charge: int, multiplicity: int) -> gto.Mole:
    return gto.M(
        atom=[(symbol, position) for symbol, position in zip(atoms.get_chemical_symbols(), atoms.positions)],
        unit="Angstrom",
        basis=basis,
        charge=charge,
        spin=multiplicity - 1,
        verbose=0,
    )


def _mean_field(mol: gto.Mole, method: str, unrestricted: bool):
    if method.lower() == "hf":
        return scf.UHF(mol) if unrestricted else scf.RHF(mol)
    mf = dft.UKS(mol) if unrestricted else dft.RKS(mol)
    mf.xc = method
    return mf


# Each rung changes one thing that commonly rescues a stubborn SCF, from cheapest to most robust.
RETRY_LADDER = (
    ("default", {}),
    ("level_shift", {"level_shift": 0.5}),
    ("damping", {"damp": 0.5, "diis_start_cycle": 8, "max_cycle": 200}),
)


def converged_scf(mol, method: str, unrestricted: bool, dm0=None):
    """Converged mean-field object, climbing the retry ladder and finally a second-order solver."""
    attempts = []
    for name, settings in RETRY_LADDER:
        mf = _mean_field(mol, method, unrestricted)
        for key, value in settings.items():
            setattr(mf, key, value)
        mf.kernel(dm0=dm0)
        if mf.converged and math.isfinite(mf.e_tot):
            return mf
        attempts.append(name)
    mf = _mean_field(mol, method, unrestricted).newton()
    mf.kernel(dm0=dm0)
    if mf.converged and math.isfinite(mf.e_tot):
        return mf
    attempts.append("newton")
    raise LabelFailure(f"SCF did not converge (tried {', '.join(attempts)})")


def broken_symmetry_guess(restricted_mf):
    """Unrestricted density with HOMO and LUMO mixed oppositely in the two spins (the usual BS guess)."""
    mo = restricted_mf.mo_coeff
    homo = int(np.count_nonzero(restricted_mf.mo_occ)) - 1
    alpha, beta = mo.copy(), mo.copy()
    alpha[:, homo] = (mo[:, homo] + mo[:, homo + 1]) / np.sqrt(2)
    beta[:, homo] = (mo[:, homo] - mo[:, homo + 1]) / np.sqrt(2)
    occupation = np.zeros(mo.shape[1])
    occupation[: homo + 1] = 1.0
    return np.array([alpha @ np.diag(occupation) @ alpha.T, beta @ np.diag(occupation) @ beta.T])


def is_stretched(atoms: Atoms) -> bool:
    """True for geometries where a broken-symmetry solution may lie below the restricted one."""
    if atoms.info.get("scale_factor", 1.0) > 1.0:
        return True
    if len(atoms) < 2:
        return False
    distances = atoms.get_all_distances()
    np.fill_diagonal(distances, np.inf)
    radii = covalent_radii[atoms.numbers]
    ratio = (distances / (radii[:, None] + radii[None, :])).min(axis=1)
    return bool(ratio.max() > STRETCH_RATIO)


def lowest_solution(mol, method: str, try_broken_symmetry: bool):
    """Converged mean field of lowest energy and whether it broke spin symmetry."""
    if mol.spin != 0:
        return _stable_unrestricted(converged_scf(mol, method, unrestricted=True), method), False
    restricted = converged_scf(mol, method, unrestricted=False)
    if not try_broken_symmetry or mol.nelectron < 2:
        return restricted, False
    try:
        broken = converged_scf(mol, method, unrestricted=True, dm0=broken_symmetry_guess(restricted))
        broken = _stable_unrestricted(broken, method)
    except LabelFailure:
        return restricted, False
    if broken.e_tot < restricted.e_tot - SYMMETRY_BREAKING_THRESHOLD:
        return broken, True
    return restricted, False


def _stable_unrestricted(mf, method: str):
    """Follow an internal instability once: a saddle point is not the ground state."""
    if mf.mol.nelectron < 2:
        return mf  # one electron: UHF is exact in the basis, and there is nothing to rotate
    try:
        new_mo, _, stable, _ = mf.stability(return_status=True)
    except LinearDependencyError:
        return mf  # minimal bases can leave no occupied-virtual rotation to test
    if stable:
        return mf
    dm = mf.make_rdm1(new_mo, mf.mo_occ)
    followed = converged_scf(mf.mol, method, unrestricted=True, dm0=dm)
    return followed if followed.e_tot < mf.e_tot else mf


def spin_contamination(mf) -> float:
    """<S^2> of the solution; exactly S(S+1) for restricted references."""
    if isinstance(mf, scf.uhf.UHF):
        return float(mf.spin_square()[0])
    s = mf.mol.spin / 2
    return s * (s + 1)


def label_geometry(atoms: Atoms, level: Level, forces: bool = True) -> dict:
    """Energy (eV) and forces (eV/Å) of one geometry with the metadata a chemist needs to trust them."""
    start = time.perf_counter()
    charge = int(atoms.info.get("charge", 0))
    multiplicity = int(atoms.info.get("multiplicity", 1))
    mol = build_molecule(atoms, level.basis, charge, multiplicity)
    if mol.nelectron == 0:
        # Bare nuclei (e.g. two protons): the energy is the Coulomb repulsion and nothing else.
        mf, broken = None, False
        energy = mol.energy_nuc()
        gradient = _nuclear_gradient(mol) if forces else None
    else:
        mf, broken = lowest_solution(mol, level.method, try_broken_symmetry=is_stretched(atoms))
        energy = mf.e_tot
        gradient = mf.nuc_grad_method().kernel() if forces else None
    record = {
        "energy": float(energy) * HARTREE_TO_EV,
        "forces": None if gradient is None else (-np.asarray(gradient) * HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM).tolist(),
        "s2": 0.0 if mf is None else spin_contamination(mf),
        "broken_symmetry": bool(broken),
        "scf_cycles": 0 if mf is None else int(getattr(mf, "cycles", -1)),
        "wall_time_s": time.perf_counter() - start,
    }
    _check_finite(record)
    return record


def _nuclear_gradient(mol) -> np.ndarray:
    """Gradient of the nuclear repulsion alone (Hartree/Bohr): the whole answer when no electrons remain."""
    from pyscf.grad import rhf as rhf_grad

    return rhf_grad.grad_nuc(mol)


def _check_finite(record: dict) -> None:
    values = [record["energy"]] + ([] if record["forces"] is None else list(np.ravel(record["forces"])))
    if not all(math.isfinite(v) for v in values):
        raise LabelFailure("non-finite energy or forces")


def provenance(level: Level) -> dict:
    return {
        "engine": "pyscf",
        "engine_version": pyscf.__version__,
        "method": level.method,
        "basis": level.basis,
        "host": socket.gethostname(),
    }


def isolated_atom_energies(elements, level: Level) -> dict:
    """Energy (eV) of each isolated atom in its ground-state multiplicity, at the labeling level."""
    energies = {}
    for element in sorted(set(elements)):
        atom = Atoms(element, positions=[(0.0, 0.0, 0.0)])
        atom.info.update(charge=0, multiplicity=ATOM_MULTIPLICITY[element])
        energies[element] = label_geometry(atom, level, forces=False)["energy"]
    return energies


def geometry_key(atoms: Atoms, level: Level) -> str:
    """Identity of a calculation: same geometry, charge, spin and level give the same key."""
    payload = json.dumps(
        [
            atoms.get_chemical_symbols(),
            np.round(atoms.positions, 8).tolist(),
            int(atoms.info.get("charge", 0)),
            int(atoms.info.get("multiplicity", 1)),
            level.tag,
        ]
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class ProgressStore:
    """Append-only JSON-lines file of finished calculations, so a killed chunk resumes where it stopped."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.finished = {}
        if self.path.exists():
            self._drop_torn_last_line()
            for line in self.path.read_text().splitlines():
                entry = json.loads(line)
                self.finished[entry["key"]] = entry

    def _drop_torn_last_line(self) -> None:
        """A kill mid-write leaves a last line without its newline; drop it so appends start clean."""
        content = self.path.read_bytes()
        if content and not content.endswith(b"\n"):
            with open(self.path, "r+b") as handle:
                handle.truncate(content.rfind(b"\n") + 1)

    def add(self, entry: dict) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.finished[entry["key"]] = entry


def label_chunk(geometries, level: Level, progress_path, log=print):
    """Label every geometry, reusing finished ones from the progress file.

    Returns (labeled Atoms with SinglePointCalculator results, quarantined records with their reason).
    """
    store = ProgressStore(progress_path)
    labeled, quarantined = [], []
    for index, atoms in enumerate(geometries, start=1):
        key = geometry_key(atoms, level)
        geometry_id = atoms.info["geometry_id"]
        entry = store.finished.get(key)
        if entry is None:
            try:
                entry = {"key": key, "geometry_id": geometry_id, "result": label_geometry(atoms, level)}
            except (LabelFailure, np.linalg.LinAlgError) as failure:
                entry = {"key": key, "geometry_id": geometry_id, "failure": str(failure)}
            store.add(entry)
            status = "quarantined: " + entry["failure"] if "failure" in entry else "ok"
            log(f"[{index}/{len(geometries)}] {geometry_id}: {status}")
        if "failure" in entry:
            quarantined.append({"geometry_id": geometry_id, "reason": entry["failure"]})
        else:
            labeled.append(with_label(atoms, entry["result"], level))
    return labeled, quarantined


def with_label(atoms: Atoms, result: dict, level: Level) -> Atoms:
    labeled = atoms.copy()
    labeled.info.update({k: v for k, v in result.items() if k not in ("energy", "forces")})
    labeled.info.update(provenance(level))
    labeled.calc = SinglePointCalculator(labeled, energy=result["energy"], forces=np.array(result["forces"]))
    return labeled
