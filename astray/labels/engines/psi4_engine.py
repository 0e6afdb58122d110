"""Psi4 as a subprocess speaking QCSchema, so its Python API never meets our environment's packages.

Two command lines exist in the wild: Debian's Psi4 1.3 runs ``psi4 --json FILE`` and Psi4 >= 1.4
(conda-forge, what HPC sites have) runs ``psi4 --qcschema FILE``; both write the result back into FILE.
The geometry goes in Bohr. Every closed shell gets the same rule as in PySCF: a restricted solution with its
RHF -> UHF stability analysed, and where it is unstable the unrestricted solution found by Psi4's stability
following, the lower kept. A functional's D3 or D4 dispersion is added by astray from the libraries PySCF
uses (`with_dispersion`).
"""

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
from ase import Atoms
from ase.units import Bohr

from astray.labels.engines import Solution
from astray.labels.levels import LabelFailure, LabelInputError, Level
from astray.labels.states import charge_and_multiplicity, electron_count

INSTALL_HINT = (
    "Psi4 is not installed (or $ASTRAY_PSI4 does not point at it): on Debian/Ubuntu `apt-get install psi4`, "
    "elsewhere `conda env create -f envs/psi4.yaml -p .psi4` and `export ASTRAY_PSI4=$PWD/.psi4/bin/psi4`"
)
CONVERGENCE = {"e_convergence": 1e-10, "d_convergence": 1e-10}
# A Kohn-Sham density on a quadrature grid does not settle to 1e-10 (Psi4 1.3's UKS OH radical in def2-SVP
# never does); 1e-8 leaves the energy within 1e-13 Eh of the 1e-9 result.
KOHN_SHAM_DENSITY_CONVERGENCE = 1e-8
SYMMETRY_BREAKING_THRESHOLD = 1e-7  # Hartree, as in PySCF's engine
# A stability eigenvalue below this is an instability (PySCF's threshold for the same Hessian).
STABILITY_THRESHOLD = 1e-5
# Seconds one Psi4 process may run before it is stopped and its geometry fails (then retried by the
# engine's ladder, then quarantined with this reason): generous, since CCSD(T) on a 17-atom molecule takes
# hours, but finite, so a hung Psi4 fails its job instead of holding its slot until the scheduler's limit.
TIMEOUT_SECONDS = float(os.environ.get("ASTRAY_PSI4_TIMEOUT_S", 6 * 3600))
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
        output = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=True, timeout=120).stdout
    return output.strip().splitlines()[-1]


def _schema_flag() -> str:
    major, minor = (int(part) for part in re.findall(r"\d+", version())[:2])
    return "--json" if (major, minor) < (1, 4) else "--qcschema"


def has_forces(level: Level) -> bool:
    return level.family in ("hf", "dft")


def check_level(level: Level, elements) -> None:
    """Cheap checks for planning time: Psi4 is installed, the basis file exists and covers the elements."""
    executable()
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
    """`guess` is accepted for the common interface; Psi4 starts each subprocess from its own guess.

    The reference follows PySCF's rule (`astray.labels.engines.pyscf_engine.lowest_solution`): a closed shell is
    solved restricted with Psi4's stability analysis, and where it has an RHF -> UHF instability, the
    unrestricted solution found by following instabilities is kept if lower. A functional's dispersion
    correction is added after the SCF (`with_dispersion`).
    """
    solution = _reference_solution(atoms, level, forces, threads)
    return with_dispersion(solution, atoms, level) if level.dispersion else solution


def with_dispersion(solution: Solution, atoms: Atoms, level: Level) -> Solution:
    """The solution plus the functional's D3 or D4 correction (energy, and gradient where it has one),
    computed by the simple-dftd3 and dftd4 libraries through PySCF's own dispersion code, which picks their
    damping parameters by functional exactly as PySCF's engine does: Psi4 1.3 computes D3 only by calling
    Grimme's dftd3 program (no Debian or PyPI package has it) and D4 not at all, and both engines should
    label one surface. The correction depends on the nuclei alone, not on the SCF."""
    from pyscf import dft, gto
    from pyscf.grad.dispersion import get_dispersion as dispersion_gradient
    from pyscf.scf.dispersion import get_dispersion

    charge, multiplicity = charge_and_multiplicity(atoms)
    # The basis only lets PySCF build the molecule; the correction never reads it.
    molecule = gto.M(atom=[(s, p) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)], basis="sto-3g",
                     charge=charge, spin=multiplicity - 1, unit="Angstrom", verbose=0)  # fmt: skip
    functional = dft.RKS(molecule, xc=level.method)
    solution.energy += get_dispersion(functional)
    if solution.gradient is not None:
        solution.gradient = solution.gradient + dispersion_gradient(functional.nuc_grad_method())
    return solution


def _reference_solution(atoms: Atoms, level: Level, forces: bool, threads) -> Solution:
    multiplicity = charge_and_multiplicity(atoms)[1]
    driver = "gradient" if forces else "energy"
    if electron_count(atoms) < 2:
        # One electron: UHF is exact in the basis, and Psi4's stability analysis never returns on it.
        return _run(atoms, level, driver, threads, {"reference": "uhf" if multiplicity == 2 else "rhf"}).solution
    if multiplicity != 1 and level.family == "dft":
        # Psi4 1.3 has no UKS stability analysis (asking for one fails the SCF): solved unrestricted as is.
        solution = _run(atoms, level, driver, threads, {"reference": "uks"}).solution
        solution.stability_checked = False
        return solution
    if multiplicity != 1:
        return _run(atoms, level, driver, threads, _unrestricted_keywords()).solution
    if level.family == "fci":
        return _run(atoms, level, driver, threads, {"reference": "rhf"}).solution  # exact whatever the orbitals
    if level.family == "dft":
        return _lowest_kohn_sham(atoms, level, driver, threads)
    restricted = _run(atoms, level, driver, threads, {"reference": "rhf", "stability_analysis": "check"})
    if restricted.triplet_eigenvalue is None:
        raise LabelFailure("Psi4 printed no RHF -> UHF stability eigenvalues")
    if restricted.triplet_eigenvalue >= -STABILITY_THRESHOLD:
        return restricted.solution
    return _lower(restricted, _run(atoms, level, driver, threads, _unrestricted_keywords()))


def _lower(restricted: "Psi4Result", broken: "Psi4Result | None") -> Solution:
    """The broken-symmetry solution where its SCF energy is below the restricted one's, else the restricted.
    An unstable restricted solution whose unrestricted SCF fails is quarantined (_run raises), as in PySCF."""
    if broken is None or broken.scf_energy > restricted.scf_energy - SYMMETRY_BREAKING_THRESHOLD:
        return restricted.solution
    broken.solution.broken_symmetry = True
    broken.solution.symmetry_lowering = broken.scf_energy - restricted.scf_energy
    return broken.solution


# Psi4 1.3 has no RKS -> UKS stability analysis, so a Kohn-Sham closed shell is searched instead, on every
# geometry alike: unrestricted from the HOMO/LUMO mix of three starting orbitals (its solutions depend on
# the start), the lowest kept, recorded as not stability-checked.
BROKEN_SYMMETRY_STARTS = ({"guess": "sad"}, {"guess": "gwh"}, {"guess": "core"})


def _lowest_kohn_sham(atoms, level: Level, driver: str, threads) -> Solution:
    restricted = _run(atoms, level, driver, threads, {"reference": "rks"})
    solutions = []
    for start in BROKEN_SYMMETRY_STARTS:
        keywords = {"reference": "uks", "guess_mix": True, **start}
        try:
            solutions.append(_run(atoms, level, driver, threads, keywords))
        except LabelFailure:
            continue
    solution = _lower(restricted, min(solutions, key=lambda result: result.scf_energy, default=None))
    solution.stability_checked = False
    return solution


def _unrestricted_keywords() -> dict:
    # Psi4 1.3's UHF stability analysis (Davidson) finds an instability only if its guess vectors reach it: the
    # spin-flip (triplet) modes of a spin-symmetric UHF are missed by guesses that treat alpha and beta
    # alike. With 1 guess vector it missed water with one O-H stretched 1.4x; with 4, five bonds of the tiny
    # campaign stretched 1.4x (HF, HCN's and C2H2's C-H, H2CO's C-H: it kept the restricted solution,
    # 0.003-0.010 Eh above PySCF's) and N2 at equilibrium; with 8, N2 still; with 16 none of them.
    # Following up to three times reaches PySCF's lowest solution on 39 of 40 unstable geometries of the
    # default pool (once only: 37; from the HOMO/LUMO mix 13 did not converge).
    return {"reference": "uhf", "stability_analysis": "follow", "solver_n_guess": 16, "max_attempts": 3}


class SCFNotConverged(LabelFailure):
    pass


# The counterpart of the PySCF ladder: a second-order solver first, then damping, then another guess.
RETRY_LADDER = (
    ("default", {}),
    ("second_order", {"soscf": True}),
    ("damping", {"damping_percentage": 20, "soscf": True}),
    ("fresh_guess", {"guess": "gwh", "soscf": True}),
)


class Psi4Result(NamedTuple):
    solution: Solution
    scf_energy: float  # Hartree: the reference's energy, which decides between references
    triplet_eigenvalue: float | None  # lowest RHF -> UHF stability eigenvalue, where it was analysed


def _run(atoms, level: Level, driver: str, threads, keywords: dict) -> Psi4Result:
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


def _run_once(atoms, level: Level, driver: str, threads, keywords: dict) -> Psi4Result:
    request = _request(atoms, level, driver, keywords)
    with tempfile.TemporaryDirectory(prefix="astray-psi4-") as workdir:
        path = Path(workdir) / "calculation.json"
        path.write_text(json.dumps(request))
        command = [executable(), _schema_flag(), path.name, "--nthread", str(threads or 1)]
        try:
            process = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=_clean_environment(),
                                     timeout=TIMEOUT_SECONDS)  # fmt: skip
        except subprocess.TimeoutExpired:
            raise LabelFailure(f"Psi4 did not finish within {TIMEOUT_SECONDS:g} s (ASTRAY_PSI4_TIMEOUT_S)") from None
        try:
            result = json.loads(path.read_text())
        except json.JSONDecodeError:
            message = f"Psi4 exited with {process.returncode} and no result: {process.stderr[-300:]}"
            raise LabelFailure(message) from None
    if not result.get("success"):
        message = _last_line(result.get("error", {}).get("error_message", "failed"))
        failure = SCFNotConverged if "SCFConvergenceError" in message else LabelFailure
        raise failure(f"Psi4: {message}")
    return _result(result, driver, keywords, len(atoms))


def _convergence(level: Level) -> dict:
    if level.family == "dft":
        return {**CONVERGENCE, "d_convergence": KOHN_SHAM_DENSITY_CONVERGENCE}
    return CONVERGENCE


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
        # A functional without its dispersion suffix: astray adds the correction (with_dispersion).
        "model": {"method": FAMILY_TO_PSI4.get(level.family, level.functional), "basis": level.basis},
        "keywords": {**_convergence(level), "maxiter": level.max_scf_cycles, **method_keywords, **keywords},
        "return_output": True,
    }


def _result(result: dict, driver: str, keywords: dict, n_atoms: int) -> Psi4Result:
    properties = result.get("properties", {})
    energy = properties.get("return_energy", result["return_result"] if driver == "energy" else None)
    gradient = np.asarray(result["return_result"], dtype=float).reshape(n_atoms, 3) if driver == "gradient" else None
    output = result.get("raw_output") or ""
    solution = Solution(
        energy=float(energy),
        gradient=gradient,
        s2=_observed_s2(output, keywords["reference"]),
        broken_symmetry=False,
        reference=keywords["reference"],
        scf_cycles=int(properties.get("scf_iterations", -1)),
        stability_checked="stability_analysis" in keywords,
    )
    scf_energy = float(properties.get("scf_total_energy", energy))
    return Psi4Result(solution, scf_energy, _lowest_triplet_eigenvalue(output))


def _lowest_triplet_eigenvalue(output: str) -> float | None:
    """Psi4's RHF stability check prints, per irrep, "A -0.087478  A 0.002728 ..." under this heading."""
    match = re.search(r"Lowest triplet \(RHF->UHF\) stability eigenvalues:-\n((?:[ \t]*\S.*\n)+)", output)
    if not match:
        return None
    values = re.findall(r"(?<!\S)\S+\s+(-?\d+\.\d+)", match.group(1))
    return min(float(value) for value in values) if values else None


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
