"""MACE through its own command line, in its own environment: the command, real training on energies alone
and on forces, a killed run resumed from its checkpoint, and predictions through its ASE calculator in a
worker process (free atoms at exactly zero)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from test_nequip import ATOM_ENERGIES, molecules

from astray.io import write_json
from astray.models import mace
from astray.models.registry import load_predictor

SPEC = {"architecture": "mace", "num_channels": 8, "max_L": 0, "cutoff": 4.0, "num_interactions": 2,
        "correlation": 2}  # fmt: skip
TRAINING = {"max_epochs": 4, "patience": 50, "batch_size": 4, "learning_rate": 0.01, "device": "cpu"}


@pytest.fixture(scope="module")
def python():
    """MACE's environment, built as a campaign with a MACE rung builds it (at once if test.sh did)."""
    subprocess.run(["bash", str(mace.REPO / "scripts/setup-mace-env.sh")], check=True, timeout=1200)
    return mace.PYTHON


def energy_only(data):
    for atoms in data:
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy())
    return data


def test_command_holds_every_element_at_zero_and_drops_forces_without_them():
    arguments = mace.command("/env/bin/python", SPEC, {**TRAINING, "force_weight": 0.5}, 3, ["F", "H", "O"],
                             "t.extxyz", "v.extxyz", 3, False, "cpu")  # fmt: skip
    flags = dict(a.removeprefix("--").split("=", 1) for a in arguments[1:] if "=" in a)
    assert arguments[0] == "/env/bin/mace_run_train" and "--restart_latest" in arguments
    assert flags["E0s"] == "{1: 0.0, 8: 0.0, 9: 0.0}" and flags["atomic_numbers"] == "[1, 8, 9]"
    assert float(flags["forces_weight"]) == 0.0 and flags["seed"] == "3" and flags["correlation"] == "2"
    assert flags["default_dtype"] == "float64" and flags["num_radial_basis"] == "8"  # the schema's defaults
    assert flags["batch_size"] == "3"  # MACE drops an incomplete batch: never larger than the training set


def test_energy_only_training_predicts_through_the_calculator_with_free_atoms_at_zero(python, tmp_path):
    data = energy_only(molecules(4))
    run = tmp_path / "run"
    model = mace.train(data, data[:3], ATOM_ENERGIES, SPEC, TRAINING, 0, run / "mace", python, log=lambda m: None)
    assert model.exists() and [e["epoch"] for e in mace.history(run / "mace")] == [1, 2, 3, 4]
    write_json(run / "calculator.json", mace.recipe(run / "mace", SPEC, python, len(data), 1.0))
    predictor = load_predictor(run / "calculator.json", "mace")
    assert predictor.info["architecture"] == "mace" and predictor.info["n_parameters"] > 0
    apart = Atoms("H2", positions=[(0, 0, 0), (0, 0, 2 * SPEC["cutoff"])])
    energies = predictor.energies([Atoms("H"), Atoms("O"), apart, data[2]])
    assert np.allclose(energies[:3], 0.0, atol=1e-9) and abs(energies[3]) > 1e-3
    # Forces are minus the energy's gradient: a central difference along one coordinate of H2O2.
    peroxide, step = data[2].copy(), 1e-4
    (forces,) = predictor.forces([peroxide])
    moved = [peroxide.copy(), peroxide.copy()]
    moved[0].positions[1, 2] += step
    moved[1].positions[1, 2] -= step
    plus, minus = predictor.energies(moved)
    assert forces[1, 2] == pytest.approx(-(plus - minus) / (2 * step), abs=1e-4)


def test_killed_force_training_resumes_from_its_checkpoint(python, tmp_path):
    """kill -9 mid-training, restart: mace_run_train continues from its latest checkpoint, trains on forces
    (force_weight > 0 in its command), and the history runs to max_epochs without starting over."""
    data = molecules(6)
    settings = {**TRAINING, "max_epochs": 40, "force_weight": 0.1}
    script = ("import pickle, sys; from astray.models import mace; "
              "args = pickle.load(open(sys.argv[1], 'rb')); mace.train(*args, log=lambda m: None)")  # fmt: skip
    import pickle

    workdir = tmp_path / "run" / "mace"
    (tmp_path / "args.pkl").write_bytes(
        pickle.dumps((data, data[:4], ATOM_ENERGIES, SPEC, settings, 0, workdir, python))
    )
    job = subprocess.Popen([sys.executable, "-c", script, tmp_path / "args.pkl"], start_new_session=True)
    deadline = time.time() + 300
    # mace_run_train checkpoints an epoch only when its validation loss improves, and a resumed run retrains
    # the checkpoint's epoch; a checkpoint past epoch 0 tells continuing from starting over.
    while not (_latest_checkpoint(workdir) >= 1 and len(_epochs(workdir)) >= 3):
        assert job.poll() is None and time.time() < deadline, "training ended or stalled before it could be killed"
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    killed_at, checkpoint = len(_epochs(workdir)), _latest_checkpoint(workdir)
    assert killed_at < settings["max_epochs"]
    messages = []
    mace.train(data, data[:4], ATOM_ENERGIES, SPEC, settings, 0, workdir, python, log=messages.append)
    assert any(m.startswith("resuming from the latest checkpoint") for m in messages)
    assert [e["epoch"] for e in mace.history(workdir)] == list(range(1, settings["max_epochs"] + 1))
    # Continued, not started over: the resumed attempt's first epoch is the checkpoint's (mace_run_train
    # counts epochs from 0), and epoch 0 was evaluated once, by the killed attempt.
    killed, resumed = _attempts(workdir)
    assert resumed[0] == checkpoint and killed.count(0) == 1 and 0 not in resumed
    assert any("Loading checkpoint" in m for m in messages)  # mace_run_train's own word
    assert "--forces_weight=0.1" in json.loads((workdir / "command.json").read_text())


def _epochs(workdir) -> list:
    try:
        return mace.history(workdir)
    except (FileNotFoundError, ValueError):  # a line half written at the moment of reading
        return []


def _latest_checkpoint(workdir) -> int:
    """The epoch of the newest checkpoint (-1 if none); mace_run_train names them *_epoch-E.pt."""
    epochs = [int(path.stem.rsplit("epoch-", 1)[1]) for path in (workdir / "checkpoints").glob("*_epoch-*.pt")]
    return max(epochs, default=-1)


def _attempts(workdir) -> list[list[int]]:
    """The evaluated epochs of each start of mace_run_train; each start first logs an evaluation of epoch null."""
    (results,) = (workdir / "results").glob("*_train.txt")
    attempts = []
    for line in results.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("mode") != "eval":
            continue
        if entry["epoch"] is None:
            attempts.append([])
        else:
            attempts[-1].append(entry["epoch"])
    return attempts
