"""Fine-tune a pretrained SevenNet on one nested training set."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from astray.models.finetune import finetune
from astray.models.loop import run_training_job

run_training_job(snakemake, finetune)
