"""Fine-tune a pretrained SevenNet on one nested training set."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from functools import partial

import pandas as pd
import torch

from astray.io import read_geometries, read_json
from astray.models.finetune import finetune

torch.set_num_threads(snakemake.threads)
history = finetune(
    train_atoms=read_geometries(snakemake.input.train),
    val_atoms=read_geometries(snakemake.input.validation),
    atom_energies=read_json(snakemake.input.atom_energies)["energies"],
    spec=snakemake.params.spec,
    training=snakemake.params.training,
    seed=int(snakemake.wildcards.seed),
    output=snakemake.output.model,
    log=partial(print, file=sys.stderr, flush=True),
)
pd.DataFrame(history).to_csv(snakemake.output.history, index=False)
