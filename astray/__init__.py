"""astray: scaling campaigns that ask whether ML potentials learn H2 and Coulomb's law."""

__version__ = "0.1.0"
