"""Concatenate labeled chunks and their quarantine lists."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from collections import Counter

from astray.io import read_geometries, read_json, write_geometries, write_json

labeled = [atoms for path in snakemake.input.chunks for atoms in read_geometries(path)]
quarantined = [entry for path in snakemake.input.quarantines for entry in read_json(path)]
write_geometries(snakemake.output.labeled, labeled)
write_json(
    snakemake.output.quarantine,
    {"count_by_reason": dict(Counter(q["reason"] for q in quarantined)), "geometries": quarantined},
)
print(f"{len(labeled)} labeled, {len(quarantined)} quarantined", file=sys.stderr)
