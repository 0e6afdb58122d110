"""One committee-chosen training set: the random smallest set of the first seed, or the previous set and
the candidates its committee disagrees on most (astray/datasets/selection.py)."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.datasets.selection import drawn_from, next_round
from astray.datasets.splits import training_frames, without_run_details
from astray.io import read_chosen_frames, read_json, write_geometries, write_json

params, size = snakemake.params, int(snakemake.wildcards.size)
index = read_json(snakemake.input.frame_index)
if snakemake.input.predictions:
    members = [read_json(path) for path in snakemake.input.predictions]
    candidates = members[0]["frames"]
    for path, member in zip(snakemake.input.predictions, members):
        if member["frames"] != candidates:
            raise ValueError(f"{path}: predicts other candidates than {snakemake.input.predictions[0]}")
    record = next_round(
        read_json(snakemake.input.chosen)["frames"],
        candidates,
        [member["energies"] for member in members],
        members[0]["atoms"],
        [index["molecule"][frame] for frame in candidates],
        size,
        params.per_molecule,
    )
    record["committee"] = [member["model"] for member in members]
else:
    kind = drawn_from(snakemake.wildcards.kind)
    frames = training_frames(index, read_json(snakemake.input.splits), kind, params.first_seed, size)
    record = {"frames": frames, "picks": [], "first_set": f"the random {kind} set of seed {params.first_seed}"}
for pick in record["picks"]:
    pick.update(geometry_id=index["geometry_id"][pick["frame"]], origin=index["origin"][pick["frame"]])
geometries = without_run_details(read_chosen_frames(snakemake.input.labeled, record["frames"]))
write_geometries(snakemake.output.geometries, geometries)
write_json(snakemake.output.frames, {"units": {"disagreement": "eV/sqrt(atom)"}, **record})
print(f"{len(record['frames'])} geometries, {len(record['picks'])} picked by the committee", file=sys.stderr)
