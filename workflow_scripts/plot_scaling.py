"""Errors against training-set size, with the power laws fitted in the cube."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import xarray as xr

from astray.report.plots import plot_scaling

plot_scaling(xr.load_dataset(snakemake.input[0]), snakemake.output[0], dpi=snakemake.params.plots["dpi"])
