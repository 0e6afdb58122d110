"""One nested training set: the first `size` labeled geometries of the kind's seeded order, and what it
cost in calculations."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.datasets.splits import labels_spent, training_frames, without_run_details
from astray.io import read_chosen_frames, read_json, write_geometries, write_json

kind, seed, size = snakemake.wildcards.kind, int(snakemake.wildcards.seed), int(snakemake.wildcards.size)
index, assignment = read_json(snakemake.input.frame_index), read_json(snakemake.input.splits)
labeled = read_json(snakemake.input.labeled_frames)["frames"]
position = {frame: row for row, frame in enumerate(labeled)}
frames = training_frames(index, assignment, kind, seed, size, position)
geometries = read_chosen_frames(snakemake.input.labeled, [position[frame] for frame in frames])
write_geometries(snakemake.output.geometries, without_run_details(geometries))
spent = labels_spent(index, assignment, kind, seed, size, position)
write_json(snakemake.output.record, {"frames": frames, "labels_spent": spent})
