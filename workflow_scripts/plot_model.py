"""Probe curves of one model for every kind and training size, over its training distances."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import xarray as xr

from astray.io import read_geometries
from astray.report.plots import plot_model_curves

evaluations = xr.merge([xr.load_dataset(path) for path in snakemake.input.evaluations], combine_attrs="drop")
references = xr.load_dataset(snakemake.input.references)
training_sets = {
    kind: read_geometries(path) for kind, path in zip(snakemake.params.kinds, snakemake.input.training_sets)
}
plots = snakemake.params.plots
plot_model_curves(
    evaluations, references, snakemake.wildcards.model, training_sets, snakemake.output[0],
    dpi=plots["dpi"], energy_range=plots["energy_range"],
)  # fmt: skip
