"""One committee round's picks: the candidates the members trained on the previous set disagree on most,
under the diversity guard (astray/datasets/selection.py)."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.datasets.selection import member_predictions, next_round
from astray.io import read_json, write_json

index = read_json(snakemake.input.frame_index)
candidates, energies, atoms = member_predictions(snakemake.input.predictions)
record = next_round(
    read_json(snakemake.input.chosen)["frames"],
    candidates,
    energies,
    atoms,
    [index["molecule"][frame] for frame in candidates],
    int(snakemake.wildcards.size),
    snakemake.params.per_molecule,
)
record["committee"] = [read_json(path)["model"] for path in snakemake.input.predictions]
write_json(snakemake.output[0], {"units": {"disagreement": "eV/sqrt(atom)"}, **record})
print(f"{len(record['picks'])} picks of {len(candidates)} candidates", file=sys.stderr)
