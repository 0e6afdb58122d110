"""Holdout energies of one model against their labels, for every kind and training size."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import xarray as xr

from astray.report.plots import plot_parity

evaluations = xr.merge([xr.load_dataset(path) for path in snakemake.input.evaluations], combine_attrs="drop")
plot_parity(evaluations, snakemake.wildcards.model, snakemake.output[0], dpi=snakemake.params.plots["dpi"])
