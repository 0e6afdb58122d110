"""The paths the tiny campaign does not take, in one real run of the workflow: labels with forces and
energy+force training of every architecture astray trains (SchNet, NequIP, SevenNet-0 fine-tuned, and the MLIPs
the tiny campaign leaves out: Allegro, MACE, MACE again by its command line as an external rung), each model's
molecular dynamics, NequIP compiled ahead of time for evaluation, and the probe itself (H2) in the training data."""

import json

import numpy as np
import pytest
import torch
import xarray as xr
import yaml
from test_workflow import REPO, TINY_CONFIG, snakemake

from astray.io import read_geometries
from astray.models.registry import load_predictor

pytestmark = pytest.mark.workflow

OTHER_MLIPS = REPO / "tests" / "config" / "other_mlips.yaml"


@pytest.fixture(scope="module")
def force_campaign(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("forces")
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["geometries"]["sources"]["ase"]["names"].append("H2")
    config["geometries"]["include_probe"] = True
    config["labels"]["forces"] = True
    config["training"]["force_weight"] = 0.1
    config["datasets"].update(kinds=["equilibrium"], sizes=[6])
    nequip = {**config["models"]["tiny_nequip"], "compile": True}
    trained = {name: config["models"][name] for name in ("tiny_a", "sevennet_tuned")}
    config["models"] = trained | {"tiny_nequip": nequip} | yaml.safe_load(OTHER_MLIPS.read_text())["models"]
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


def test_allegro_mace_and_a_command_line_rung_are_families_of_their_own_with_free_atoms_at_zero(force_campaign):
    cube = xr.load_dataset(force_campaign / "results/cube.nc").sel(kind="equilibrium", size=6, seed=0)
    # Allegro, trained by nequip-train like NequIP: its own family, a best epoch of its own.
    allegro = cube.sel(model="tiny_allegro")
    assert str(allegro.model_architecture.values) == "allegro" and int(allegro.best_epoch) >= 1
    # nequip-train's runs report their epochs and time, as astray's own do.
    nequip_runs = cube.sel(model=["tiny_nequip", "tiny_allegro"])
    assert (nequip_runs.train_epochs >= nequip_runs.best_epoch).all() and (nequip_runs.train_seconds > 0).all()
    # MACE from scratch by mace_run_train in its own environment, read through its calculator there.
    mace = cube.sel(model="tiny_mace")
    assert str(mace.model_architecture.values) == "mace" and int(mace.train_epochs) >= 1
    # MACE again, by its command line as an external rung (no astray code of its own): a family of its own,
    # free atoms at zero from its {isolated_atoms} E0s, no epochs astray could read.
    cli = cube.sel(model="tiny_external")
    assert str(cli.model_architecture.values) == "external:mace" and np.isnan(cli.train_epochs)
    others = cube.sel(model=["tiny_allegro", "tiny_mace", "tiny_external"])
    assert (others.free_atom_energy_max < 1e-6).all() and (others.n_parameters > 0).all()
    assert np.isfinite(others.test_mae).all() and (others.train_seconds > 0).all()
    # None is told a charge, so two protons are H2 to them but for the free atoms' shift (the paper's finding).
    shift = float(cube.fragment_shift.sel(probe="H2_2plus"))
    protons_as_h2 = others.predicted_energy.sel(probe="H2_2plus") - shift
    assert np.allclose(protons_as_h2, others.predicted_energy.sel(probe="H2"), atol=1e-5)


def test_every_model_ran_its_dynamics(force_campaign):
    cube = xr.load_dataset(force_campaign / "results/cube.nc")
    assert cube.sizes["md_molecule"] == 2 and np.isfinite(cube.md_time_intact).all()
    assert (cube.md_time_intact > 0).all() and ((cube.md_intact == 1) == (cube.md_first_change == "")).all()


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
