"""PySCF, in process: HF, DFT (with D3/D4 dispersion through pyscf-dispersion), MP2, CCSD, CCSD(T), FCI.

A restricted solution can lie far above the lowest one (RHF of H2 at 3 Å is ~100 kcal/mol too high; many
pi-bonded molecules are RHF -> UHF unstable at their equilibrium already), so every closed-shell reference
is stability-analysed and the lowest solution kept (`lowest_solution`: one rule for every geometry);
MP2 and CC are then built on that (possibly unrestricted) reference. FCI is exact in the basis whatever
its orbitals, and needs no rule.
"""

import copy
import functools
import math
from typing import NamedTuple

import numpy as np
import pyscf
from ase import Atoms
from pyscf import cc, dft, fci, gto, lib, mp, scf
from pyscf.lib.exceptions import BasisNotFoundError, LinearDependencyError

from astray.labels.engines import Solution
from astray.labels.levels import LabelFailure, LabelInputError, Level, fci_determinants
from astray.labels.states import ATOM_MULTIPLICITY, charge_and_multiplicity, spin_fragments

# A broken-symmetry solution must beat the restricted one by more than this to count as broken (Hartree).
SYMMETRY_BREAKING_THRESHOLD = 1e-7
# FCI beyond this many determinants needs more memory than a labeling job should ask for.
FCI_MAX_DETERMINANTS = 10_000_000


def version() -> str:
    return pyscf.__version__


def has_forces(level: Level) -> bool:
    """Analytic gradients exist for HF, DFT, and (with exact integrals) MP2 and CCSD."""
    if level.family in ("hf", "dft"):
        return True
    return level.family in ("mp2", "ccsd") and not level.density_fit


def check_level(level: Level, elements) -> None:
    """Fail before any geometry is labeled if PySCF cannot do this method or basis for these elements."""
    check_basis(level.basis, elements)
    if level.family == "dft":
        _check_functional(level.method)


def check_basis(basis: str, elements, key: str = "labels.basis") -> None:
    """LabelInputError naming the config `key` unless PySCF has `basis` for every element."""
    for element in sorted(set(elements)):
        try:
            shells = gto.basis.load(basis, element)
        except (BasisNotFoundError, KeyError, RuntimeError) as error:
            raise LabelInputError(f"{key}: PySCF has no basis '{basis}' for element {element} ({error})") from None
        if not shells:
            raise LabelInputError(f"{key}: basis '{basis}' has no functions for element {element}")


def check_method(level: Level) -> None:
    if level.family == "dft":
        _check_functional(level.method)


def _check_functional(method: str) -> None:
    """Run a hydrogen atom with the functional: the only check that also catches PySCF's refusals."""
    hydrogen = gto.M(atom="H 0 0 0", spin=1, basis="sto-3g", verbose=0)
    try:
        dft.UKS(hydrogen, xc=method).kernel()
    except ImportError as error:
        raise LabelInputError(
            f"labels.method: '{method}' needs a dispersion library ({error}); pip install pyscf-dispersion"
        ) from None
    except (KeyError, NotImplementedError, ValueError) as error:
        hint = " (use wb97x-d3bj)" if method.lower() == "wb97x-d" else ""
        raise LabelInputError(f"labels.method: PySCF cannot do '{method}': {error}{hint}") from None


def check_geometry(atoms: Atoms, level: Level) -> None:
    if level.family != "fci":
        return
    mol = build_molecule(atoms, level.basis)
    n_alpha, n_beta = mol.nelec
    determinants = fci_determinants(mol.nao_nr(), n_alpha, n_beta)
    if determinants > FCI_MAX_DETERMINANTS:
        raise LabelInputError(
            f"geometry '{atoms.info.get('geometry_id', atoms.get_chemical_formula())}': FCI in {level.basis} "
            f"needs {determinants:.2e} determinants (limit {FCI_MAX_DETERMINANTS:.0e}); use ccsd(t) or a smaller basis"
        )


def build_molecule(atoms: Atoms, basis: str) -> gto.Mole:
    symbols = atoms.get_chemical_symbols()
    charge, multiplicity = charge_and_multiplicity(atoms)
    return gto.M(
        atom=[(symbol, position) for symbol, position in zip(symbols, atoms.positions)],
        unit="Angstrom",
        basis={symbol: copy.deepcopy(_element_basis(basis, symbol)) for symbol in set(symbols)},
        charge=charge,
        spin=multiplicity - 1,
        verbose=0,
    )


@functools.cache
def _element_basis(basis: str, symbol: str):
    """The basis of one element, parsed once per process: PySCF parses its basis file on every molecule
    otherwise, a quarter of a small molecule's HF time (benchmarks/README.md)."""
    return gto.basis.load(basis, symbol)


def compute(atoms: Atoms, level: Level, forces: bool, threads: int | None = None, guess=None) -> Solution:
    if threads:
        lib.num_threads(threads)
    mol = build_molecule(atoms, level.basis)
    if mol.nelectron == 0:
        # Bare nuclei (e.g. two protons): the energy is the Coulomb repulsion and nothing else.
        gradient = _nuclear_gradient(mol) if forces else None
        return Solution(mol.energy_nuc(), gradient, 0.0, False, "none", 0)
    if level.family == "fci":
        return _fci(mol, level, guess)
    reference = lowest_solution(mol, level, guess, spin_fragments(atoms))
    mf = reference.mean_field
    energy, gradient = _post_scf(mf, level, forces)
    return Solution(
        energy=energy,
        gradient=gradient,
        s2=spin_contamination(mf),
        broken_symmetry=reference.lowering < 0,
        reference=_reference_name(mf),
        scf_cycles=int(getattr(mf, "cycles", -1)),
        guess=reference.first_density,
        stability_checked=reference.stability_checked,
        symmetry_lowering=reference.lowering,
    )


def _mean_field(mol, level: Level, unrestricted: bool):
    if level.family == "dft":
        mf = dft.UKS(mol, xc=level.method) if unrestricted else dft.RKS(mol, xc=level.method)
    else:
        mf = scf.UHF(mol) if unrestricted else scf.RHF(mol)
    mf.max_cycle = level.max_scf_cycles
    # Tighter than PySCF's default (1e-9, ~3e-5): gradients of broken-symmetry solutions need it to be
    # reproducible to 1e-5 Eh/Bohr, which is what two engines agree to.
    mf.conv_tol, mf.conv_tol_grad = 1e-10, 1e-6
    # No checkpoint file: nothing reads it back, and writing it every cycle was a sixth of a small
    # molecule's SCF time.
    mf.chkfile = None
    return mf.density_fit() if level.density_fit else mf


class Rung(NamedTuple):
    name: str
    settings: dict  # attributes set on PySCF's SCF object
    from_guess: bool  # start from the given density (warm start, broken-symmetry guess) or PySCF's own
    newton: bool  # second-order solver


# Each rung changes one thing that commonly rescues a stubborn SCF. Newton from the same guess comes
# first: it rescues most cases in a few iterations (a stretched OH radical: 1 s instead of 20 s of failing
# DIIS rungs). The cold rungs drop a warm-start or broken-symmetry guess that may itself be what keeps the
# SCF from converging: OH stretched 1.4x (STO-3G) fails every rung from its compressed neighbour's density
# yet converges in 5 Newton steps from PySCF's own guess. The atomic guess goes with Newton because plain
# DIIS from it lands on an excited state of that OH, 4 eV too high.
RETRY_LADDER = (
    Rung("default", {}, from_guess=True, newton=False),
    Rung("second_order", {}, from_guess=True, newton=True),
    Rung("fresh_second_order", {}, from_guess=False, newton=True),
    Rung("level_shift", {"level_shift": 0.5}, from_guess=True, newton=False),
    Rung("damping", {"damp": 0.5, "diis_start_cycle": 8}, from_guess=True, newton=False),
    Rung("atomic_guess", {"init_guess": "atom"}, from_guess=False, newton=True),
)


def converged_scf(mol, level: Level, unrestricted: bool, dm0=None):
    """Converged mean-field object, climbing the retry ladder until one rung converges."""
    tried = []
    for rung in RETRY_LADDER:
        if dm0 is None and not rung.from_guess and not rung.settings:
            continue  # without a given guess this rung is the one that already ran from PySCF's own guess
        mf = _mean_field(mol, level, unrestricted)
        for key, value in rung.settings.items():
            setattr(mf, key, value)
        if rung.newton:
            mf = _second_order(mf)
        mf.kernel(dm0=dm0 if rung.from_guess else None)
        tried.append(rung.name)
        if mf.converged and math.isfinite(mf.e_tot):
            return mf
    raise LabelFailure(f"SCF did not converge in {level.max_scf_cycles} cycles (tried {', '.join(tried)})")


def _second_order(mf):
    """Newton solver that counts its macro iterations into `cycles`, as the DIIS solver does."""
    newton = mf.newton()
    newton.cycles = 0
    newton.callback = lambda env: setattr(newton, "cycles", env["imacro"] + 1)
    return newton


class Reference(NamedTuple):
    mean_field: object  # the converged SCF object the label is built on
    stability_checked: bool  # a stability analysis ran on it (none is possible for one electron)
    lowering: float  # its energy minus the restricted solution's (Hartree, <= 0; 0 for open shells)
    first_density: np.ndarray  # density of the first SCF, the warm start of the next geometry


def lowest_solution(mol, level: Level, guess=None, fragments=None) -> Reference:
    """The reference every label is built on, by one rule for every geometry, equilibrium or distorted.

    A closed shell is solved restricted and its RHF -> UHF (RKS -> UKS) stability analysed. Where it is
    unstable, two unrestricted starts are converged and followed to internal stability, and the lowest
    solution is kept: the instability direction, and a broken-symmetry density of the two `fragments`
    (`astray.labels.states.spin_fragments`) built from spin-polarised atoms, one side's majority spin alpha, the
    other's beta. An open shell is solved unrestricted and followed to internal stability. The first SCF
    starts from `guess` when given: a neighbouring geometry's density converges in fewer cycles.

    Why this rule (measured on the default campaign's pool, HF/STO-3G, 60 equilibrium and 60 bond-scaled
    geometries): a geometry is unstable or not whatever its origin (62% of equilibrium molecules, 73% of
    scaled copies), so testing only "stretched" ones put a molecule's equilibrium on the restricted surface
    and its copies on the unrestricted one. Where the restricted solution is stable, no start found a lower
    one (the HOMO/LUMO mix returned to it from all 39). Where it is unstable, the instability direction
    found the lowest solution of the pool's geometries (HOMO/LUMO mixing missed it by up to 1.75 eV in 4 of
    81), but along scans of double and triple bonds beyond about 1.6x (C=C, C=O, C#N, N#N) it lands on
    solutions 2-12 eV above the dissociating one, at some points and not others; the fragment start finds
    that one at every point, where continuing from the neighbouring geometry's solution does too. The
    analysis costs about a quarter of the restricted SCF, each start about 1.5 times it.
    """
    if mol.spin != 0:
        first = converged_scf(mol, level, unrestricted=True, dm0=guess)
        stable, checked = _internally_stable(first, level)
        return Reference(stable, checked, 0.0, first.make_rdm1())
    restricted = converged_scf(mol, level, unrestricted=False, dm0=guess)
    density = restricted.make_rdm1()
    if mol.nelectron < 2:
        return Reference(restricted, False, 0.0, density)
    instability, checked = _external_instability(restricted)
    if instability is None:
        return Reference(restricted, checked, 0.0, density)
    starts = [instability] + ([fragment_guess(mol, level, fragments)] if fragments is not None else [])
    # An unstable restricted solution is no label: if no unrestricted SCF converges, the geometry is
    # quarantined (_unrestricted_solutions raises) rather than labeled off the surface of its neighbours.
    broken = min(_unrestricted_solutions(mol, level, starts), key=lambda mf: mf.e_tot)
    if broken.e_tot > restricted.e_tot - SYMMETRY_BREAKING_THRESHOLD:
        return Reference(restricted, checked, 0.0, density)
    return Reference(broken, True, float(broken.e_tot - restricted.e_tot), density)


def _unrestricted_solutions(mol, level: Level, starts) -> list:
    """Each start converged and followed to internal stability; LabelFailure only if none converges."""
    solutions, failures = [], []
    for start in starts:
        try:
            solutions.append(_internally_stable(converged_scf(mol, level, True, dm0=start), level)[0])
        except LabelFailure as failure:
            failures.append(str(failure))
    if not solutions:
        raise LabelFailure(f"restricted solution unstable, and no unrestricted start converged: {failures[0]}")
    return solutions


def fragment_guess(mol, level: Level, fragments) -> np.ndarray:
    """Unrestricted density of spin-polarised free atoms, alpha-majority on the `fragments` side, beta on
    the other: the two halves of a broken bond with their unpaired electrons opposite."""
    density = np.zeros((2, mol.nao_nr(), mol.nao_nr()))
    for atom, (_, _, first, last) in enumerate(mol.aoslice_by_atom()):
        majority, minority = _free_atom_density(mol.atom_pure_symbol(atom), level)
        alpha, beta = (majority, minority) if fragments[atom] else (minority, majority)
        block = slice(first, last)
        density[0, block, block], density[1, block, block] = alpha, beta
    return density


@functools.cache
def _free_atom_density(symbol: str, level: Level) -> tuple:
    """(majority, minority)-spin density of the free atom in its ground-state multiplicity, in its basis."""
    atom = gto.M(atom=[[symbol, (0.0, 0.0, 0.0)]], basis={symbol: copy.deepcopy(_element_basis(level.basis, symbol))},
                 spin=ATOM_MULTIPLICITY[symbol] - 1, verbose=0)  # fmt: skip
    alpha, beta = converged_scf(atom, Level("hf", level.basis), unrestricted=True).make_rdm1()
    return alpha, beta


def _external_instability(restricted):
    """(unrestricted density along the restricted solution's lowest RHF -> UHF instability, or None where
    it is stable; whether the analysis could run)."""
    try:
        _, (mo_alpha, mo_beta), _, stable = restricted.stability(internal=False, external=True, return_status=True)
    except LinearDependencyError:
        return None, False  # a minimal basis with no occupied-virtual rotation: nothing can break
    if stable:
        return None, True
    occupied = np.diag((restricted.mo_occ > 0).astype(float))
    return np.array([mo_alpha @ occupied @ mo_alpha.T, mo_beta @ occupied @ mo_beta.T]), True


def _internally_stable(mf, level: Level):
    """(mf followed once along an internal instability if it has one, whether the analysis ran): a saddle
    point is not the ground state."""
    if mf.mol.nelectron < 2:
        return mf, False  # one electron: UHF is exact in the basis, and there is nothing to rotate
    try:
        new_mo, _, stable, _ = mf.stability(return_status=True)
    except LinearDependencyError:
        return mf, False  # minimal bases can leave no occupied-virtual rotation to test
    if stable:
        return mf, True
    followed = converged_scf(mf.mol, level, unrestricted=True, dm0=mf.make_rdm1(new_mo, mf.mo_occ))
    return (followed if followed.e_tot < mf.e_tot else mf), True


def _post_scf(mf, level: Level, forces: bool):
    """Total energy (Hartree) and gradient (Hartree/Bohr, or None) of the method on the SCF reference."""
    if level.family in ("hf", "dft"):
        return mf.e_tot, mf.nuc_grad_method().kernel() if forces else None
    if level.family == "mp2":
        correlated = mp.MP2(mf).run()
        return correlated.e_tot, correlated.nuc_grad_method().kernel() if forces else None
    correlated = cc.CCSD(mf).run()
    if not correlated.converged:
        raise LabelFailure("CCSD amplitudes did not converge")
    if level.family == "ccsd":
        return correlated.e_tot, correlated.nuc_grad_method().kernel() if forces else None
    return correlated.e_tot + correlated.ccsd_t(), None


def _fci(mol, level: Level, guess) -> Solution:
    """FCI on restricted (open shells: restricted open-shell) orbitals, pinned to the requested spin.

    FCI is exact in the basis whatever the orbitals, so no broken-symmetry search is needed; the spin
    penalty keeps the solver on the requested multiplicity instead of a lower state of another spin.
    """
    reference = converged_scf(mol, level, unrestricted=False, dm0=guess) if mol.spin == 0 else None
    if reference is None:
        reference = scf.ROHF(mol)
        reference.max_cycle = level.max_scf_cycles
        reference.kernel()
        if not reference.converged:
            raise LabelFailure("ROHF reference for FCI did not converge")
    solver = fci.FCI(reference)
    s = mol.spin / 2
    fci.addons.fix_spin_(solver, ss=s * (s + 1))
    energy, vector = solver.kernel()
    s2, _ = solver.spin_square(vector, reference.mo_coeff.shape[1], mol.nelec)
    return Solution(float(energy), None, float(s2), False, "fci", int(getattr(reference, "cycles", -1)))


def _nuclear_gradient(mol) -> np.ndarray:
    """Gradient of the nuclear repulsion alone (Hartree/Bohr): the whole answer when no electrons remain."""
    from pyscf.grad import rhf as rhf_grad

    return rhf_grad.grad_nuc(mol)


def spin_contamination(mf) -> float:
    """<S^2> of the solution; exactly S(S+1) for restricted references."""
    if isinstance(mf, scf.uhf.UHF):
        return float(mf.spin_square()[0])
    s = mf.mol.spin / 2
    return s * (s + 1)


def _reference_name(mf) -> str:
    unrestricted = isinstance(mf, scf.uhf.UHF)
    if isinstance(mf, dft.rks.KohnShamDFT):
        return "uks" if unrestricted else "rks"
    return "uhf" if unrestricted else "rhf"
