"""Evaluate one model, trained or pretrained, on the probes, the shared test set and in molecular dynamics."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import xarray as xr

from astray.evaluation.cube import evaluation_dataset, write_netcdf
from astray.evaluation.dynamics import DynamicsSettings, model_dynamics
from astray.evaluation.evaluate import evaluate_model
from astray.io import read_geometries, read_json
from astray.models.registry import load_predictor

wildcards = snakemake.wildcards
references = xr.load_dataset(snakemake.input.references)
model = load_predictor(snakemake.input.model, snakemake.params.architecture)
test = read_geometries(snakemake.input.test)
predictions, metrics, model_info, unavailable, holdout = evaluate_model(
    model,
    test,
    read_json(snakemake.input.atom_energies)["energies"],
    references.distance.values,
    references.fragment_shift.to_series().to_dict(),
    # A pretrained model's holdout alignment is fitted on the run's training set; trained models need none.
    read_geometries(snakemake.input.train) if snakemake.input.train else (),
)
dynamics = model_dynamics(model, test, DynamicsSettings.from_config(snakemake.params.dynamics))
evaluation = evaluation_dataset(
    wildcards.model, wildcards.kind, int(wildcards.seed), int(wildcards.size),
    predictions, references, metrics, model_info, unavailable, holdout, dynamics,
)  # fmt: skip
write_netcdf(evaluation, snakemake.output[0], f"evaluation of {snakemake.input.model}")
print(metrics, file=sys.stderr)
