"""Faults that must never cost finished work or leave a corrupt file where a reader finds it."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import xarray as xr

from astray.cube import write_netcdf

WRITER = """
import sys
import numpy as np
import xarray as xr
from astray.cube import write_netcdf
big = xr.Dataset({"energy": (("model", "distance"), np.ones((4000, 20000)))})
write_netcdf(big, sys.argv[1], "a cube too large to write before the kill")
"""


def test_killing_the_cube_writer_leaves_the_previous_cube_intact(tmp_path):
    """kill -9 while a new cube is being written: the last complete cube is still the one readers see."""
    path = tmp_path / "cube.nc"
    write_netcdf(xr.Dataset({"energy": ("distance", np.arange(3.0))}), path, "the previous cube")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    temporary = path.with_name(path.name + ".tmp")
    deadline = time.time() + 60
    while not (temporary.exists() and temporary.stat().st_size > 0):
        assert writer.poll() is None and time.time() < deadline, "the writer finished before it could be killed"
        time.sleep(0.01)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    with xr.open_dataset(path) as cube:
        assert cube.energy.values.tolist() == [0.0, 1.0, 2.0]
        assert "the previous cube" in cube.attrs["history"]
