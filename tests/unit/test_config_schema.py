"""Defaults are written once, in config/schema.yaml: code handed a partial spec completes it from there, and
no module keeps a default of its own for a key the schema defaults."""

import re
from pathlib import Path

from astray.config_schema import defaults, model_spec
from astray.models import nequip

PACKAGE = Path(__file__).resolve().parents[2] / "astray"
SECTIONS = [
    "$defs/schnet",
    "$defs/nequip",
    "$defs/pretrained",
    "properties/training",
    "properties/labels",
    "properties/datasets",
    "properties/evaluation",
]


def test_a_partial_nequip_spec_is_configured_with_the_schemas_defaults():
    spec = {"architecture": "nequip", "num_layers": 2, "num_features": 16, "l_max": 1, "cutoff": 5.0}
    training = {"max_epochs": 3, "patience": 2, "batch_size": 4, "learning_rate": 1e-3}
    model = nequip.nequip_config(spec, training, 0, ["H"], "t.xyz", "v.xyz", False)["training_module"]["model"]
    assert model["radial_mlp_width"] == defaults("$defs/nequip")["radial_mlp_width"] == 32
    assert model_spec(spec)["compile"] is True and model_spec({**spec, "compile": False})["compile"] is False


def test_no_module_repeats_a_default_of_the_schemas_model_or_training_keys():
    keys = sorted({key for section in SECTIONS for key in defaults(section)})
    pattern = re.compile(r"\.get\(\s*[\"'](" + "|".join(keys) + r")[\"']\s*,")
    repeated = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not repeated, "defaults belong in config/schema.yaml (astray.config_schema):\n" + "\n".join(repeated)
