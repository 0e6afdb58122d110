"""One committee member's energies of every candidate its training set does not hold yet, predicted from
the pool's geometries: a candidate needs no label to be ranked."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import torch

from astray.datasets.selection import candidate_frames, drawn_from
from astray.datasets.splits import training_frames
from astray.io import read_chosen_frames, read_json, write_json
from astray.models.registry import load_predictor

torch.set_num_threads(snakemake.threads)
index, splits = read_json(snakemake.input.frame_index), read_json(snakemake.input.splits)
chosen = read_json(snakemake.input.chosen)
frame_of = {geometry_id: frame for frame, geometry_id in enumerate(index["geometry_id"])}
# Geometries whose calculation failed, in labeling or in an earlier round, are no candidates.
failed = [frame_of[entry["geometry_id"]] for entry in read_json(snakemake.input.quarantine)["geometries"]]
failed += chosen.get("failed", [])
# Every training geometry of the kind is a candidate, whatever a seed's order: the seed only sorts them.
kind_frames = training_frames(index, splits, drawn_from(snakemake.wildcards.kind), seed=0)
candidates = candidate_frames(kind_frames, chosen["frames"], failed)
geometries = read_chosen_frames(snakemake.input.pool, candidates)
model = load_predictor(snakemake.input.model, snakemake.params.architecture)
energies = [float(energy) for energy in model.energies(geometries)]
write_json(
    snakemake.output[0],
    {
        "model": snakemake.input.model,
        "units": {"energies": "eV"},
        "frames": candidates,
        "atoms": [len(atoms) for atoms in geometries],
        "energies": energies,
    },
)
print(f"{len(candidates)} candidates predicted", file=sys.stderr)
