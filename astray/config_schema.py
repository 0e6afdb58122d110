"""The campaign's defaults, read from config/schema.yaml, the one place they are written: Snakemake's
validation fills them into the config, and code handed a spec or a training section by other callers
(benchmarks, tests, a notebook) completes it here rather than with defaults of its own."""

import copy
import functools
from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "config" / "schema.yaml"


@functools.cache
def _schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def defaults(pointer: str) -> dict:
    """The defaults of the schema node at `pointer`, e.g. '$defs/nequip' or 'properties/training'."""
    node = _schema()
    for key in pointer.split("/"):
        node = node[key]
    return {key: copy.deepcopy(prop["default"]) for key, prop in node["properties"].items() if "default" in prop}


def with_defaults(values: dict, pointer: str) -> dict:
    """`values` with every key it lacks taken from the schema's defaults at `pointer`."""
    return {**defaults(pointer), **values}


def model_spec(spec: dict) -> dict:
    """A model spec of the ladder completed with its architecture's defaults."""
    return with_defaults(spec, f"$defs/{spec['architecture']}")


def training_settings(training: dict) -> dict:
    return with_defaults(training, "properties/training")
