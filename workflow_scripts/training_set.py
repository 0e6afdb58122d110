"""One nested training set: the first `size` geometries of the kind's seeded order."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.datasets import training_set, without_run_details
from astray.io import read_geometries, read_json, write_geometries

wildcards = snakemake.wildcards
pool = without_run_details(read_geometries(snakemake.input.labeled))
assignment = read_json(snakemake.input.splits)
subset = training_set(pool, assignment, wildcards.kind, int(wildcards.seed), int(wildcards.size))
write_geometries(snakemake.output[0], subset)
