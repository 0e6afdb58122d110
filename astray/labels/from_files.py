"""Labels that come with the data: which field of a file is the energy (and the forces), in which units, at
which level of theory. Read once, converted to eV and eV/Å, and kept on the geometry they belong to, never
on its distorted copies (astray labels those itself, at the declared level).

QM9's property line holds, in Hartree, U0 (internal energy at 0 K: the electronic energy plus the
zero-point vibrational energy), U, H and G (at 298 K) and zpve itself. The electronic energy that a
single-point calculation gives, and that astray's own labels are, is U0 - zpve: astray calls it
`electronic`. Taking U0 instead adds each molecule's zero-point energy (16-44 mEh for QM9's first three).
"""

import numpy as np
from ase import Atoms, units
from ase.calculators.singlepoint import SinglePointCalculator

# QM9's property line after `gdb N`, in order (Ramakrishnan et al., Sci. Data 1, 140022 (2014), Table 3).
QM9_PROPERTIES = ("A", "B", "C", "mu", "alpha", "homo", "lumo", "gap", "r2", "zpve", "U0", "U", "H", "G", "Cv")
QM9_ENERGIES = {
    "electronic": lambda p: p["U0"] - p["zpve"],
    "U0": lambda p: p["U0"],
    "U": lambda p: p["U"],
    "H": lambda p: p["H"],
    "G": lambda p: p["G"],
}
ENERGY_UNITS = {"eV": 1.0, "hartree": units.Hartree, "kcal/mol": units.kcal / units.mol, "kJ/mol": units.kJ / units.mol}
FORCE_UNITS = {
    "eV/angstrom": 1.0,
    "hartree/bohr": units.Hartree / units.Bohr,
    "hartree/angstrom": units.Hartree,
    "kcal/mol/angstrom": units.kcal / units.mol,
}
# Where a geometry of the pool keeps the label its file gave it (eV, eV/Å), and the level it was made at.
ENERGY_KEY = "provided_energy"
FORCES_KEY = "provided_forces"
LEVEL_KEY = "provided_level"
CALCULATOR = "calculator"  # the energy (forces) an extxyz file stores as its calculator's results
KEY = "geometries.sources.files.labels"


class ProvidedLabelError(ValueError):
    """A declared label that a frame does not have, or that is not a finite number; names file, frame, key."""


def read_provided(frame: Atoms, spec: dict, path, number: int) -> tuple[float, np.ndarray | None]:
    """The energy (eV) and forces (eV/Å, or None) that `spec` (the files source's `labels`) declares, read
    from one frame as its file gave it."""
    where = f"{KEY}: {path} frame {number}"
    energy = _finite(_raw_energy(frame, spec["energy"], where), where, f"energy '{spec['energy']}'")
    energy = float(energy) * ENERGY_UNITS[spec["energy_units"]]
    if spec["forces"] == "none":
        return energy, None
    forces = np.asarray(_raw_forces(frame, spec["forces"], where), dtype=float)
    if forces.shape != (len(frame), 3):
        raise ProvidedLabelError(f"{where}: forces '{spec['forces']}' have shape {forces.shape}, not ({len(frame)}, 3)")
    _finite(forces, where, f"forces '{spec['forces']}'")
    return energy, forces * FORCE_UNITS[spec["forces_units"]]


def _raw_energy(frame: Atoms, field: str, where: str):
    qm9 = frame.info.get("qm9_properties")
    if qm9 is not None:
        if field not in QM9_ENERGIES:
            raise ProvidedLabelError(f"{where}: a QM9 file's energy is one of {sorted(QM9_ENERGIES)}, not '{field}'")
        return QM9_ENERGIES[field](qm9)
    return _raw(frame, field, "energy", where)


def _raw_forces(frame: Atoms, field: str, where: str):
    return _raw(frame, field, "forces", where)


# Where an extxyz frame holds a declared field of each quantity, and what the file lacks if its calculator
# has none.
FIELDS_IN = {
    "energy": ("info", "the file's info line has no energy="),
    "forces": ("arrays", "its Properties have no forces"),
}


def _raw(frame: Atoms, field: str, quantity: str, where: str):
    """The declared field of `quantity`: the calculator's result, or the frame's info key / per-atom array."""
    store_name, missing = FIELDS_IN[quantity]
    if field == CALCULATOR:
        results = frame.calc.results if frame.calc is not None else {}
        if quantity not in results:
            raise ProvidedLabelError(f"{where}: no calculator {quantity} ({missing})")
        return results[quantity]
    store = getattr(frame, store_name)
    if field not in store:
        raise ProvidedLabelError(f"{where}: no {quantity} field '{field}' ({store_name}: {sorted(store)})")
    return store[field]


def _finite(value, where: str, what: str):
    try:
        number = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ProvidedLabelError(f"{where}: {what} is {value!r}, not a number") from None
    if not np.all(np.isfinite(number)):
        raise ProvidedLabelError(f"{where}: {what} is not finite ({value!r})")
    return number


def attach(molecule: Atoms, energy: float, forces, level: dict) -> None:
    """Keep the file's label on `molecule` (a pool geometry) until labeling takes it instead of computing."""
    molecule.info[ENERGY_KEY] = energy
    molecule.info[LEVEL_KEY] = level_tag(level)
    if forces is not None:
        molecule.arrays[FORCES_KEY] = np.asarray(forces, dtype=float)


def level_tag(level: dict) -> str:
    return f"{level['method']}/{level['basis']}".lower()


def has_provided(atoms: Atoms) -> bool:
    return ENERGY_KEY in atoms.info


def without_provided(info: dict) -> dict:
    """`info` less the provided label: what a distorted copy inherits from its molecule."""
    return {key: value for key, value in info.items() if key not in (ENERGY_KEY, LEVEL_KEY)}


def labeled_from_file(atoms: Atoms) -> Atoms:
    """A pool geometry with its file's label as its label (SinglePointCalculator, eV and eV/Å), recording
    where the label came from and at which level, like a computed one records its engine."""
    labeled = atoms.copy()
    energy, level = labeled.info.pop(ENERGY_KEY), labeled.info.pop(LEVEL_KEY)
    forces = labeled.arrays.pop(FORCES_KEY, None)
    method, basis = level.split("/", 1)
    labeled.info.update(label_source=str(labeled.info["source"]), engine="provided", method=method, basis=basis)
    labeled.calc = SinglePointCalculator(labeled, energy=energy, forces=forces)
    return labeled
