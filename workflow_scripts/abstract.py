"""The report's front page: what this campaign did and found, in sentences from the config and the cube."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import xarray as xr

from astray.io import read_json
from astray.report.findings import write_abstract

write_abstract(xr.load_dataset(snakemake.input.cube), read_json(snakemake.input.references), snakemake.output[0])
