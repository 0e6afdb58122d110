"""One nested training set: the first `size` geometries of the kind's seeded order."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.datasets.splits import training_frames, without_run_details
from astray.io import read_chosen_frames, read_json, write_geometries

wildcards = snakemake.wildcards
frames = training_frames(
    read_json(snakemake.input.frame_index),
    read_json(snakemake.input.splits),
    wildcards.kind,
    int(wildcards.seed),
    int(wildcards.size),
)
write_geometries(snakemake.output[0], without_run_details(read_chosen_frames(snakemake.input.labeled, frames)))
