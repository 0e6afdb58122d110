"""Probe reference curves: the exact answer, FCI in a basis and the label method, on the evaluation grid,
with each curve's D_e and r_e minimised on the curve itself."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json

from pyscf import lib

from astray.evaluation.cube import reference_dataset, write_netcdf
from astray.evaluation.probes import (
    PROBES,
    exact_reference_citation,
    exact_reference_name,
    fci_reference_name,
    fragment_shift,
    probe_references,
)
from astray.io import read_json
from astray.labels.labeling import Level

lib.num_threads(snakemake.threads)
params = snakemake.params
level = Level.from_config(params.level)
atom_energies = read_json(snakemake.input.atom_energies)["energies"]
curves, minima, facts, exact_methods, citations, fci_methods = {}, {}, {}, {}, {}, {}
for name in params.probes:
    probe = PROBES[name]
    probe_curves, probe_minima = probe_references(probe, params.distances, level, params.fci_basis)
    curves.update({(reference, name): energies for reference, energies in probe_curves.items()})
    minima.update({(reference, name): minimum for reference, minimum in probe_minima.items()})
    exact_methods[name] = exact_reference_name(probe) or "none known (NaN)"
    citations[name] = exact_reference_citation(probe) or "none known (NaN)"
    fci_methods[name] = fci_reference_name(probe, params.fci_basis) or "not affordable (NaN)"
    facts[name] = {
        "fragment_shift": fragment_shift(probe, level, atom_energies),
        "length_scale": probe.length_scale,
        "expected_minima": probe.expected_minima,
        "expected_force_flips": probe.expected_force_flips,
        "limit_well_depth": probe.limit_well_depth,
    }
    print(f"{name}: exact ({exact_methods[name]}), {fci_methods[name]} and label-method curves done", file=sys.stderr)
references = reference_dataset(params.distances, curves, facts, minima)
references.attrs.update(
    label_method=level.tag,
    exact_reference=json.dumps(exact_methods, sort_keys=True),
    exact_reference_citation=json.dumps(citations, sort_keys=True),
    fci_reference=json.dumps(fci_methods, sort_keys=True),
)
write_netcdf(references, snakemake.output[0], "reference curves")
