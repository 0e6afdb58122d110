"""Quantum-chemistry engines behind one small interface.

Each engine module provides:

- ``version()``: the engine's version string, for provenance;
- ``check_level(level, elements)``: raise ``LabelInputError`` for a basis, element or method it cannot do
  (cheap: runs while Snakemake plans);
- ``check_method(level)``: a real tiny calculation with the method (runs at the start of a labeling job);
- ``check_geometry(atoms, level)``: raise ``LabelInputError`` for a geometry too large for the method;
- ``has_forces(level)``: whether the method has analytic gradients in this engine;
- ``compute(atoms, level, forces, threads, guess)``: a ``Solution`` in Hartree and Bohr.

An engine's results are converted to eV and Å in one place, ``astray.labels.labeling``, whichever engine ran.
"""

import importlib
from dataclasses import dataclass

import numpy as np

ENGINES = ("pyscf", "psi4")


@dataclass
class Solution:
    energy: float  # Hartree
    gradient: np.ndarray | None  # Hartree/Bohr, shape (n_atoms, 3); None for energy-only methods
    s2: float  # <S^2> of the reference determinant
    broken_symmetry: bool
    reference: str  # rhf, uhf, rks, uks, or none for bare nuclei
    scf_cycles: int
    guess: np.ndarray | None = None  # converged density, the warm start of a neighbouring geometry
    stability_checked: bool = False  # a stability analysis ran on the reference (astray's one rule)
    symmetry_lowering: float = 0.0  # kept reference minus the restricted solution (Hartree, <= 0)


def get_engine(name: str):
    if name not in ENGINES:
        raise ValueError(f"labels.engine: unknown engine '{name}'; choose one of {', '.join(ENGINES)}")
    return importlib.import_module(f"astray.labels.engines.{name}_engine")
