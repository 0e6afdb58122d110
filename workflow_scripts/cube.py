"""Merge every model's evaluation and the references into the result cube, with provenance."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json

import xarray as xr

from astray.evaluation.cube import assemble_cube, write_netcdf
from astray.io import read_json
from astray.provenance import config_hash, git_commit, package_versions

config = snakemake.params.config
quarantine = read_json(snakemake.input.quarantine)
references = xr.load_dataset(snakemake.input.references)
attrs = {
    "title": "astray scaling campaign result cube",
    "config_sha256": config_hash(config),
    "config": json.dumps(config, sort_keys=True),
    "git_commit": git_commit(snakemake.scriptdir),  # the checkout the workflow runs from
    "package_versions": json.dumps(package_versions(), sort_keys=True),
    "label_method": references.attrs["label_method"],
    "exact_reference": references.attrs["exact_reference"],
    "exact_reference_citation": references.attrs["exact_reference_citation"],
    "fci_reference": references.attrs["fci_reference"],
    "probe_in_training_data": int(config["geometries"]["include_probe"]),
    "quarantined_geometries": len(quarantine["geometries"]),
    "quarantined_by_reason": json.dumps(quarantine["count_by_reason"], sort_keys=True),
    # Which bytes every model was trained and tested on.
    "dataset_sha256": json.dumps({f["path"]: f["sha256"] for f in read_json(snakemake.input.manifest)["files"]}),
    # Labels that came with the files: what their audit found (astray/labels/audit.py), or that there were none.
    "label_audit": json.dumps(read_json(snakemake.input.audit), sort_keys=True) if snakemake.input.audit else "none",
}
evaluations = [xr.load_dataset(path) for path in snakemake.input.evaluations]
records = {tuple(key): read_json(path) for key, path in zip(snakemake.params.set_keys, snakemake.input.set_records)}
cube = assemble_cube(evaluations, references, attrs, config["scaling"]["compute_budgets"], records)
write_netcdf(cube, snakemake.output[0], "cube assembled")
