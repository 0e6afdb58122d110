"""Run one pretrained potential once: every geometry its evaluations need, the probes, its free atoms."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import time
from pathlib import Path

import torch
import xarray as xr

from astray.evaluation.dynamics import DynamicsSettings, choose_molecules
from astray.evaluation.probes import PROBES, probe_geometry
from astray.io import read_geometries, read_json, write_json
from astray.models.pretrained import predict

torch.set_num_threads(snakemake.threads)
test = read_geometries(snakemake.input.test)
geometries = {atoms.info["geometry_id"]: atoms for atoms in test}
for path in snakemake.input.training_sets:
    geometries.update((atoms.info["geometry_id"], atoms) for atoms in read_geometries(path))
references = xr.load_dataset(snakemake.input.references)
probe_curves = {
    name: [probe_geometry(PROBES[name], r) for r in references.distance.values] for name in references.probe.values
}
settings = DynamicsSettings.from_config(snakemake.params.dynamics)
dynamics = (choose_molecules(test, settings.molecules, settings.seed), settings) if settings.steps else None
checkpoint = Path(snakemake.output[0]).with_name("predictions.partial.json")
started = time.perf_counter()
table = predict(
    snakemake.wildcards.model,
    snakemake.params.recipe,
    list(geometries.values()),
    probe_curves,
    sorted(read_json(snakemake.input.atom_energies)["energies"]),
    # Holdout force errors need the test set's forces, where its labels have them.
    forces_of={atoms.info["geometry_id"] for atoms in test if "forces" in atoms.calc.results},
    progress=sys.stderr,
    # Beside the output: a killed job resumes from it (Snakemake removes the output of a failed job only).
    checkpoint=checkpoint,
    dynamics=dynamics,
)
table["seconds"] = time.perf_counter() - started
write_json(snakemake.output[0], table)
checkpoint.unlink(missing_ok=True)
print(f"{len(geometries)} geometries and {len(probe_curves)} probes in {table['seconds']:.1f} s", file=sys.stderr)
