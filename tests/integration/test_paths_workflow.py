"""The paths the tiny campaign does not take, in one real run of the workflow: labels with forces and
energy+force training of every architecture astray trains (SchNet, NequIP, Allegro, MACE, MACE again by its
command line as an external rung, and SevenNet-0 fine-tuned), NequIP compiled ahead of time for evaluation, and the
probe itself (H2) in the training data."""

import json

import numpy as np
import pytest
import torch
import xarray as xr
import yaml
from test_workflow import TINY_CONFIG, snakemake

from astray.io import read_geometries
from astray.models.registry import load_predictor

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def force_campaign(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("forces")
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["geometries"]["sources"]["ase"]["names"].append("H2")
    config["geometries"]["include_probe"] = True
    config["labels"]["forces"] = True
    config["training"]["force_weight"] = 0.1
    config["datasets"].update(kinds=["equilibrium"], sizes=[6])
    config["evaluation"]["dynamics"]["steps"] = 0  # dynamics are the tiny campaign's test
    nequip = {**config["models"]["tiny_nequip"], "compile": True}
    trained = ("tiny_a", "tiny_allegro", "tiny_mace", "tiny_external", "sevennet_tuned")
    config["models"] = {name: config["models"][name] for name in trained} | {"tiny_nequip": nequip}
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    result = snakemake(workdir, config_path, "results/cube.nc")  # the plots are the tiny campaign's test
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


def test_energy_and_force_training_gives_every_model_a_force_error(force_campaign):
    cube = xr.load_dataset(force_campaign / "results/cube.nc")
    forces = cube.test_force_mae.sel(kind="equilibrium", size=6)
    assert np.isfinite(forces).all() and (forces > 0).all()
    labeled = read_geometries(force_campaign / "results/labels/labeled.extxyz")
    assert all("forces" in atoms.calc.results for atoms in labeled)
    run = force_campaign / "results/models/equilibrium/seed0/n6/tiny_nequip"
    nequip_config = yaml.safe_load((run / "nequip/config.yaml").read_text())
    assert nequip_config["training_module"]["loss"]["coeffs"] == {"total_energy": 1.0, "forces": 0.1}
    assert nequip_config["data"]["stats_manager"]["_target_"] == "nequip.data.CommonDataStatisticsManager"
    allegro_config = yaml.safe_load((run.with_name("tiny_allegro") / "nequip/config.yaml").read_text())
    assert allegro_config["training_module"]["model"]["_target_"] == "allegro.model.AllegroModel"
    assert allegro_config["training_module"]["loss"]["coeffs"] == {"total_energy": 1.0, "forces": 0.1}
    schnet = load_predictor(force_campaign / "results/models/equilibrium/seed0/n6/tiny_a/model.pt", "schnet")
    assert schnet.info["force_weight"] == 0.1
    tuned = torch.load(run.with_name("sevennet_tuned") / "model.sevennet.pt", weights_only=False)
    assert tuned["force_weight"] == 0.1
    assert "train_force_rmse_eV_per_A" in (run.with_name("sevennet_tuned") / "history.csv").read_text()
    # MACE's weighted loss with astray's force weight, by astray's MACE module and by a template's {force_weight}.
    for model, folder in (("tiny_mace", "mace"), ("tiny_external", "external")):
        command = json.loads((run.with_name(model) / folder / "command.json").read_text())
        assert "--forces_weight=0.1" in command, model


def test_nequip_is_evaluated_through_its_compiled_model_which_predicts_what_the_packaged_one_does(force_campaign):
    run = force_campaign / "results/models/equilibrium/seed0/n6/tiny_nequip"
    assert (force_campaign / "results/logs/models/equilibrium/seed0/n6/tiny_nequip/model.nequip.pt2.log").exists()
    compiled, packaged = (load_predictor(run / name, "nequip") for name in ("model.nequip.pt2", "model.nequip.zip"))
    holdout = read_geometries(force_campaign / "results/datasets/test.extxyz")
    assert np.allclose(compiled.energies(holdout), packaged.energies(holdout), atol=1e-4)
    assert np.allclose(np.concatenate(compiled.forces(holdout)), np.concatenate(packaged.forces(holdout)), atol=1e-4)


def test_the_probe_in_the_training_data_is_recorded(force_campaign):
    cube = xr.load_dataset(force_campaign / "results/cube.nc")
    assert cube.attrs["probe_in_training_data"] == 1
    pool = read_geometries(force_campaign / "results/geometries/pool.extxyz")
    assert any(atoms.get_chemical_formula() == "H2" for atoms in pool)
