"""Unit conversions: datasets are in eV and Å, QC engines speak Hartree and Bohr.

Labels are converted once, at labeling (`astray.labels.labeling`). The same constants also serve where astray
computes in atomic units itself: the Hessians of normal-mode sampling (`astray.geometries.distortions`), the exact
reference curves (`astray.evaluation.exact_curves`) and the nuclear repulsion of the anchored SchNet
(`astray.models.schnet`); each converts its own result to eV and Å before anything else reads it.
"""

from ase import units

HARTREE_TO_EV = units.Hartree
BOHR_TO_ANGSTROM = units.Bohr
ANGSTROM_TO_BOHR = 1.0 / units.Bohr
HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM = units.Hartree / units.Bohr
EV_TO_KCAL_PER_MOL = units.mol / units.kcal
