"""The cube's metrics and the quarantine summary as CSV tables (shown in `snakemake --report`)."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import xarray as xr

from astray.io import read_json
from astray.report.tables import probe_metrics_table, quarantine_table, scaling_table

cube = xr.load_dataset(snakemake.input.cube)
probe_metrics_table(cube).to_csv(snakemake.output.probe_metrics, index=False)
scaling_table(cube).to_csv(snakemake.output.scaling, index=False)
quarantine_table(read_json(snakemake.input.quarantine)).to_csv(snakemake.output.quarantine, index=False)
