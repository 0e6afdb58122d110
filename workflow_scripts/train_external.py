"""Train one external rung on one nested training set with the spec's own command line."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import time
from functools import partial

from astray.io import read_geometries, read_json, write_json
from astray.models import external

# Empty: the rung runs in astray's environment, this job's interpreter.
python = snakemake.params.python or sys.executable
train_atoms = read_geometries(snakemake.input.train)
start = time.perf_counter()
external.train(
    train_atoms=train_atoms,
    val_atoms=read_geometries(snakemake.input.validation),
    atom_energies=read_json(snakemake.input.atom_energies)["energies"],
    spec=snakemake.params.spec,
    training=snakemake.params.training,
    seed=int(snakemake.wildcards.seed),
    workdir=snakemake.params.workdir,
    python=python,
    threads=snakemake.threads,
    log=partial(print, file=sys.stderr, flush=True),
)
seconds = time.perf_counter() - start
write_json(snakemake.output.recipe, external.recipe(snakemake.params.spec, python, len(train_atoms), seconds))
