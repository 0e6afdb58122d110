"""Unit conversions, done once at labeling: datasets are in eV and Å, QC engines speak Hartree and Bohr."""

from ase import units

HARTREE_TO_EV = units.Hartree
BOHR_TO_ANGSTROM = units.Bohr
ANGSTROM_TO_BOHR = 1.0 / units.Bohr
HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM = units.Hartree / units.Bohr
EV_TO_KCAL_PER_MOL = units.mol / units.kcal
