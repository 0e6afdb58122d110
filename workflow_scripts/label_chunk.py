"""Label one chunk of the pool; each finished geometry is kept in a progress file the moment it finishes."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from functools import partial

from pyscf import lib

from astray.io import read_chosen_frames, read_json, write_geometries, write_json
from astray.labels.labeling import Level, label_chunk

lib.num_threads(snakemake.threads)
layout = read_json(snakemake.input.chunks)
first, count = layout["chunks"][int(snakemake.wildcards.chunk)]
needed = set(layout["needed"])  # every frame, unless labels.scope is datasets
frames = [frame for frame in range(first, first + count) if frame in needed]
geometries = read_chosen_frames(snakemake.input.pool, frames)
labeled, quarantined = label_chunk(
    geometries,
    Level.from_config(snakemake.params.level),
    snakemake.params.progress,
    log=partial(print, file=sys.stderr, flush=True),
    threads=snakemake.threads,
    warm_start=snakemake.params.warm_start,
    forces=snakemake.params.forces,
)
write_geometries(snakemake.output.labeled, labeled)
write_json(snakemake.output.quarantine, quarantined)
