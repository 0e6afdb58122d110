"""Split the pool's molecules into train/validation/test before any label exists; write the frame index the
dataset jobs order geometries by, and the frames labeling must cover (labels.scope)."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.datasets.splits import frame_index, needed_frames, split_molecules
from astray.io import read_geometries, write_json

params = snakemake.params
index = frame_index(read_geometries(snakemake.input[0]))
assignment = split_molecules(index["molecule"], params.validation_molecules, params.test_molecules, params.split_seed)
write_json(snakemake.output.splits, assignment)
write_json(snakemake.output.frame_index, index)
frames = list(range(len(index["molecule"])))
if params.scope == "datasets":
    frames = needed_frames(index, assignment, params.kinds, params.seeds, params.size)
write_json(snakemake.output.needed, {"scope": params.scope, "geometries": len(index["molecule"]), "frames": frames})
print(f"{len(frames)} of {len(index['molecule'])} geometries to label (labels.scope: {params.scope})", file=sys.stderr)
