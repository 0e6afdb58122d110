"""Train one NequIP or Allegro capacity on one nested training set with nequip-train."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import os
import shutil
import time
from functools import partial

import pandas as pd

from astray.io import read_geometries, read_json, write_json
from astray.models import nequip

os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)
workdir = snakemake.params.workdir
train_atoms = read_geometries(snakemake.input.train)
atom_energies = read_json(snakemake.input.atom_energies)["energies"]
start = time.perf_counter()
best = nequip.train(
    train_atoms=train_atoms,
    val_atoms=read_geometries(snakemake.input.validation),
    atom_energies=atom_energies,
    spec=snakemake.params.spec,
    training=snakemake.params.training,
    seed=int(snakemake.wildcards.seed),
    workdir=workdir,
    # Every element of the pool and the probes (those with an isolated-atom energy): a test molecule's
    # element the training set lacks must still have a type.
    species=sorted(atom_energies),
    log=partial(print, file=sys.stderr, flush=True),
)
seconds = time.perf_counter() - start
write_json(snakemake.output.summary, nequip.summary(workdir, snakemake.params.spec, len(train_atoms), seconds))
pd.DataFrame(nequip.history(workdir)).to_csv(snakemake.output.history, index=False)
shutil.copyfile(best, snakemake.output.checkpoint)
