"""Probe curves of one model for every kind and training size."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import xarray as xr

from astray.plots import plot_model_curves

evaluations = xr.merge([xr.load_dataset(path) for path in snakemake.input.evaluations], combine_attrs="drop")
references = xr.load_dataset(snakemake.input.references)
plot_model_curves(evaluations, references, snakemake.wildcards.model, snakemake.output[0])
