"""Every rung of every config astray ships, trained and evaluated for real: each shipped ladder laid over the
default as a user lays it, every distinct spec in it trained for a few epochs on the tiny campaign's
energy-only labels and evaluated into one cube. A shipped spec must not fail only when a user first runs
it (config/workstation.yaml's NequIP once asked for forces the default's labels do not have)."""

import json

import numpy as np
import pytest
import xarray as xr
import yaml
from test_workflow import REPO, TINY_CONFIG, snakemake

from astray.campaign.config_checks import layered_config
from astray.config_schema import model_spec

pytestmark = pytest.mark.workflow

SHIPPED = sorted(path for path in (REPO / "config").glob("*.yaml") if path.name != "schema.yaml")


def shipped_rungs() -> dict:
    """Each distinct model spec of the shipped configs (as laid over config/config.yaml), named after the
    first config and model that hold it, as the spec is written there."""
    rungs = {}
    for path in SHIPPED:
        for name, spec in _ladder(path).items():
            # Completed with the schema's defaults, so a default written out is the same spec.
            rungs.setdefault(json.dumps(model_spec(spec), sort_keys=True), f"{path.stem}_{name}")
    written = {f"{path.stem}_{name}": spec for path in SHIPPED for name, spec in _ladder(path).items()}
    return {name: written[name] for name in rungs.values()}


def _ladder(path) -> dict:
    layers = [REPO / "config" / "config.yaml"] + ([path] if path.name != "config.yaml" else [])
    return layered_config(layers, {})["models"]


@pytest.fixture(scope="module")
def shipped_campaign(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("shipped")
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["models"] = shipped_rungs()
    for spec in config["models"].values():
        if spec["architecture"] in ("nequip", "allegro"):
            # Compiling takes about a minute a model; it is tested on its own (test_paths_workflow, test_nequip).
            spec["compile"] = False
    config["datasets"].update(kinds=["with_distorted"], sizes=[6])
    config["training"]["max_epochs"] = 2
    config["evaluation"]["dynamics"]["steps"] = 0  # each rung's dynamics: the tiny campaign's test
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    # The cube is what this test reads; the plots of each rung are the tiny campaign's test.
    result = snakemake(workdir, config_path, "results/cube.nc")
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir, config["models"]


def test_every_shipped_rung_trains_and_is_evaluated(shipped_campaign):
    workdir, rungs = shipped_campaign
    architectures = {spec["architecture"] for spec in rungs.values()}
    assert {"schnet", "nequip", "allegro", "finetune", "pretrained"} <= architectures
    assert any(spec.get("physics_prior") == "coulomb" for spec in rungs.values())
    assert any(spec.get("charge_aware") for spec in rungs.values())
    cube = xr.load_dataset(workdir / "results/cube.nc")
    assert set(cube.model.values) == set(rungs)
    for name in rungs:
        run = cube.sel(model=name, kind="with_distorted", size=6, seed=0)
        assert np.isfinite(float(run.test_mae)) and int(run.n_parameters) > 0, name
        assert np.isfinite(run.predicted_energy.sel(probe="H2")).all(), name
