"""Concatenate labeled chunks and their quarantine lists; count the references the rule chose."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.io import read_geometries, read_json, write_geometries, write_json
from astray.labels.labeling import quarantine_summary, reference_summary

labeled = [atoms for path in snakemake.input.chunks for atoms in read_geometries(path)]
quarantined = [entry for path in snakemake.input.quarantines for entry in read_json(path)]
write_geometries(snakemake.output.labeled, labeled)
write_json(snakemake.output.quarantine, quarantine_summary(quarantined))
references = reference_summary(labeled)
write_json(snakemake.output.references, references)
print(f"{len(labeled)} labeled, {len(quarantined)} quarantined; references {references['by_reference']}, "
      f"{references['stability_checked']} stability-checked", file=sys.stderr)  # fmt: skip
