"""Record what every dataset file holds, so a scaling study can prove its splits."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.datasets.splits import manifest_entry
from astray.io import read_geometries, write_json

paths = [*snakemake.input.training, *snakemake.input.validation, snakemake.input.test]
entries = [manifest_entry(path, read_geometries(path)) for path in paths]
write_json(snakemake.output[0], {"units": {"energy": "eV", "forces": "eV/angstrom"}, "files": entries})
