"""The explorer: one self-contained HTML page to browse the result cube."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import xarray as xr

from astray.report.explorer import write_explorer

write_explorer(xr.load_dataset(snakemake.input[0]), snakemake.output[0])
