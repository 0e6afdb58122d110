"""The architecture registry: every architecture a spec can name has one entry, and the files it names are
those the rules write."""

from pathlib import Path

import yaml

from astray.models.registry import ARCHITECTURES, model_path, summary_path

REPO = Path(__file__).resolve().parents[2]
RUN = {"kind": "equilibrium", "seed": 0, "size": 32, "model": "m"}


def test_every_architecture_the_schema_accepts_has_one_entry():
    schema = yaml.safe_load((REPO / "config/schema.yaml").read_text())
    models = schema["properties"]["models"]["additionalProperties"]
    accepted = models["properties"]["architecture"]["enum"]
    with_a_spec = {branch["if"]["properties"]["architecture"]["const"] for branch in models["allOf"]}
    assert set(accepted) == with_a_spec == set(ARCHITECTURES)


def test_evaluation_reads_the_files_the_training_rules_write():
    """Each architecture's model file is an output of the rule that makes it (rules/*.smk read as text)."""
    rules = "".join(path.read_text() for path in (REPO / "rules").glob("*.smk"))
    run = "results/models/equilibrium/seed0/n32/m"
    assert model_path({"architecture": "schnet"}, **RUN) == f"{run}/model.pt"
    assert model_path({"architecture": "nequip", "compile": True}, **RUN) == f"{run}/model.nequip.pt2"
    assert model_path({"architecture": "nequip", "compile": False}, **RUN) == f"{run}/model.nequip.zip"
    assert model_path({"architecture": "allegro", "compile": False}, **RUN) == f"{run}/model.nequip.zip"
    assert model_path({"architecture": "mace"}, **RUN) == f"{run}/calculator.json"
    assert model_path({"architecture": "external"}, **RUN) == f"{run}/calculator.json"
    assert model_path({"architecture": "finetune"}, **RUN) == f"{run}/model.sevennet.pt"
    assert model_path({"architecture": "pretrained"}, **RUN) == "results/pretrained/m/predictions.json"
    for written in ('f"{RUN}/model.pt"', 'f"{RUN}/model.nequip.pt2"', 'f"{RUN}/model.nequip.zip"',
                    'f"{RUN}/model.sevennet.pt"', 'f"{RUN}/calculator.json"', 'f"{PRETRAINED_FOLDER}/predictions.json"',
                    'f"{RUN}/summary.json"'):  # fmt: skip
        assert written in rules, written
    assert summary_path({"architecture": "nequip"}, **RUN) == [f"{run}/summary.json"]
    assert summary_path({"architecture": "schnet"}, **RUN) == []
