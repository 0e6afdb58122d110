"""Train one MACE capacity on one nested training set with mace_run_train, in MACE's environment."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import time
from functools import partial

import pandas as pd

from astray.io import read_geometries, read_json, write_json
from astray.models import mace

# Under --use-conda this script runs in envs/mace.yaml's environment: its interpreter is MACE's.
python = snakemake.params.python or sys.executable
workdir = snakemake.params.workdir
train_atoms = read_geometries(snakemake.input.train)
start = time.perf_counter()
mace.train(
    train_atoms=train_atoms,
    val_atoms=read_geometries(snakemake.input.validation),
    atom_energies=read_json(snakemake.input.atom_energies)["energies"],
    spec=snakemake.params.spec,
    training=snakemake.params.training,
    seed=int(snakemake.wildcards.seed),
    workdir=workdir,
    python=python,
    threads=snakemake.threads,
    log=partial(print, file=sys.stderr, flush=True),
)
seconds = time.perf_counter() - start
pd.DataFrame(mace.history(workdir)).to_csv(snakemake.output.history, index=False)
write_json(snakemake.output.recipe, mace.recipe(workdir, snakemake.params.spec, python, len(train_atoms), seconds))
