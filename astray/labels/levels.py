"""Levels of theory: an engine, a method and a basis. Methods fall into families that decide what can be
computed: mean-field methods (HF, DFT) and the correlated ones built on them (MP2, CCSD, CCSD(T), FCI).
"""

import math
from dataclasses import dataclass

CORRELATED_FAMILIES = ("mp2", "ccsd", "ccsd(t)", "fci")


# Suffixes that add an empirical dispersion correction to a functional (PySCF: via pyscf-dispersion).
DISPERSION_SUFFIXES = ("-d3bj", "-d3zero", "-d3bjm", "-d3zerom", "-d3op", "-d4")


@dataclass(frozen=True)
class Level:
    """Level of theory. `method` is hf, mp2, ccsd, ccsd(t), fci or a DFT functional name such as
    pbe or b3lyp-d3bj. `density_fit` uses density-fitted integrals (faster, ~1e-5 Eh from exact ones)."""

    method: str
    basis: str
    engine: str = "pyscf"
    density_fit: bool = False
    max_scf_cycles: int = 100

    @classmethod
    def from_config(cls, labels: dict) -> "Level":
        """The level of the config's `labels` section (validated: the schema has filled in its defaults)."""
        return cls(labels["method"], labels["basis"], labels["engine"], labels["density_fit"])

    @property
    def family(self) -> str:
        method = self.method.lower()
        if method == "hf" or method in CORRELATED_FAMILIES:
            return method
        return "dft"

    @property
    def dispersion(self) -> str | None:
        method = self.method.lower()
        return next((suffix[1:] for suffix in DISPERSION_SUFFIXES if method.endswith(suffix)), None)

    @property
    def functional(self) -> str:
        """The functional without its dispersion suffix."""
        method = self.method.lower()
        return method[: -len(self.dispersion) - 1] if self.dispersion else method

    @property
    def tag(self) -> str:
        return f"{self.engine}:{self.method}/{self.basis}" + ("+df" if self.density_fit else "")


class LabelFailure(RuntimeError):
    """A calculation that could not produce a trustworthy label; its message is the quarantine reason."""


class LabelInputError(ValueError):
    """Input that no engine can label (bad method, basis, charge, spin or geometry): stops before any work."""


def fci_determinants(n_orbitals: int, n_alpha: int, n_beta: int) -> int:
    return math.comb(n_orbitals, n_alpha) * math.comb(n_orbitals, n_beta)
