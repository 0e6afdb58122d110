"""Recompute a seeded sample of the labels that came with the files, at their declared level, and stop the
run if they deviate from astray's beyond the tolerance."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from functools import partial

import pandas as pd
from pyscf import lib

from astray.io import read_geometries, write_json
from astray.labels import audit
from astray.labels.labeling import Level, label_chunk

log = partial(print, file=sys.stderr, flush=True)
lib.num_threads(snakemake.threads)
settings, declared = snakemake.params.audit, snakemake.params.declared
chosen = audit.sample(read_geometries(snakemake.input.pool), settings["sample"], settings["fraction"], settings["seed"])
level = Level.from_config(snakemake.params.level)
log(f"recomputing {len(chosen)} of the provided labels at {level.tag}")
recomputed, quarantined = label_chunk(
    [audit.to_recompute(atoms) for atoms in chosen], level, snakemake.params.progress, log=log,
    threads=snakemake.threads, warm_start=False, forces=declared["forces"] != "none",
)  # fmt: skip
done = {atoms.info["geometry_id"] for atoms in recomputed}
compared = [atoms for atoms in chosen if atoms.info["geometry_id"] in done]  # the quarantined are listed apart
rows = audit.compare(compared, recomputed)
table = pd.DataFrame(rows, columns=audit.COLUMNS)
log(table.to_string(index=False))
summary = audit.verdict(
    rows, settings["tolerance_kcal_per_mol"], settings["force_tolerance"],
    [atoms.get_chemical_symbols() for atoms in compared],
)  # fmt: skip
summary.update(
    level=level.tag, declared=declared, quarantined=quarantined, seed=settings["seed"],
    sample=[atoms.info["geometry_id"] for atoms in chosen],
)  # fmt: skip
if not summary["passed"]:
    raise audit.AuditError(audit.message(summary, snakemake.log[0]))
table.to_csv(snakemake.output.table, index=False)
write_json(snakemake.output.summary, summary)
log(f"audit passed: largest deviation {summary['max_abs_deviation_kcal_per_mol']:.3f} kcal/mol")
