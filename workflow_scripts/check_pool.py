"""Check every geometry of the pool for labeling, then lay the geometries to label out in the planned
labeling chunks."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.io import read_geometries, read_json, write_json
from astray.labels.labeling import LabelInputError, Level, check_labeling_inputs, chunk_ranges

pool = read_geometries(snakemake.input.pool)
try:
    check_labeling_inputs(pool, Level.from_config(snakemake.params.level), snakemake.params.min_distance)
except LabelInputError as error:
    raise LabelInputError(f"{snakemake.input.pool}: {error}") from None
# Every geometry is checked, also those no dataset uses yet: a committee may pick any of them.
frames = read_json(snakemake.input.needed)["frames"]
chunks = chunk_ranges(len(frames), snakemake.params.chunks)
write_json(snakemake.output[0], {"geometries": len(pool), "frames": frames, "chunks": chunks})
print(f"{len(pool)} geometries checked; {len(frames)} to label, in {len(chunks)} chunks of "
      f"{min(n for _, n in chunks)}-{max(n for _, n in chunks)}", file=sys.stderr)  # fmt: skip
