"""Labels: energies and forces of every geometry, from any engine, in eV and Å, never silently wrong.

The engines (astray.labels.engines) return Hartree and Bohr; this module converts once, records provenance with
every label, quarantines calculations that fail (with their reason) and keeps each finished geometry on
disk the moment it finishes, so a killed chunk resumes where it stopped.
"""

import hashlib
import itertools
import json
import math
import os
import socket
import time
from collections import Counter
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from astray.io import read_chosen_frames, write_atomically
from astray.labels.engines import Solution, get_engine
from astray.labels.from_files import has_provided, labeled_from_file
from astray.labels.levels import LabelFailure, LabelInputError, Level
from astray.labels.states import (
    ATOM_MULTIPLICITY,
    charge_and_multiplicity,
    check_charge_and_spin,
    check_distances,
    check_elements,
    geometry_name,
)
from astray.units import HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM, HARTREE_TO_EV

__all__ = ["ATOM_MULTIPLICITY", "LabelFailure", "LabelInputError", "Level"]

# Atoms closer than this (Å) make a calculation meaningless; the probe curves start at 0.3 Å.
MIN_DISTANCE = 0.25
# A neighbouring geometry's density is a good SCF guess only while no atom moved farther than this (Å).
WARM_START_MAX_DISPLACEMENT = 0.5
# Errors an engine raises for one hard geometry; anything else is a bug and should stop the job loudly.
CALCULATION_ERRORS = (LabelFailure, np.linalg.LinAlgError, FloatingPointError, ArithmeticError, RuntimeError)


def check_labeling_inputs(geometries, level: Level, min_distance: float = MIN_DISTANCE) -> None:
    """Raise LabelInputError, naming the geometry and field, before any calculation could start."""
    engine = get_engine(level.engine)
    for atoms in geometries:
        check_elements(atoms)
    engine.check_level(level, set())  # the method and basis themselves, before any element's basis
    known = set()
    for atoms in geometries:
        # Each element checked where it first appears, so a basis that lacks it names that geometry.
        new = set(atoms.get_chemical_symbols()) - known
        if new:
            try:
                engine.check_level(level, new)
            except LabelInputError as error:
                raise LabelInputError(f"{geometry_name(atoms)}: {error}") from None
            known |= new
    for atoms in geometries:
        check_charge_and_spin(atoms)
        check_distances(atoms, min_distance)
        engine.check_geometry(atoms, level)


def calculate(atoms: Atoms, level: Level, forces: bool | None = None, threads=None, guess=None):
    """(record, converged density) of one geometry. The record holds the energy (eV), forces (eV/Å, or
    None for energy-only methods) and what a chemist needs to trust them."""
    engine = get_engine(level.engine)
    if forces is None:
        forces = engine.has_forces(level)
    start = time.perf_counter()
    solution = engine.compute(atoms, level, forces=forces, threads=threads, guess=guess)
    record = _record(solution, engine, wall_time=time.perf_counter() - start)
    _check_finite(record)
    return record, solution.guess


def label_geometry(atoms: Atoms, level: Level, forces: bool | None = None, threads=None) -> dict:
    return calculate(atoms, level, forces, threads)[0]


def _record(solution: Solution, engine, wall_time: float) -> dict:
    forces = None
    if solution.gradient is not None:
        forces = (-np.asarray(solution.gradient) * HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM).tolist()
    return {
        "energy": float(solution.energy) * HARTREE_TO_EV,
        "forces": forces,
        "s2": float(solution.s2),
        "broken_symmetry": bool(solution.broken_symmetry),
        "reference": solution.reference,
        "stability_checked": bool(solution.stability_checked),
        # eV below the restricted solution (0 where that is kept, and for open shells, which have none).
        "symmetry_lowering": float(solution.symmetry_lowering) * HARTREE_TO_EV,
        "scf_cycles": int(solution.scf_cycles),
        "converged": True,  # unconverged calculations raise LabelFailure and never become records
        "wall_time_s": wall_time,
        "engine_version": engine.version(),
        "host": socket.gethostname(),
    }


def _check_finite(record: dict) -> None:
    values = [record["energy"]] + ([] if record["forces"] is None else list(np.ravel(record["forces"])))
    if not all(math.isfinite(v) for v in values):
        raise LabelFailure("non-finite energy or forces")


def isolated_atom_energies(elements, level: Level) -> dict:
    """Energy (eV) of each isolated atom in its ground-state multiplicity, at the labeling level."""
    energies = {}
    for element in sorted(set(elements)):
        atom = Atoms(element, positions=[(0.0, 0.0, 0.0)])
        atom.info.update(charge=0, multiplicity=ATOM_MULTIPLICITY[element], geometry_id=f"{element} atom")
        energies[element] = label_geometry(atom, level, forces=False)["energy"]
    return energies


def geometry_key(atoms: Atoms, level: Level, forces: bool = True) -> str:
    """Identity of a calculation: same geometry, charge, spin, level and whether forces were asked for give
    the same key (an energy-only label must not stand in for one with forces)."""
    payload = json.dumps(
        [
            atoms.get_chemical_symbols(),
            np.round(atoms.positions, 8).tolist(),
            *charge_and_multiplicity(atoms),
            level.tag,
            forces,
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


class WarmStart:
    """The converged density of the last computed geometry, as the guess for the next one.

    It is kept on disk beside the progress file, keyed by its geometry, so a chunk resumed after a kill
    starts each geometry from the same guess as an uninterrupted run would.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.key, self.atoms, self.density = None, None, None
        if self.path.exists():
            with np.load(self.path) as saved:
                self.key = str(saved["key"])
                self.atoms = Atoms(symbols=list(saved["symbols"]), positions=saved["positions"])
                self.atoms.info.update(charge=int(saved["charge"]), multiplicity=int(saved["multiplicity"]))
                self.density = saved["density"]

    def guess_for(self, atoms: Atoms, previous_key: str | None):
        """The stored density if it belongs to the geometry just before `atoms` and is close enough."""
        if self.density is None or self.key != previous_key or not _neighbours(self.atoms, atoms):
            return None
        return self.density

    def remember(self, key: str, atoms: Atoms, density) -> None:
        if density is None:
            return
        self.key, self.atoms, self.density = key, atoms, density
        charge, multiplicity = charge_and_multiplicity(atoms)
        record = dict(
            key=key,
            symbols=np.array(atoms.get_chemical_symbols()),
            positions=atoms.positions,
            charge=charge,
            multiplicity=multiplicity,
            density=density,
        )
        write_atomically(self.path, lambda temporary: _save_npz(temporary, record))


def _save_npz(path, record: dict) -> None:
    # Through a handle: given a name without .npz (a temporary one), numpy would append the suffix.
    with open(path, "wb") as handle:
        np.savez(handle, **record)


def _neighbours(a: Atoms, b: Atoms) -> bool:
    """Same molecule and spin state, no atom displaced by more than WARM_START_MAX_DISPLACEMENT."""
    same_state = a.get_chemical_symbols() == b.get_chemical_symbols() and charge_and_multiplicity(
        a
    ) == charge_and_multiplicity(b)
    if not same_state:
        return False
    return float(np.abs(a.positions - b.positions).max()) <= WARM_START_MAX_DISPLACEMENT


def chunk_ranges(geometries: int, chunks: int) -> list[tuple[int, int]]:
    """(first frame, frames) of each of `chunks` labeling chunks over a pool of `geometries`, as even as
    whole frames allow: the chunk count was planned before the pool was built (or, for a large pool,
    estimated), so it is spread over what the pool really holds. Here, not with planning: the check_pool
    job lays the chunks out, and a change to its code relabels everything."""
    bounds = [geometries * chunk // chunks for chunk in range(chunks + 1)]
    return [(first, after - first) for first, after in itertools.pairwise(bounds)]


def label_chunk(geometries, level: Level, progress_path, log=print, threads=None, warm_start=True, forces=True):
    """Label every geometry, reusing finished ones from the progress file. Forces where the method has them,
    unless `forces` is false.

    Returns (labeled Atoms with SinglePointCalculator results, quarantined records with their reason).
    """
    get_engine(level.engine).check_method(level)
    store = ProgressStore(progress_path)
    guesses = WarmStart(Path(progress_path).with_suffix(".guess.npz")) if warm_start else None
    labeled, quarantined = [], []
    computed = from_files = 0
    previous_key = None
    for index, atoms in enumerate(geometries, start=1):
        if has_provided(atoms):  # its file's label, audited before any dataset is built (astray.labels.audit)
            labeled.append(labeled_from_file(atoms))
            from_files += 1
            continue
        key = geometry_key(atoms, level, forces)
        entry = store.finished.get(key)
        if entry is None:
            guess = guesses.guess_for(atoms, previous_key) if guesses else None
            entry, density = _calculate_entry(atoms, level, key, threads, guess, forces)
            if guesses:
                guesses.remember(key, atoms, density)
            store.add(entry)
            computed += 1
            log(f"[{index}/{len(geometries)}] {atoms.info['geometry_id']}: {_status(entry, guess is not None)}")
        if "failure" in entry:
            quarantined.append({"geometry_id": entry["geometry_id"], "reason": entry["failure"]})
        else:
            labeled.append(with_label(atoms, entry["result"], level))
        previous_key = key
    log(
        f"chunk done: {len(geometries)} geometries, {computed} computed now, "
        f"{len(geometries) - computed - from_files} reused from {progress_path}, {len(quarantined)} quarantined, "
        f"{from_files} labeled by their files"
    )
    return labeled, quarantined


def label_pool_frames(pool_path, frames, rule_params, threads, log=print):
    """A labeling job's work: the given frames of the pool labeled at its rule's level (`rule_params`: level,
    progress, warm_start, forces). Returns what label_chunk returns."""
    return label_chunk(
        read_chosen_frames(pool_path, frames),
        Level.from_config(rule_params.level),
        rule_params.progress,
        log=log,
        threads=threads,
        warm_start=rule_params.warm_start,
        forces=rule_params.forces,
    )


def label_until_settled(missing, read, level: Level, progress_path, **options) -> tuple[dict, dict]:
    """Label the frames `missing(failed)` names until it names none. Each quarantined geometry goes into
    `failed` (frame: its record), so `missing` can name the geometry that takes its place; `read(frames)`
    gives the geometries of frames. Finished calculations are kept in the progress file, so a killed job
    resumes. Returns ({frame: labeled Atoms}, {frame: quarantine record})."""
    labeled, failed = {}, {}
    while frames := [frame for frame in missing(failed) if frame not in labeled and frame not in failed]:
        geometries = read(frames)
        done, quarantined = label_chunk(geometries, level, progress_path, **options)
        frame_of = {atoms.info["geometry_id"]: frame for frame, atoms in zip(frames, geometries)}
        labeled.update((frame_of[atoms.info["geometry_id"]], atoms) for atoms in done)
        failed.update((frame_of[record["geometry_id"]], record) for record in quarantined)
    return labeled, failed


def quarantine_summary(quarantined: list[dict]) -> dict:
    """Every quarantined geometry with its reason, and how many fell to each reason (for the report)."""
    return {"count_by_reason": dict(Counter(q["reason"] for q in quarantined)), "geometries": quarantined}


def reference_summary(labeled) -> dict:
    """How the rule labeled the pool: geometries per reference (rhf, uhf, rks, uks, fci, none), how many were
    stability-checked, and per origin how many are broken-symmetry and how far below the restricted
    solution they lie (eV; median and largest). Labels from files carry no reference and are counted apart."""
    computed = [atoms.info for atoms in labeled if atoms.info.get("label_source") == "astray"]
    by_origin = {}
    for origin in sorted({info.get("origin", "unknown") for info in computed}):
        infos = [info for info in computed if info.get("origin", "unknown") == origin]
        lowering = [-info["symmetry_lowering"] for info in infos if info["broken_symmetry"]]
        by_origin[origin] = {
            "geometries": len(infos),
            "broken_symmetry": len(lowering),
            "median_lowering_eV": float(np.median(lowering)) if lowering else 0.0,
            "largest_lowering_eV": float(max(lowering)) if lowering else 0.0,
        }
    return {
        "rule": "every closed-shell reference stability-analysed; unstable ones unrestricted, lowest kept",
        "by_reference": dict(sorted(Counter(info["reference"] for info in computed).items())),
        "stability_checked": sum(bool(info["stability_checked"]) for info in computed),
        "labeled_by_files": len(labeled) - len(computed),
        "by_origin": by_origin,
    }


def _calculate_entry(atoms, level, key, threads, guess, forces=True):
    entry = {"key": key, "geometry_id": atoms.info["geometry_id"]}
    try:
        # None: forces where the method has them (the engine knows); False: energies only.
        record, density = calculate(atoms, level, forces=None if forces else False, threads=threads, guess=guess)
    except CALCULATION_ERRORS as failure:
        return {**entry, "failure": f"{type(failure).__name__}: {failure}"}, None
    return {**entry, "result": record}, density


def _status(entry: dict, warm: bool) -> str:
    if "failure" in entry:
        return "quarantined, " + entry["failure"]
    result = entry["result"]
    notes = [f"E = {result['energy']:.6f} eV", f"{result['scf_cycles']} SCF cycles", f"{result['wall_time_s']:.2f} s"]
    if result["broken_symmetry"]:
        notes.append(
            f"broken symmetry, {result['symmetry_lowering']:.3f} eV below restricted, <S^2> = {result['s2']:.3f}"
        )
    if warm:
        notes.append("warm start")
    return ", ".join(notes)


def with_label(atoms: Atoms, result: dict, level: Level) -> Atoms:
    """A copy of `atoms` carrying the label (SinglePointCalculator) and its provenance in `info`."""
    labeled = atoms.copy()
    labeled.info.update({k: v for k, v in result.items() if k not in ("energy", "forces")})
    charge, multiplicity = charge_and_multiplicity(atoms)
    labeled.info.update(
        label_source="astray",
        engine=level.engine,
        method=level.method,
        basis=level.basis,
        density_fit=level.density_fit,
        charge=charge,
        multiplicity=multiplicity,
    )
    forces = None if result["forces"] is None else np.array(result["forces"])
    labeled.calc = SinglePointCalculator(labeled, energy=result["energy"], forces=forces)
    return labeled
