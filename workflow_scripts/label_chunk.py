"""Label one chunk of the pool; each finished geometry is kept in a progress file the moment it finishes."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from functools import partial

from pyscf import lib

from astray.io import read_json, write_geometries, write_json
from astray.labels.labeling import label_pool_frames

lib.num_threads(snakemake.threads)
layout = read_json(snakemake.input.chunks)
first, count = layout["chunks"][int(snakemake.wildcards.chunk)]
needed = set(layout["needed"])  # every frame, unless labels.scope is datasets
frames = [frame for frame in range(first, first + count) if frame in needed]
log = partial(print, file=sys.stderr, flush=True)
labeled, quarantined = label_pool_frames(snakemake.input.pool, frames, snakemake.params, snakemake.threads, log)
write_geometries(snakemake.output.labeled, labeled)
write_json(snakemake.output.quarantine, quarantined)
