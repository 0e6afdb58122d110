"""Check every geometry of the pool for labeling, then lay the pool out in the planned labeling chunks."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.io import read_geometries, write_json
from astray.labels.labeling import LabelInputError, Level, check_labeling_inputs, chunk_ranges

pool = read_geometries(snakemake.input[0])
try:
    check_labeling_inputs(pool, Level.from_config(snakemake.params.level), snakemake.params.min_distance)
except LabelInputError as error:
    raise LabelInputError(f"{snakemake.input[0]}: {error}") from None
chunks = chunk_ranges(len(pool), snakemake.params.chunks)
write_json(snakemake.output[0], {"geometries": len(pool), "chunks": chunks})
print(f"{len(pool)} geometries checked, in {len(chunks)} chunks of {min(n for _, n in chunks)}-"
      f"{max(n for _, n in chunks)}", file=sys.stderr)  # fmt: skip
