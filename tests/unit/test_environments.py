"""The conda environments of the rules (envs/, for `--use-conda`) pin what requirements.txt pins: a rule
run in its own environment computes with the versions the tests ran."""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)$")


def pins(lines) -> dict:
    return {m.group(1).lower(): m.group(2) for line in lines if (m := PIN.match(line.split("#")[0].strip()))}


REQUIRED = pins((REPO / "requirements.txt").read_text().splitlines())


def pip_section(env: Path) -> list:
    dependencies = yaml.safe_load(env.read_text())["dependencies"]
    return next((item["pip"] for item in dependencies if isinstance(item, dict) and "pip" in item), [])


@pytest.mark.parametrize("env", sorted((REPO / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_environment_pins_what_requirements_pin(env):
    """MACE's environment against its own requirements (envs/mace-requirements.txt, what .venv-mace holds)."""
    source = REPO / "envs/mace-requirements.txt" if env.name == "mace.yaml" else REPO / "requirements.txt"
    required = pins(source.read_text().splitlines())
    pinned = pins(pip_section(env))
    assert len(pinned) == len(pip_section(env)), f"{env.name}: every pip package is pinned with =="
    different = {
        name: (version, required.get(name)) for name, version in pinned.items() if required.get(name) != version
    }
    assert not different, f"{env.name} pins differ from {source.name} (env, requirements): {different}"


def test_the_ml_environment_has_every_model_package():
    """Training and evaluation of every architecture run in envs/ml.yaml: SchNet, NequIP, SevenNet."""
    pinned = pins(pip_section(REPO / "envs" / "ml.yaml"))
    assert {"torch", "torch-geometric", "nequip", "e3nn", "lightning", "sevenn", "ase"} <= set(pinned)
