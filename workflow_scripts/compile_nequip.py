"""Compile a packaged NequIP model ahead of time for the ASE calculator (nequip-compile, AOTInductor)."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import os
from functools import partial

from astray.models import nequip

os.environ["OMP_NUM_THREADS"] = str(snakemake.threads)
nequip.compile_model(snakemake.input[0], snakemake.output[0], log=partial(print, file=sys.stderr, flush=True))
