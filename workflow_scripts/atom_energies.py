"""Isolated-atom energies (eV) at the label level, in each element's ground-state multiplicity."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pyscf import lib

from astray.io import write_json
from astray.labels import Level, isolated_atom_energies

lib.num_threads(snakemake.threads)
level = Level.from_config(snakemake.params.level)
energies = isolated_atom_energies(snakemake.params.elements, level)
write_json(snakemake.output[0], {"units": "eV", "level": level.tag, "energies": energies})
print(energies, file=sys.stderr)
