"""Check every geometry of the pool for labeling, then lay the pool out in the planned labeling chunks, with
the frames labeling covers (labels.scope)."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.io import read_geometries, read_json, write_json
from astray.labels.labeling import LabelInputError, Level, check_labeling_inputs, chunk_ranges

pool = read_geometries(snakemake.input.pool)
try:
    check_labeling_inputs(pool, Level.from_config(snakemake.params.level), snakemake.params.min_distance)
except LabelInputError as error:
    raise LabelInputError(f"{snakemake.input.pool}: {error}") from None
# Every geometry is checked, also those no dataset uses yet: a committee may pick any of them. The chunks are
# ranges of the pool, each labeling what of it is needed: a change of sizes or seeds changes what a chunk
# labels, not which chunk a geometry is in, so each chunk's progress file still holds its finished work.
needed = read_json(snakemake.input.needed)["frames"]
chunks = chunk_ranges(len(pool), snakemake.params.chunks)
write_json(snakemake.output[0], {"geometries": len(pool), "needed": needed, "chunks": chunks})
print(f"{len(pool)} geometries checked, {len(needed)} to label, in {len(chunks)} chunks of "
      f"{min(n for _, n in chunks)}-{max(n for _, n in chunks)} geometries of the pool", file=sys.stderr)  # fmt: skip
