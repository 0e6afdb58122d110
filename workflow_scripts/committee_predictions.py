"""One committee member's energies of every candidate its training set does not hold yet."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import torch

from astray.datasets.selection import candidate_frames, drawn_from
from astray.datasets.splits import training_frames
from astray.io import read_chosen_frames, read_json, write_json
from astray.models.registry import load_predictor

torch.set_num_threads(snakemake.threads)
index, splits = read_json(snakemake.input.frame_index), read_json(snakemake.input.splits)
# Every training geometry of the kind is a candidate, whatever a seed's order: the seed only sorts them.
kind_frames = training_frames(index, splits, drawn_from(snakemake.wildcards.kind), seed=0)
candidates = candidate_frames(kind_frames, read_json(snakemake.input.chosen)["frames"])
geometries = read_chosen_frames(snakemake.input.labeled, candidates)
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
