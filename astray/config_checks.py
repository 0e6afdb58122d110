"""What the user hands Snakemake beside the config's values: the YAML files themselves, how they are laid
over one another, and the profile's resource requests. Each failure is one line naming the file or key."""

import copy
from pathlib import Path

import yaml

# Rules that can use a GPU: training, fine-tuning and a pretrained potential's inference. Everything else
# (labeling with PySCF or Psi4, packaging, compiling for CPU evaluation, evaluation itself) runs on CPUs.
GPU_RULES = ("train", "train_nequip", "train_finetune", "predict_pretrained")
GPU_RESOURCES = ("gpu", "gpus", "gres", "gpu_model", "gpu_manufacturer", "nvidia_gpu")


class ConfigFileError(ValueError):
    """A config file or profile setting that would be silently misread."""


MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping, instead of keeping the last silently (two models
    with one name would otherwise train only one of them)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue  # `<<: *anchor` copies another mapping's keys; a key given beside it overrides them
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigFileError(
                    f"key '{key}' appears twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1})"
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def load_config_file(path) -> dict:
    try:
        return yaml.load(Path(path).read_text(), Loader=_StrictLoader) or {}
    except ConfigFileError as error:
        raise ConfigFileError(f"{path}: {error}") from None


def check_config_files(paths) -> None:
    for path in paths:
        load_config_file(path)


# Named collections: what a campaign file lists under one of these is the whole collection (the models it
# trains, the sources and distortions it uses), not an addition to the default campaign's.
COLLECTIONS = ("models", "geometries.sources", "geometries.distortions")
EXTEND_KEY = "extend"


def layered_config(files, command_line: dict) -> dict:
    """The campaign the config files describe, applied in order: each file's settings override the earlier
    files' key by key, but a collection it gives replaces theirs whole, unless the file lists that
    collection under `extend:` (then its entries join, and change, the earlier ones). `--config` values on
    the command line go last, key by key, as Snakemake applies them."""
    config = {}
    for path in files:
        layer = load_config_file(path)
        extended = _extended_collections(layer, path)
        for dotted in COLLECTIONS:
            if dotted not in extended and _get(layer, dotted) is not None:
                _drop(config, dotted)
        _merge(config, layer)
    _merge(config, copy.deepcopy(dict(command_line)))
    return config


def _extended_collections(layer: dict, path) -> list:
    extended = layer.pop(EXTEND_KEY, [])
    if not isinstance(extended, list) or any(name not in COLLECTIONS for name in extended):
        raise ConfigFileError(
            f"{path}: {EXTEND_KEY}: {extended!r} must list collections to add to rather than replace, "
            f"out of {', '.join(COLLECTIONS)}"
        )
    return extended


def _get(config: dict, dotted: str):
    """The mapping at a dotted key ('geometries.sources'), the config itself at ''; None if there is none."""
    value = config
    for key in filter(None, dotted.split(".")):
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else None


def _drop(config: dict, dotted: str) -> None:
    *parents, name = dotted.split(".")
    parent = _get(config, ".".join(parents))
    if parent is not None:
        parent.pop(name, None)


def _merge(base: dict, layer: dict) -> None:
    """Snakemake's merge of config files: mappings key by key, anything else replaced whole."""
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def applied_order(config_files, command_line_files) -> list:
    """The config files in the order Snakemake applies them: the Snakefile's `configfile:` first, then the
    command line's `--configfile` files over it, in their order (Snakemake lists the command line's first)."""
    given = {str(path) for path in command_line_files}
    return [p for p in config_files if str(p) not in given] + [p for p in config_files if str(p) in given]


def check_gpu_requests(rule_resources: dict, default_resources) -> None:
    """A GPU asked for where astray cannot use one wastes allocation: refuse it before submitting."""
    for key in _gpu_keys(default_resources):
        raise ConfigFileError(
            f"profile: default-resources asks every job for a GPU ('{key}'); ask for it under set-resources "
            f"of {', '.join(GPU_RULES)} only"
        )
    for rule, resources in rule_resources.items():
        if rule not in GPU_RULES and _gpu_keys(resources):
            raise ConfigFileError(
                f"profile: set-resources.{rule} asks for a GPU ('{_gpu_keys(resources)[0]}'), but {rule} runs on "
                f"CPUs only; GPUs help the rules that run models ({', '.join(GPU_RULES)})"
            )


def _gpu_keys(resources) -> list[str]:
    if resources is None:
        return []
    return [key for key in resources if key in GPU_RESOURCES]
