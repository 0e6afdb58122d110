"""Package a trained NequIP model (nequip-package)."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from functools import partial

from astray.models import nequip

nequip.package(snakemake.input[0], snakemake.output[0], log=partial(print, file=sys.stderr, flush=True))
