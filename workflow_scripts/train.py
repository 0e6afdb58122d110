"""Train one model of the capacity ladder on one nested training set."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.models.loop import run_training_job
from astray.models.schnet_training import train

run_training_job(snakemake, train)
