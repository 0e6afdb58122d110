"""One committee-chosen training set: the random smallest set of the first seed, or the previous set and
the round's picks (astray/datasets/selection.py). A pick whose calculation was quarantined gives its place
to the next one the ranking allows, labeled here."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from functools import partial

from astray.datasets.selection import drawn_from, member_predictions, next_round
from astray.datasets.splits import labels_spent, training_frames, without_run_details
from astray.io import read_chosen_frames, read_geometries, read_json, write_geometries, write_json
from astray.labels.labeling import Level, label_until_settled

params, inputs, size = snakemake.params, snakemake.input, int(snakemake.wildcards.size)
index, assignment = read_json(inputs.frame_index), read_json(inputs.splits)
position = {frame: row for row, frame in enumerate(read_json(inputs.labeled_frames)["frames"])}


def first_set():
    kind = drawn_from(snakemake.wildcards.kind)
    frames = training_frames(index, assignment, kind, params.first_seed, size, position)
    geometries = read_chosen_frames(inputs.labeled, [position[frame] for frame in frames])
    spent = labels_spent(index, assignment, kind, params.first_seed, size, position)
    record = {"frames": frames, "picks": [], "first_set": f"the random {kind} set of seed {params.first_seed}"}
    return geometries, {**record, "labels_spent": spent, "labeled_here": 0, "failed": []}


def next_set():
    previous = read_json(inputs.chosen)
    frame_of = {geometry_id: frame for frame, geometry_id in enumerate(index["geometry_id"])}
    # What the round's labeling jobs did: picks labeled, and picks quarantined.
    labels = {frame_of[a.info["geometry_id"]]: a for path in inputs.pick_labels for a in read_geometries(path)}
    failed = {frame_of[entry["geometry_id"]]: entry for path in inputs.pick_quarantines for entry in read_json(path)}
    candidates, energies, atoms = member_predictions(inputs.predictions)
    molecules = [index["molecule"][frame] for frame in candidates]

    def round_record(excluded):
        return next_round(previous["frames"], candidates, energies, atoms, molecules, size, params.per_molecule,
                          excluded)  # fmt: skip

    def missing(failed_here):
        picks = [pick["frame"] for pick in round_record(failed.keys() | failed_here.keys())["picks"]]
        return [frame for frame in picks if frame not in position and frame not in labels]

    replacements, failed_here = label_until_settled(
        missing,
        partial(read_chosen_frames, inputs.pool),
        Level.from_config(params.level),
        params.progress,
        log=partial(print, file=sys.stderr, flush=True),
        warm_start=params.warm_start,
        forces=params.forces,
    )
    labels.update(replacements)
    failed.update(failed_here)
    record = round_record(failed.keys())
    record["committee"] = read_json(inputs.picks)["committee"]
    picks = [pick["frame"] for pick in record["picks"]]
    labeled_before = [frame for frame in picks if frame in position]
    labels.update(zip(labeled_before, read_chosen_frames(inputs.labeled, [position[f] for f in labeled_before])))
    geometries = [*read_geometries(inputs.previous), *(labels[frame] for frame in picks)]
    record.update(
        labels_spent=previous["labels_spent"] + len(picks) + len(failed),
        labeled_here=len(picks) - len(labeled_before) + len(failed),
        failed=sorted({*previous["failed"], *failed}),
    )
    return geometries, record


geometries, record = next_set() if inputs.predictions else first_set()
for pick in record["picks"]:
    pick.update(geometry_id=index["geometry_id"][pick["frame"]], origin=index["origin"][pick["frame"]])
write_geometries(snakemake.output.geometries, without_run_details(geometries))
write_json(snakemake.output.frames, {"units": {"disagreement": "eV/sqrt(atom)"}, **record})
print(f"{len(record['frames'])} geometries, {len(record['picks'])} picked by the committee, "
      f"{record['labeled_here']} calculations in this round, {record['labels_spent']} labels spent",
      file=sys.stderr)  # fmt: skip
