"""NequIP and Allegro through nequip's own tools: config, training, resume after kill -9, package (compiling is
the force campaign's test, tests/integration/test_paths_workflow.py)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from astray.io import write_json
from astray.models import nequip
from astray.models.registry import load_predictor

SPEC = {"architecture": "nequip", "num_layers": 2, "num_features": 8, "l_max": 1, "cutoff": 4.0,
        "radial_mlp_depth": 1, "radial_mlp_width": 8, "compile": True}  # fmt: skip
ALLEGRO = {"architecture": "allegro", "num_layers": 1, "num_scalar_features": 8, "num_tensor_features": 4,
           "l_max": 1, "cutoff": 4.0, "mlp_width": 8, "compile": False}  # fmt: skip
TRAINING = {"max_epochs": 6, "patience": 50, "batch_size": 4, "learning_rate": 0.01, "device": "cpu"}
ATOM_ENERGIES = {"H": -13.6, "O": -2040.0}


def labeled(symbols, positions, energy):
    atoms = Atoms(symbols, positions=positions)
    atoms.info.update(geometry_id=f"{symbols}@{positions[1][2]:.2f}", origin="equilibrium")
    forces = np.random.default_rng(len(positions)).normal(size=(len(atoms), 3))
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
    return atoms


def molecules(n):
    """H2, OH and a planar H2O2 at several bond lengths, labeled with Morse-like total energies (eV).
    nequip-compile traces the model on a training molecule of more than three atoms: H2O2 is that one."""
    data = []
    for r in np.linspace(0.6, 2.0, n):
        well = 4.7 * ((1 - np.exp(-1.9 * (r - 0.74))) ** 2 - 1)
        data.append(labeled("H2", [(0, 0, 0), (0, 0, r)], 2 * ATOM_ENERGIES["H"] + well))
        data.append(labeled("OH", [(0, 0, 0), (0, 0, r)], ATOM_ENERGIES["O"] + ATOM_ENERGIES["H"] + 1.1 * well))
        peroxide = [(0.9, 0.6, 0), (0, 0, r), (0, 0, r + 1.45), (-0.9, 0.6, r + 1.45)]
        data.append(labeled("HOOH", peroxide, 2 * sum(ATOM_ENERGIES.values()) + 2 * well))
    return data


def test_config_learns_atomization_energies_with_zero_shifts(tmp_path):
    train_data = nequip.training_data(molecules(3), ATOM_ENERGIES)
    assert train_data[0].get_potential_energy() == pytest.approx(-4.7 * (1 - (1 - np.exp(-1.9 * -0.14)) ** 2), abs=1e-9)
    assert not train_data[0].pbc.any() and train_data[0].cell[0, 0] == nequip.BOX
    config = nequip.nequip_config(SPEC, {**TRAINING, "force_weight": 0.5}, 0, ["H", "O"], "t.xyz", "v.xyz", True)
    model = config["training_module"]["model"]
    assert model["per_type_energy_shifts"] == {"H": 0.0, "O": 0.0}
    assert config["training_module"]["loss"]["coeffs"] == {"total_energy": 1.0, "forces": 0.5}
    energy_only = nequip.nequip_config(SPEC, TRAINING, 0, ["H", "O"], "t.xyz", "v.xyz", True)
    assert energy_only["training_module"]["loss"]["_target_"] == "nequip.train.EnergyOnlyLoss"


def test_killed_training_resumes_then_packages(tmp_path):
    """kill -9 mid-training, restart: nequip continues from last.ckpt and finishes every epoch, and the
    packaged model predicts. (Its compiled model is the force campaign's test, tests/integration.)"""
    data = molecules(6)
    settings = {**TRAINING, "max_epochs": 40}
    script = (
        "import pickle, sys; from astray.models import nequip; "
        "args = pickle.load(open(sys.argv[1], 'rb')); nequip.train(*args, log=lambda m: None)"
    )
    import pickle

    (tmp_path / "args.pkl").write_bytes(
        pickle.dumps((data, data[:4], ATOM_ENERGIES, SPEC, settings, 0, tmp_path / "run"))
    )
    job = subprocess.Popen([sys.executable, "-c", script, tmp_path / "args.pkl"], start_new_session=True)
    metrics = tmp_path / "run" / "metrics.csv"
    deadline = time.time() + 240
    while not (metrics.exists() and (tmp_path / "run" / "last.ckpt").exists() and _epochs_logged(metrics) >= 3):
        assert job.poll() is None and time.time() < deadline, "training ended or stalled before it could be killed"
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)  # the whole job: Python and its nequip-train child
    job.wait()
    killed_at = _epochs_logged(metrics)
    assert killed_at < settings["max_epochs"]

    messages = []
    best = nequip.train(data, data[:4], ATOM_ENERGIES, SPEC, settings, 0, tmp_path / "run", log=messages.append)
    assert messages[0].startswith("resuming from")
    assert any("Continuing training with checkpoint" in m for m in messages)
    epochs = [e["epoch"] for e in nequip.history(tmp_path / "run")]
    assert epochs == list(range(1, settings["max_epochs"] + 1))

    nequip.package(best, tmp_path / "model.nequip.zip", log=lambda m: None)
    write_json(tmp_path / "summary.json", nequip.summary(tmp_path / "run", SPEC, len(data)))
    packaged = load_predictor(tmp_path / "model.nequip.zip", "nequip")
    assert np.isfinite(packaged.energies(molecules(4))).all()
    assert packaged.info["n_parameters"] > 0 and packaged.info["architecture"] == "nequip"


def test_energy_only_labels_train(tmp_path):
    """astray's default labels have no forces (labels.forces: false); nequip's common statistics ask for
    them (KeyError: 'forces'), so energy-only data take its energy-only statistics and train."""
    data = molecules(3)
    for atoms in data:
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy())
    nequip.train(data, data[:2], ATOM_ENERGIES, SPEC, {**TRAINING, "max_epochs": 2}, 0, tmp_path, log=lambda m: None)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["data"]["stats_manager"]["_target_"] == "nequip.data.EnergyOnlyDataStatisticsManager"
    assert config["training_module"]["loss"]["_target_"] == "nequip.train.EnergyOnlyLoss"
    assert [e["epoch"] for e in nequip.history(tmp_path)] == [1, 2]


def test_changed_config_does_not_resume_a_stale_run(tmp_path):
    data = molecules(3)
    nequip.train(data, data[:2], ATOM_ENERGIES, SPEC, {**TRAINING, "max_epochs": 2}, 0, tmp_path, log=lambda m: None)
    messages = []
    nequip.train(data, data[:2], ATOM_ENERGIES, SPEC, {**TRAINING, "max_epochs": 3, "learning_rate": 0.02}, 0,
                 tmp_path, species=["F", "H", "O"], log=messages.append)  # fmt: skip
    assert not any(m.startswith("resuming") for m in messages)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["trainer"]["max_epochs"] == 3
    # The campaign's elements, not only the training set's: a test molecule with F still has a type.
    assert config["training_module"]["model"]["type_names"] == ["F", "H", "O"]
    assert [e["epoch"] for e in nequip.history(tmp_path)] == [1, 2, 3]


def test_allegro_trains_on_energies_alone_packages_and_keeps_free_atoms_at_zero(tmp_path):
    """An Allegro rung: nequip-train builds AllegroModel from the rung's spec, with the shifts and statistics
    NequIP gets; packaged, it predicts through the same calculator, a free atom (or two far apart) at 0 eV."""
    config = nequip.nequip_config(ALLEGRO, TRAINING, 0, ["H", "O"], "t.xyz", "v.xyz", False)
    model = config["training_module"]["model"]
    assert model["_target_"] == "allegro.model.AllegroModel" and model["num_tensor_features"] == 4
    assert model["radial_chemical_embed"]["num_bessels"] == 8  # the schema's default, filled in
    assert model["per_type_energy_shifts"] == {"H": 0.0, "O": 0.0} and "num_features" not in model
    data = molecules(4)
    for atoms in data:
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy())
    run = tmp_path / "run"
    settings = {**TRAINING, "max_epochs": 3}
    best = nequip.train(data, data[:3], ATOM_ENERGIES, ALLEGRO, settings, 0, run, log=lambda m: None)
    assert [e["epoch"] for e in nequip.history(run)] == [1, 2, 3]
    write_json(run / "summary.json", nequip.summary(run, ALLEGRO, len(data)))
    nequip.package(best, run / "model.nequip.zip", log=lambda m: None)
    predictor = load_predictor(run / "model.nequip.zip", "allegro")
    assert predictor.info["architecture"] == "allegro" and predictor.info["n_parameters"] > 0
    apart = Atoms("H2", positions=[(0, 0, 0), (0, 0, 2 * ALLEGRO["cutoff"])])
    energies = predictor.energies([Atoms("H"), Atoms("O"), apart, data[0]])
    assert np.allclose(energies[:3], 0.0, atol=1e-6) and abs(energies[3]) > 1e-3


def _epochs_logged(metrics) -> int:
    lines = metrics.read_text().splitlines()[1:]
    return len({line.split(",")[0] for line in lines if line})
