"""Split molecules into train/validation/test; write the shared test set, each kind's validation set, and
the frame index the training-set jobs order their geometries by."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.datasets.splits import frame_index, holdout_test_set, split_molecules, validation_set, without_run_details
from astray.io import read_geometries, write_geometries, write_json

pool = without_run_details(read_geometries(snakemake.input[0]))
params = snakemake.params
assignment = split_molecules(
    [a.info["molecule"] for a in pool], params.validation_molecules, params.test_molecules, params.split_seed
)
write_json(snakemake.output.splits, assignment)
write_json(snakemake.output.frame_index, frame_index(pool))
write_geometries(snakemake.output.test, holdout_test_set(pool, assignment))
for kind, path in zip(params.kinds, snakemake.output.validation):
    write_geometries(path, validation_set(pool, assignment, kind))
