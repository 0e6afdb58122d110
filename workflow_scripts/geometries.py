"""Write the geometry pool: equilibrium molecules of every source, their distorted copies and scans."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from collections import Counter
from functools import partial

from astray.geometries import build_pool
from astray.io import write_geometries

log = partial(print, file=sys.stderr, flush=True)
pool = build_pool(snakemake.params.geometries, threads=snakemake.threads, log=log)
write_geometries(snakemake.output[0], pool)
log(f"{len(pool)} geometries: {dict(sorted(Counter(a.info['origin'] for a in pool).items()))}")
