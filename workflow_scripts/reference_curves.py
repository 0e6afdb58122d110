"""Probe reference curves: the label method and the exact answer, on the evaluation grid."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json

from pyscf import lib

from astray.cube import reference_dataset, write_netcdf
from astray.io import read_json
from astray.labels import Level
from astray.references import PROBES, curve, exact_curve, exact_reference_name, fragment_shift

lib.num_threads(snakemake.threads)
params = snakemake.params
level = Level.from_config(params.level)
atom_energies = read_json(snakemake.input.atom_energies)["energies"]
curves, facts, exact_methods = {}, {}, {}
for name in params.probes:
    probe = PROBES[name]
    curves[("label_method", name)] = curve(probe, params.distances, level)
    curves[("exact", name)] = exact_curve(probe, params.distances, params.fci_basis)
    exact_methods[name] = exact_reference_name(probe, params.fci_basis) or "none affordable (NaN)"
    facts[name] = {
        "fragment_shift": fragment_shift(probe, level, atom_energies),
        "length_scale": probe.length_scale,
        "expected_minima": probe.expected_minima,
        "expected_force_flips": probe.expected_force_flips,
        "limit_well_depth": probe.limit_well_depth,
    }
    print(f"{name}: label method and {exact_methods[name]} curves done", file=sys.stderr)
references = reference_dataset(params.distances, curves, facts)
references.attrs.update(label_method=level.tag, exact_reference=json.dumps(exact_methods, sort_keys=True))
write_netcdf(references, snakemake.output[0], "reference curves")
