"""Probe reference curves: the label method and the exact answer, on the evaluation grid."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pyscf import lib

from astray.cube import reference_dataset, write_netcdf
from astray.io import read_json
from astray.labels import Level
from astray.references import PROBES, exact_curve, label_method_curve

lib.num_threads(snakemake.threads)
params = snakemake.params
level = Level.from_config(params.level)
atom_energies = read_json(snakemake.input.atom_energies)["energies"]
curves = {}
for name in params.probes:
    curves[("label_method", name)] = label_method_curve(PROBES[name], params.distances, level, atom_energies)
    curves[("exact", name)] = exact_curve(PROBES[name], params.distances, params.fci_basis)
    print(f"{name}: reference curves done", file=sys.stderr)
references = reference_dataset(params.distances, curves)
references.attrs.update(label_method=level.tag, exact_reference=f"FCI/{params.fci_basis} (H2); 1/r (H2_2plus)")
write_netcdf(references, snakemake.output[0], "reference curves")
