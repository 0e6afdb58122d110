"""Faults that must never cost finished work or leave a corrupt file where a reader finds it."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr
from ase import Atoms

from astray.evaluation.cube import write_netcdf
from astray.io import ResultWriteError, check_writable, write_geometries, write_json
from astray.labels import labeling as labels
from astray.labels.engines import get_engine
from astray.labels.labeling import Level, label_chunk, quarantine_summary
from astray.report.tables import quarantine_table

WRITER = """
import sys
import numpy as np
import xarray as xr
from astray.evaluation.cube import write_netcdf
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


class FaultyEngine:
    """The real PySCF engine, except that it returns a NaN energy for one geometry and raises for another,
    as a numerical blow-up or a crash inside an engine would."""

    def __init__(self, nan_geometry: str, crashing_geometry: str):
        self.real = get_engine("pyscf")
        self.nan_geometry, self.crashing_geometry = nan_geometry, crashing_geometry

    def __getattr__(self, name):
        return getattr(self.real, name)

    def compute(self, atoms, level, **options):
        if atoms.info["geometry_id"] == self.crashing_geometry:
            raise RuntimeError("integral screening failed")
        solution = self.real.compute(atoms, level, **options)
        if atoms.info["geometry_id"] == self.nan_geometry:
            solution.energy = float("nan")
        return solution


def hydrogen(distance):
    atoms = Atoms("H2", positions=[(0, 0, 0), (0, 0, distance)])
    atoms.info.update(charge=0, multiplicity=1, geometry_id=f"H2@{distance}")
    return atoms


def test_a_nan_or_a_crash_inside_the_engine_is_quarantined_counted_and_the_chunk_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(labels, "get_engine", lambda name: FaultyEngine("H2@0.8", "H2@0.9"))
    scan = [hydrogen(d) for d in (0.7, 0.8, 0.9, 1.0)]
    labeled, quarantined = label_chunk(scan, Level("hf", "sto-3g"), tmp_path / "p.jsonl", log=lambda *_: None)

    assert [a.info["geometry_id"] for a in labeled] == ["H2@0.7", "H2@1.0"]
    summary = quarantine_summary(quarantined)
    assert summary["count_by_reason"] == {
        "LabelFailure: non-finite energy or forces": 1,
        "RuntimeError: integral screening failed": 1,
    }
    assert quarantine_table(summary).geometries.tolist() == [1, 1]  # the report's quarantine table
    write_geometries(tmp_path / "labeled.extxyz", labeled)
    assert "nan" not in (tmp_path / "labeled.extxyz").read_text().lower()


def test_a_full_disk_leaves_the_previous_file_and_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "results" / "labels" / "labeled.extxyz"
    write_geometries(path, [hydrogen(0.7)])
    before = path.read_bytes()
    # The temporary file is the kernel's always-full device: every write fails with ENOSPC, for real.
    path.with_name(path.name + ".tmp").symlink_to("/dev/full")
    with pytest.raises(ResultWriteError) as error:
        write_geometries(path, [hydrogen(0.8)])
    assert f"cannot write {path}: No space left on device. The disk holding it is full" in str(error.value)
    assert path.read_bytes() == before
    assert list(path.parent.iterdir()) == [path]  # nothing half-written beside it either


def test_an_unwritable_results_folder_names_the_file_and_leaves_nothing(unwritable_results):
    path = unwritable_results / "quarantine.json"
    with pytest.raises(ResultWriteError) as error:
        write_json(path, {"geometries": []})
    assert f"cannot write {path}: " in str(error.value) and "You may not write there" in str(error.value)
    with pytest.raises(ResultWriteError, match="You may not write there"):
        check_writable(unwritable_results / "labels")  # the check the workflow makes before planning
    assert list(unwritable_results.iterdir()) == []


def test_a_quarantined_geometry_is_replaced_by_the_next_one_asked_for_and_each_is_computed_once(tmp_path, monkeypatch):
    """label_until_settled: what a training set or a committee round needs, labeled until it is complete."""
    from astray.labels.labeling import label_until_settled

    monkeypatch.setattr(labels, "get_engine", lambda name: FaultyEngine("H2@0.8", "H2@0.9"))
    scan = [hydrogen(d) for d in (0.7, 0.8, 0.9, 1.0, 1.1)]
    asked = []

    def first_three_that_work(failed):
        wanted = [frame for frame in range(len(scan)) if frame not in failed][:3]
        asked.append(wanted)
        return wanted

    read = lambda frames: [scan[frame].copy() for frame in frames]  # noqa: E731
    labeled, failed = label_until_settled(first_three_that_work, read, Level("hf", "sto-3g"), tmp_path / "p.jsonl",
                                          log=lambda *_: None)  # fmt: skip
    assert sorted(labeled) == [0, 3, 4] and sorted(failed) == [1, 2]
    assert failed[2]["reason"] == "RuntimeError: integral screening failed"
    assert asked == [[0, 1, 2], [0, 3, 4], [0, 3, 4]]  # two failures, two replacements, then settled
    assert labeled[3].info["geometry_id"] == "H2@1.0" and np.isfinite(labeled[3].get_potential_energy())
