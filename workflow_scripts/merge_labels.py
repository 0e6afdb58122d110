"""Concatenate labeled chunks and their quarantine lists; where a quarantined geometry leaves a random set
short, label the next one in its order (labels.scope: datasets); count the references the rule chose."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from functools import partial

from astray.datasets.splits import needed_frames
from astray.io import read_chosen_frames, read_geometries, read_json, write_geometries, write_json
from astray.labels.labeling import Level, label_until_settled, quarantine_summary, reference_summary

params = snakemake.params
index, assignment = read_json(snakemake.input.frame_index), read_json(snakemake.input.splits)
frame_of = {geometry_id: frame for frame, geometry_id in enumerate(index["geometry_id"])}
labeled = {}
for path in snakemake.input.chunks:
    labeled.update((frame_of[atoms.info["geometry_id"]], atoms) for atoms in read_geometries(path))
quarantined = {
    frame_of[entry["geometry_id"]]: entry for path in snakemake.input.quarantines for entry in read_json(path)
}


def missing(failed):
    """What the random sets and holdouts use that has no label yet (nothing, where the whole pool is labeled)."""
    known_failed = quarantined.keys() | failed.keys()
    needed = needed_frames(index, assignment, params.kinds, params.seeds, params.size, known_failed)
    return [frame for frame in needed if frame not in labeled and frame not in known_failed]


replacements, failed = label_until_settled(
    missing,
    partial(read_chosen_frames, snakemake.input.pool),
    Level.from_config(params.level),
    params.progress,
    log=partial(print, file=sys.stderr, flush=True),
    threads=snakemake.threads,
    warm_start=params.warm_start,
    forces=params.forces,
)
labeled.update(replacements)
quarantined.update(failed)
frames = sorted(labeled)
write_geometries(snakemake.output.labeled, [labeled[frame] for frame in frames])
write_json(snakemake.output.frames, {"frames": frames, "replacements": sorted(replacements)})
write_json(snakemake.output.quarantine, quarantine_summary([quarantined[frame] for frame in sorted(quarantined)]))
references = reference_summary([labeled[frame] for frame in frames])
write_json(snakemake.output.references, references)
print(f"{len(labeled)} labeled ({len(replacements)} in place of quarantined ones), {len(quarantined)} quarantined; "
      f"references {references['by_reference']}, {references['stability_checked']} stability-checked",
      file=sys.stderr)  # fmt: skip
