"""Write the shared test set and each kind's validation set from the labeled geometries."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.datasets.splits import holdout_test_set, validation_set, without_run_details
from astray.io import read_geometries, read_json, write_geometries

labeled = without_run_details(read_geometries(snakemake.input.labeled))
assignment = read_json(snakemake.input.splits)
write_geometries(snakemake.output.test, holdout_test_set(labeled, assignment))
for kind, path in zip(snakemake.params.kinds, snakemake.output.validation):
    write_geometries(path, validation_set(labeled, assignment, kind))
