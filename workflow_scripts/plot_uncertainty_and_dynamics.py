"""Committee calibration, softening and molecular dynamics stability against training-set size."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import xarray as xr

from astray.report.plots import plot_uncertainty_and_dynamics

cube = xr.load_dataset(snakemake.input[0])
plot_uncertainty_and_dynamics(cube, snakemake.output[0], dpi=snakemake.params.plots["dpi"])
