"""Where equilibrium molecules come from: ASE's collections, the user's xyz/extxyz/QM9 files, and a
catalogue of small ions; plus distance scans of diatomics and of single bonds.

Every geometry leaves here tagged in ``atoms.info`` with ``geometry_id``, ``molecule`` (the unit of the
train/validation/test split), ``source``, ``origin``, ``charge`` and ``multiplicity``.
"""

import glob
import os
import re
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.collections import g2, s22
from ase.io import read

from astray.geometries.distortions import scale_bond
from astray.labels.from_files import QM9_PROPERTIES, ProvidedLabelError, attach, read_provided

EQUILIBRIUM = "equilibrium"
SCAN = "scan"

ASE_COLLECTIONS = {"g2": g2, "s22": s22}

# Small ions at literature equilibrium geometries (Å: bond lengths and angles from experiment or CCSD(T),
# rounded), so a campaign can hold charged species for charge-aware models. Not optimised at the label
# level: like G2's geometries, they are near-equilibrium starting points. H2+ is a probe-like system and
# obeys the leakage guard.
IONS = {
    "H2+": ("H2", 1, [(0, 0, -0.53), (0, 0, 0.53)]),  # r = 1.06
    "H3+": ("H3", 1, [(0, 0.5046, 0), (-0.437, -0.2523, 0), (0.437, -0.2523, 0)]),  # equilateral, r = 0.874
    "HeH+": ("HeH", 1, [(0, 0, -0.387), (0, 0, 0.387)]),  # r = 0.774
    "OH-": ("OH", -1, [(0, 0, -0.482), (0, 0, 0.482)]),  # r = 0.964
    "CN-": ("CN", -1, [(0, 0, -0.5885), (0, 0, 0.5885)]),  # r = 1.177
    "NO+": ("NO", 1, [(0, 0, -0.5315), (0, 0, 0.5315)]),  # r = 1.063
    "HCO+": ("HCO", 1, [(0, 0, -1.0963), (0, 0, -0.0043), (0, 0, 1.1007)]),  # C-H 1.092, C-O 1.105
    "HF2-": ("FHF", -1, [(0, 0, -1.1385), (0, 0, 0), (0, 0, 1.1385)]),  # symmetric, F-F 2.277
    "NH2-": ("NH2", -1, [(0, 0, 0), (0, 0.8005, -0.6482), (0, -0.8005, -0.6482)]),  # 1.030, 102.0 deg
    "H3O+": ("OH3", 1, [(0, 0, 0), (0.9304, 0, -0.2947), (-0.4652, 0.8058, -0.2947),
                        (-0.4652, -0.8058, -0.2947)]),  # pyramidal, O-H 0.976, 111.3 deg
    "CH3+": ("CH3", 1, [(0, 0, 0), (1.087, 0, 0), (-0.5435, 0.9414, 0), (-0.5435, -0.9414, 0)]),  # planar, 1.087
    "NH4+": ("NH4", 1, [(0, 0, 0), (0.5895, 0.5895, 0.5895), (0.5895, -0.5895, -0.5895),
                        (-0.5895, 0.5895, -0.5895), (-0.5895, -0.5895, 0.5895)]),  # tetrahedral, N-H 1.021
}  # fmt: skip


class GeometrySourceError(ValueError):
    """A source that cannot be read or does not describe a molecule; the message names file and key."""


def tagged(
    atoms: Atoms,
    molecule: str,
    source: str,
    charge: int = 0,
    multiplicity: int | None = None,
    origin: str = EQUILIBRIUM,
    geometry_id: str | None = None,
) -> Atoms:
    """A clean copy of `atoms` (no calculator, no arrays beyond positions) with astray's tags.

    Without a given multiplicity the lowest one the electron count allows is used (singlet or doublet).
    """
    clean = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions)
    if multiplicity is None:
        multiplicity = 1 + (int(clean.numbers.sum()) - charge) % 2
    clean.info.update(
        geometry_id=geometry_id or molecule,
        molecule=molecule,
        source=source,
        origin=origin,
        charge=int(charge),
        multiplicity=int(multiplicity),
    )
    return clean


def collection_molecules(collection: str, names=()) -> list[Atoms]:
    """Molecules of an ASE collection (all of them, or the listed names), with their ground-state spin.

    G2 marks radicals with initial magnetic moments, which give the multiplicity; single atoms are left
    out: they are the isolated-atom references, not molecules.
    """
    molecules = ASE_COLLECTIONS[collection]
    unknown = [name for name in names if name not in molecules.names]
    if unknown:
        raise GeometrySourceError(f"geometries.sources.ase.names: {unknown} are not in ASE's {collection} collection")
    selected = []
    for name in names or molecules.names:
        atoms = molecules[name]
        if len(atoms) < 2:
            continue
        unpaired = round(abs(atoms.get_initial_magnetic_moments().sum()))
        charge = round(atoms.get_initial_charges().sum())
        selected.append(tagged(atoms, name, f"ase:{collection}", charge, unpaired + 1))
    return selected


def ion_molecules(names) -> list[Atoms]:
    unknown = [name for name in names if name not in IONS]
    if unknown:
        raise GeometrySourceError(f"geometries.sources.ions: unknown {unknown}; astray knows {', '.join(IONS)}")
    return [ion(name) for name in names]


def ion(name: str) -> Atoms:
    symbols, charge, positions = IONS[name]
    return tagged(Atoms(symbols, positions=positions), name, "ions", charge)


def file_molecules(
    patterns, file_format: str = "auto", max_molecules: int | None = None, labels: dict | None = None
) -> list[Atoms]:
    """Every frame of every file matching `patterns` (paths, folders or globs), in sorted path order.

    A frame's molecule name is its `molecule` (or `name`) info field if it has one; otherwise the file's
    stem, with the frame number when a file holds several frames. Charge and multiplicity come from the
    frame's `charge` and `multiplicity` fields when present. With `labels` (the source's declared labels),
    each frame keeps the energy and forces its file gives (astray.labels.from_files).
    """
    molecules = []
    for path in map(Path, matching_files(patterns)):
        frames = read_frames(path, file_format)
        for number, atoms in enumerate(frames):
            if len(atoms) < 2:
                # A size filter would skip it quietly; a lone atom in a molecule file is a mistake.
                raise GeometrySourceError(
                    f"{path}: frame {number} has {len(atoms)} atom; astray's geometries are molecules of two "
                    "or more atoms (isolated-atom energies are computed for you)"
                )
            name = atoms.info.get("molecule") or atoms.info.get("name")
            name = str(name) if name else path.stem if len(frames) == 1 else f"{path.stem}_{number}"
            charge = _integer_field(atoms, "charge", path, number, default=0)
            spin = _integer_field(atoms, "multiplicity", path, number)
            molecule = tagged(atoms, name, f"file:{path}", charge, spin)
            molecule.info["source_frame"] = number  # with the source: where a problem found later points to
            if labels:
                try:
                    energy, forces = read_provided(atoms, labels, path, number)
                except ProvidedLabelError as error:
                    raise GeometrySourceError(str(error)) from None
                attach(molecule, energy, forces, labels["level"])
            for key in ("smiles", "qm9_index"):
                if key in atoms.info:
                    molecule.info[key] = atoms.info[key]
            molecules.append(molecule)
            if max_molecules and len(molecules) == max_molecules:
                return molecules
    return molecules


def _integer_field(atoms: Atoms, key: str, path, frame: int, default=None):
    """An integer info field of a frame (charge, multiplicity); a value that is not one names file, frame
    and key, instead of int()'s bare "invalid literal"."""
    value = atoms.info.get(key, default)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = np.nan
    if not np.isfinite(number) or number != int(number):
        shown = f"'{value}'" if isinstance(value, str) else f"{value}"
        raise GeometrySourceError(f"geometries.sources.files: {path} frame {frame}: {key}={shown} is not an integer")
    return int(number)


def matching_files(patterns) -> list[str]:
    """The xyz/extxyz files of `patterns` (files, folders, globs), sorted within each pattern."""
    files = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            # By name, through scandir: a folder of all of QM9 lists in 0.2 s rather than 1.4 s.
            names = sorted(entry.name for entry in os.scandir(path) if entry.name.endswith((".xyz", ".extxyz")))
            matches = [os.path.join(pattern, name) for name in names]
        else:
            matches = sorted(glob.glob(str(pattern)))
        if not matches:
            raise GeometrySourceError(f"geometries.sources.files: '{pattern}' matches no xyz or extxyz file")
        files.extend(matches)
    return files


def read_frames(path: Path, file_format: str = "auto") -> list[Atoms]:
    """Frames of one xyz, extxyz or QM9 file; any problem is reported with the file's name."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise GeometrySourceError(f"geometries.sources.files: cannot read {path}: {error}") from None
    if not text.strip():
        raise GeometrySourceError(f"geometries.sources.files: {path} is empty")
    if file_format == "qm9" or (file_format == "auto" and is_qm9(text)):
        frames = [parse_qm9(text, path)]
    else:
        try:
            frames = read(path, index=":", format="extxyz" if file_format in ("auto", "extxyz") else "xyz")
        except Exception as error:  # ASE raises many types for malformed files; all mean "cannot parse"
            raise GeometrySourceError(f"geometries.sources.files: {path} is not valid xyz/extxyz: {error}") from None
    for number, atoms in enumerate(frames):
        problem = _frame_problem(atoms)
        if problem:
            raise GeometrySourceError(f"geometries.sources.files: {path} frame {number} {problem}")
    return frames


# An atom with no other atom within this (Å) belongs to no molecule: a coordinate typed wrong or in the wrong
# units, not chemistry. The probes' longest distance is 6 Å, a van der Waals dimer's some 4-5 Å.
ISOLATED_ATOM_DISTANCE = 20.0


def _frame_problem(atoms) -> str:
    """What makes a frame no molecule at all, or "": such a frame is refused by name, never filtered away."""
    if not np.all(np.isfinite(atoms.positions)):
        return "has NaN or infinite coordinates"
    dummies = [i for i, number in enumerate(atoms.numbers) if number == 0]
    if dummies:
        return f"atom {dummies[0]} is '{atoms[dummies[0]].symbol}', a dummy atom and no element"
    if len(atoms) > 1:
        distances = atoms.get_all_distances() + np.diag(np.full(len(atoms), np.inf))
        nearest = distances.min(axis=1)
        far = int(np.argmax(nearest))
        if nearest[far] > ISOLATED_ATOM_DISTANCE:
            return (
                f"atom {far} ({atoms[far].symbol}) is {nearest[far]:.3g} Å from every other atom, farther than "
                f"{ISOLATED_ATOM_DISTANCE:g} Å: not part of a molecule (a coordinate typed wrong?)"
            )
    return ""


def is_qm9(text: str) -> bool:
    lines = text.splitlines()
    return len(lines) > 1 and lines[1].startswith("gdb ")


def parse_qm9(text: str, path) -> Atoms:
    """One molecule of the QM9 download (dsgdb9nsd_*.xyz).

    Its layout: atom count; a property line (`gdb <index>` and 15 properties); one line per atom with
    element, x, y, z (Å) and a Mulliken charge; then harmonic frequencies, SMILES and InChI lines. Numbers
    may use Mathematica's exponent notation (`1.2*^-6`).
    """
    lines = text.splitlines()
    try:
        n_atoms = int(lines[0])
        index = int(lines[1].split()[1])
        properties = dict(zip(QM9_PROPERTIES, map(_qm9_number, lines[1].split()[2 : 2 + len(QM9_PROPERTIES)])))
        rows = [line.split() for line in lines[2 : 2 + n_atoms]]
        if len(rows) < n_atoms or any(len(row) < 4 for row in rows):
            raise ValueError(f"expected {n_atoms} atom lines")
        symbols = [row[0] for row in rows]
        positions = [[_qm9_number(value) for value in row[1:4]] for row in rows]
        smiles_line = lines[2 + n_atoms + 1].split() if len(lines) > 3 + n_atoms else []
    except (ValueError, IndexError) as error:
        raise GeometrySourceError(f"geometries.sources.files: {path} is not a valid QM9 file: {error}") from None
    atoms = Atoms(symbols, positions=positions)
    # The properties stay with the frame as read: a declared label takes its energy from them
    # (astray.labels.from_files).
    atoms.info.update(name=f"gdb_{index}", qm9_index=index, qm9_properties=properties)
    if smiles_line:
        atoms.info["smiles"] = smiles_line[-1]  # the relaxed geometry's SMILES
    return atoms


def _qm9_number(value: str) -> float:
    number = float(value.replace("*^", "e"))
    if not np.isfinite(number):
        raise ValueError(f"coordinate '{value}' is not finite")
    return number


def species_molecule(species: str, charge: int = 0) -> Atoms:
    """The starting geometry of a scan: a catalogue ion, a G2 molecule, or a diatomic formula like LiH."""
    if species in IONS:
        return ion(species)
    if species in g2.names:
        return collection_molecules("g2", [species])[0]
    symbols = re.findall(r"[A-Z][a-z]?\d*", species)
    try:
        atoms = Atoms("".join(symbols))
    except (KeyError, ValueError):
        atoms = Atoms()
    if len(atoms) != 2 or "".join(symbols) != species:
        raise GeometrySourceError(
            f"geometries.sources.scans: species '{species}' is not a catalogue ion, a G2 molecule or a diatomic"
        )
    atoms.positions[1, 2] = 1.0
    return tagged(atoms, species, "scan", charge)


def scan_geometries(scan: dict) -> list[Atoms]:
    """The species with one bond (a diatomic's only one) set to each distance of the grid, in Å.

    The rest of the molecule keeps its geometry; the smaller fragment moves rigidly along the bond.
    """
    start = species_molecule(scan["species"], scan.get("charge", 0))
    charge = int(scan.get("charge", start.info["charge"]))
    # The species' own spin, unless the scan gives it another charge (then the lowest spin, or the scan's).
    same_charge = charge == start.info["charge"]
    multiplicity = scan.get("multiplicity", start.info["multiplicity"] if same_charge else None)
    name = scan.get("name") or start.info["molecule"]
    i, j = scan.get("bond", [0, 1])
    if max(i, j) >= len(start) or i == j:
        raise GeometrySourceError(f"geometries.sources.scans: bond {[i, j]} of '{scan['species']}' does not exist")
    length = start.get_distance(i, j)
    points = []
    for distance in sorted(scan["distances"]):
        stretched = scale_bond(start, i, j, distance / length)
        geometry_id = f"{name}:scan{start[i].symbol}{i}-{start[j].symbol}{j}@{distance:g}"
        point = tagged(stretched, name, "scan", charge, multiplicity, origin=SCAN, geometry_id=geometry_id)
        point.info.update(bond=f"{start[i].symbol}{i}-{start[j].symbol}{j}", scale_factor=float(distance / length))
        points.append(point)
    return points
