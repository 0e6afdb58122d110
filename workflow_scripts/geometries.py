"""Write the geometry pool: equilibrium molecules and their bond-scaled copies."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from collections import Counter

from astray.geometries import build_pool
from astray.io import write_geometries

pool = build_pool(snakemake.params.geometries)
write_geometries(snakemake.output[0], pool)
print(f"{len(pool)} geometries: {dict(Counter(a.info['origin'] for a in pool))}", file=sys.stderr)
