"""Train one model of the capacity ladder on one nested training set."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.training import run_training_job, train

run_training_job(snakemake, train)
