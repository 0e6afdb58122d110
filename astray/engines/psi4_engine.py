"""Psi4 as a subprocess speaking QCSchema, so its Python API never meets our environment's packages.

Two command lines exist in the wild: Debian's Psi4 1.3 runs ``psi4 --json FILE`` and Psi4 >= 1.4
(conda-forge, what HPC sites have) runs ``psi4 --qcschema FILE``; both write the result back into FILE.
The geometry goes in Bohr. Stretched closed shells get the same treatment as in PySCF: a restricted and a
broken-symmetry unrestricted solution (Psi4's HOMO/LUMO `guess_mix` plus stability following), the lower kept.
"""

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.units import Bohr

from astray.engines import Solution
from astray.levels import LabelFailure, LabelInputError, Level, charge_and_multiplicity, electron_count, is_stretched

INSTALL_HINT = (
    "Psi4 is not installed (or $ASTRAY_PSI4 does not point at it): on Debian/Ubuntu `apt-get install psi4`, "
    "elsewhere `conda env create -f envs/psi4.yaml -p .psi4` and `export ASTRAY_PSI4=$PWD/.psi4/bin/psi4`"
)
CONVERGENCE = {"e_convergence": 1e-10, "d_convergence": 1e-10}
SYMMETRY_BREAKING_THRESHOLD = 1e-7
FAMILY_TO_PSI4 = {"hf": "hf", "mp2": "mp2", "ccsd": "ccsd", "ccsd(t)": "ccsd(t)", "fci": "fci"}


def executable() -> str:
    """$ASTRAY_PSI4 when set (e.g. a conda environment of its own), else `psi4` on PATH."""
    path = shutil.which(os.environ.get("ASTRAY_PSI4", "psi4"))
    if path is None:
        raise LabelInputError(f"labels.engine: {INSTALL_HINT}")
    return path


@functools.cache
def version() -> str:
    with tempfile.TemporaryDirectory() as scratch:  # Psi4 leaves a timer.dat wherever it runs
        command = [executable(), "--version"]
        output = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=True).stdout
    return output.strip().splitlines()[-1]


def _schema_flag() -> str:
    major, minor = (int(part) for part in re.findall(r"\d+", version())[:2])
    return "--json" if (major, minor) < (1, 4) else "--qcschema"


def has_forces(level: Level) -> bool:
    return level.family in ("hf", "dft")


def check_level(level: Level, elements) -> None:
    """Cheap checks for planning time: Psi4 is installed, the basis file exists and covers the elements."""
    executable()
    if level.dispersion and level.dispersion.startswith("d3") and shutil.which("dftd3") is None:
        raise LabelInputError(
            f"labels.method: Psi4 needs the dftd3 program for '{level.method}'; install it or use engine pyscf"
        )
    basis_file = _basis_file(level.basis)
    if basis_file is None:
        return  # an unusual installation layout: Psi4 itself reports a missing basis at check_method
    if not basis_file.exists():
        raise LabelInputError(f"labels.basis: Psi4 has no basis '{level.basis}' (looked for {basis_file})")
    defined = set(re.findall(r"^([A-Za-z]{1,2})\s+0\s*$", basis_file.read_text(), flags=re.MULTILINE))
    missing = sorted(e for e in set(elements) if e.upper() not in {d.upper() for d in defined})
    if missing:
        raise LabelInputError(f"labels.basis: Psi4's '{level.basis}' has no functions for {', '.join(missing)}")


def _basis_file(basis: str) -> Path | None:
    """Psi4's file name for a basis: lower case, '*' -> 's', '+' -> 'p', brackets and commas -> '_'."""
    name = basis.lower().replace("*", "s").replace("+", "p")
    name = re.sub(r"[(),]", "_", name) + ".gbs"
    prefix = Path(executable()).resolve().parent.parent
    for folder in (prefix / "share" / "psi4" / "basis", Path("/usr/share/psi4/basis")):
        if folder.is_dir():
            return folder / name
    return None


def check_method(level: Level) -> None:
    """Run a hydrogen atom with the method: the one check that catches whatever Psi4 itself refuses."""
    hydrogen = Atoms("H", info={"charge": 0, "multiplicity": 2, "geometry_id": "H atom"})
    try:
        compute(hydrogen, Level(level.method, "sto-3g", "psi4", level.density_fit), forces=False)
    except LabelFailure as error:
        raise LabelInputError(f"labels.method: Psi4 cannot do '{level.method}': {error}") from None


def check_geometry(atoms: Atoms, level: Level) -> None:
    """Psi4 reports oversized FCI itself; nothing to check before running."""


def compute(atoms: Atoms, level: Level, forces: bool, threads=None, guess=None) -> Solution:
    """`guess` is accepted for the common interface; Psi4 starts each subprocess from its own guess."""
    multiplicity = charge_and_multiplicity(atoms)[1]
    driver = "gradient" if forces else "energy"
    if electron_count(atoms) < 2:
        # One electron: UHF is exact in the basis, and Psi4's stability analysis never returns on it.
        return _run(atoms, level, driver, threads, {"reference": "uhf" if multiplicity == 2 else "rhf"})
    if multiplicity != 1:
        return _run(atoms, level, driver, threads, _unrestricted_keywords())
    restricted = _run(atoms, level, driver, threads, {"reference": "rks" if level.family == "dft" else "rhf"})
    if not is_stretched(atoms) or level.family == "fci":
        return restricted
    broken = _lowest_broken_symmetry(atoms, level, driver, threads)
    if broken is not None and broken.energy < restricted.energy - SYMMETRY_BREAKING_THRESHOLD:
        broken.broken_symmetry = True
        return broken
    return restricted


# Psi4 1.3's stability following lands in different broken-symmetry solutions depending on the starting
# orbitals (and misses some from any one start), so stretched geometries get several starts, lowest kept.
BROKEN_SYMMETRY_STARTS = ({"guess": "sad"}, {"guess": "gwh"}, {"guess": "core"})


def _lowest_broken_symmetry(atoms, level: Level, driver: str, threads) -> Solution | None:
    solutions = []
    for start in BROKEN_SYMMETRY_STARTS:
        keywords = {**_unrestricted_keywords(), "guess_mix": True, **start}
        try:
            solutions.append(_run(atoms, level, driver, threads, keywords))
        except LabelFailure:
            continue
    return min(solutions, key=lambda solution: solution.energy, default=None)


def _unrestricted_keywords() -> dict:
    # With the default single Davidson guess vector, Psi4 1.3's stability analysis misses real
    # instabilities (water with one O-H stretched 1.4x in STO-3G: it reports +0.14 and keeps a solution
    # 0.1 eV above the broken-symmetry one PySCF finds); four guess vectors find it.
    return {"reference": "uhf", "stability_analysis": "follow", "solver_n_guess": 4}


class SCFNotConverged(LabelFailure):
    pass


# The counterpart of the PySCF ladder: a second-order solver first, then damping, then another guess.
RETRY_LADDER = (
    ("default", {}),
    ("second_order", {"soscf": True}),
    ("damping", {"damping_percentage": 20, "soscf": True}),
    ("fresh_guess", {"guess": "gwh", "soscf": True}),
)


def _run(atoms, level: Level, driver: str, threads, keywords: dict) -> Solution:
    """One Psi4 calculation, climbing the retry ladder while its SCF does not converge."""
    if level.family == "dft" and keywords["reference"] == "uhf":
        keywords = {**keywords, "reference": "uks"}
        keywords.pop("stability_analysis", None)  # Psi4 follows instabilities of UHF only
    for _, settings in RETRY_LADDER:
        try:
            return _run_once(atoms, level, driver, threads, {**keywords, **settings})
        except SCFNotConverged:
            continue
    tried = ", ".join(name for name, _ in RETRY_LADDER)
    raise LabelFailure(f"Psi4 SCF did not converge in {level.max_scf_cycles} iterations (tried {tried})")


def _run_once(atoms, level: Level, driver: str, threads, keywords: dict) -> Solution:
    request = _request(atoms, level, driver, keywords)
    with tempfile.TemporaryDirectory(prefix="astray-psi4-") as workdir:
        path = Path(workdir) / "calculation.json"
        path.write_text(json.dumps(request))
        command = [executable(), _schema_flag(), path.name, "--nthread", str(threads or 1)]
        process = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=_clean_environment())
        try:
            result = json.loads(path.read_text())
        except json.JSONDecodeError:
            message = f"Psi4 exited with {process.returncode} and no result: {process.stderr[-300:]}"
            raise LabelFailure(message) from None
    if not result.get("success"):
        message = _last_line(result.get("error", {}).get("error_message", "failed"))
        failure = SCFNotConverged if "SCFConvergenceError" in message else LabelFailure
        raise failure(f"Psi4: {message}")
    return _solution(result, driver, keywords["reference"], len(atoms))


def _clean_environment() -> dict:
    """Psi4 runs on its own Python; our PYTHONPATH (set by Snakemake) must not leak our packages into it."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}


def _request(atoms, level: Level, driver: str, keywords: dict) -> dict:
    exact_integrals = not level.density_fit
    method_keywords = {"scf_type": "pk" if exact_integrals else "df"}
    if level.family in ("mp2", "ccsd", "ccsd(t)"):
        method_keywords.update(mp2_type="conv" if exact_integrals else "df", cc_type="conv")
    charge, multiplicity = charge_and_multiplicity(atoms)
    return {
        "schema_name": "qcschema_input",
        "schema_version": 1,
        "molecule": {
            "symbols": atoms.get_chemical_symbols(),
            "geometry": (np.asarray(atoms.positions) / Bohr).ravel().tolist(),
            "molecular_charge": charge,
            "molecular_multiplicity": multiplicity,
            # Our geometries are final: no reorientation, and C1 so guess_mix may break spatial symmetry.
            "fix_com": True,
            "fix_orientation": True,
            "fix_symmetry": "c1",
        },
        "driver": driver,
        "model": {"method": FAMILY_TO_PSI4.get(level.family, level.method), "basis": level.basis},
        "keywords": {**CONVERGENCE, "maxiter": level.max_scf_cycles, **method_keywords, **keywords},
        "return_output": True,
    }


def _solution(result: dict, driver: str, reference: str, n_atoms: int) -> Solution:
    properties = result.get("properties", {})
    energy = properties.get("return_energy", result["return_result"] if driver == "energy" else None)
    gradient = np.asarray(result["return_result"], dtype=float).reshape(n_atoms, 3) if driver == "gradient" else None
    return Solution(
        energy=float(energy),
        gradient=gradient,
        s2=_observed_s2(result.get("raw_output") or "", reference),
        broken_symmetry=False,
        reference=reference,
        scf_cycles=int(properties.get("scf_iterations", -1)),
    )


def _observed_s2(output: str, reference: str) -> float:
    """Psi4 prints <S^2> of unrestricted references only; restricted ones have the exact S(S+1)."""
    match = re.search(r"@S\^2 Observed:\s+(\S+)", output)
    if match:
        return float(match.group(1))
    expected = re.search(r"@S\^2 Expected:\s+(\S+)", output)
    return float(expected.group(1)) if expected else 0.0


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else message
