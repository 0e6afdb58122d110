"""Label one chunk of a committee round's picks (labels.scope: datasets): those the labeling of the random
sets and holdouts has not labeled already."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from functools import partial

from pyscf import lib

from astray.io import read_json, write_geometries, write_json
from astray.labels.labeling import chunk_ranges, label_pool_frames

lib.num_threads(snakemake.threads)
picks = [pick["frame"] for pick in read_json(snakemake.input.picks)["picks"]]
first, count = chunk_ranges(len(picks), snakemake.params.chunks)[int(snakemake.wildcards.chunk)]
labeled = set(read_json(snakemake.input.labeled_frames)["frames"])
unlabeled = [frame for frame in picks[first : first + count] if frame not in labeled]
print(f"{count} picks in this chunk, {count - len(unlabeled)} labeled already", file=sys.stderr)
log = partial(print, file=sys.stderr, flush=True)
done, quarantined = label_pool_frames(snakemake.input.pool, unlabeled, snakemake.params, snakemake.threads, log)
write_geometries(snakemake.output.labeled, done)
write_json(snakemake.output.quarantine, quarantined)
