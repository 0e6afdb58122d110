"""Write the geometry pool (equilibrium molecules of every source, their distorted copies and scans) and
its summary."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from collections import Counter
from dataclasses import asdict
from functools import partial

from astray.geometries.census import summarize
from astray.geometries.chemical_space import space_report
from astray.geometries.pool import build_pool
from astray.io import write_geometries, write_json

log = partial(print, file=sys.stderr, flush=True)
config, cache = snakemake.params.geometries, snakemake.params.cache
pool = build_pool(config, threads=snakemake.threads, log=log, cache_dir=cache)
write_geometries(snakemake.output.pool, pool)
write_json(snakemake.output.summary, {**asdict(summarize(pool)), "identity": snakemake.params.identity})
write_json(snakemake.output.chemical_space, space_report(config, cache))
log(f"{len(pool)} geometries: {dict(sorted(Counter(a.info['origin'] for a in pool).items()))}")
