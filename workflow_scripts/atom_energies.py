"""Isolated-atom energies (eV) at the label level, in each element's ground-state multiplicity: of every
element of the pool and of the probes."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pyscf import lib

from astray.evaluation.probes import PROBES
from astray.io import read_json, write_json
from astray.labels.labeling import Level, isolated_atom_energies

lib.num_threads(snakemake.threads)
level = Level.from_config(snakemake.params.level)
probe_elements = {symbol for name in snakemake.params.probes for symbol in PROBES[name].symbols}
elements = sorted(set(read_json(snakemake.input.summary)["elements"]) | probe_elements)
energies = isolated_atom_energies(elements, level)
write_json(snakemake.output[0], {"units": "eV", "level": level.tag, "energies": energies})
print(energies, file=sys.stderr)
