"""What the user hands Snakemake beside the config's values: the YAML files themselves, how they are laid
over one another, and the profile's resource requests. Each failure is one line naming the file or key."""

import ast
import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import yaml

# Rules that can use a GPU: training, fine-tuning and a pretrained potential's inference. Everything else
# (labeling with PySCF or Psi4, packaging, compiling for CPU evaluation, evaluation itself) runs on CPUs.
GPU_RULES = ("train", "train_nequip", "train_finetune", "train_mace", "train_external", "predict_pretrained")
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


# SLURM never starts a job that asks for more than any node of its partition has: it stays pending
# (reason PartitionConfig) while Snakemake waits without a word. Compare the profile with sinfo first.


class Node(NamedTuple):
    """The largest node of a partition, in what a job asks for."""

    cpus: int
    memory_mb: int
    gpus: int


def slurm_partitions() -> tuple:
    """({partition: largest Node}, default partition) from this machine's sinfo; ({}, None) where there is
    no sinfo or no controller answers (planning on a laptop, or off the cluster)."""
    if shutil.which("sinfo") is None:
        return {}, None
    try:
        result = subprocess.run(["sinfo", "-N", "-h", "-o", "%P|%c|%m|%G"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return {}, None
    if result.returncode != 0:
        return {}, None
    return parse_sinfo(result.stdout)


def parse_sinfo(text: str) -> tuple:
    """One line per node and partition, `partition|cpus|memory MB|gres`; the default partition is starred."""
    partitions, default = {}, None
    for line in text.splitlines():
        name, cpus, memory, gres = line.strip().split("|")
        if name.endswith("*"):
            name = default = name[:-1]
        gpus = sum(int(count) for count in re.findall(r"gpu(?::[^:,(]+)?:(\d+)", gres))
        node = Node(int(cpus.rstrip("+")), int(memory.rstrip("+")), gpus)
        partitions[name] = Node(*map(max, zip(partitions.get(name, node), node)))
    return partitions, default


def uses_slurm(rule_resources: dict, default_resources) -> bool:
    """A profile that names SLURM resources (profiles/slurm does) submits through SLURM."""
    named = [*_keys(default_resources), *(key for resources in rule_resources.values() for key in _keys(resources))]
    return any(key.startswith("slurm_") for key in named)


def check_slurm_requests(threads: dict, rule_resources: dict, default_resources, partitions: dict, default_partition):
    """Every rule's threads, memory and GPUs (set-threads, set-resources, default-resources) fit the largest
    node of the partition it is sent to. Without sinfo's answer (no cluster here) there is nothing to
    compare with."""
    if not partitions:
        return
    defaults = {key: _value(value) for key, value in _items(default_resources)}
    for rule in sorted(set(threads) | set(rule_resources)):
        resources = {**defaults, **{key: _value(value) for key, value in _items(rule_resources.get(rule))}}
        where = "set-resources." + rule if "slurm_partition" in _keys(rule_resources.get(rule)) else "default-resources"
        partition = resources.get("slurm_partition", default_partition)
        if partition not in partitions:
            raise ConfigFileError(
                f"profile: {where}.slurm_partition '{partition}' (for {rule}) is not a partition of this cluster; "
                f"sinfo lists {', '.join(sorted(partitions))} (edit the profile's lines marked SITE)"
            )
        node = partitions[partition]
        if "cpus_per_task" in resources:
            cpus = (resources["cpus_per_task"], _resource_key(rule, "cpus_per_task", rule_resources))
        else:
            cpus = (_value(threads.get(rule, 1)), f"set-threads.{rule}")
        asked = {
            "CPUs": (*cpus, node.cpus),
            "MB of memory": (resources.get("mem_mb", 0), _resource_key(rule, "mem_mb", rule_resources), node.memory_mb),
            "GPUs": (resources.get("gpu", 0), _resource_key(rule, "gpu", rule_resources), node.gpus),
        }
        for what, (amount, key, available) in asked.items():
            if isinstance(amount, int | float) and amount > available:
                raise ConfigFileError(
                    f"profile: {key} asks {amount} {what} for each {rule} job, but the largest node of partition "
                    f"'{partition}' has {available} (sinfo); SLURM would leave those jobs pending forever "
                    "(reason PartitionConfig)"
                )


def _resource_key(rule: str, key: str, rule_resources: dict) -> str:
    return f"set-resources.{rule}.{key}" if key in _keys(rule_resources.get(rule)) else f"default-resources.{key}"


def _keys(resources) -> list:
    return [] if resources is None else list(resources)


def _items(resources) -> list:
    return [] if resources is None else [(key, resources[key]) for key in resources]


def _value(value):
    """A profile's value as given. Snakemake wraps resources in objects, and keeps a command line's or
    profile's `default-resources` as Python expressions it evaluates per job; a constant is read from the
    expression (a bare word such as a partition name is a string, as Snakemake reads it), and one that
    depends on the job (its default mem_mb from the input size) is None: no profile key fixes it."""
    if not hasattr(value, "is_evaluable"):
        return value
    if not value.is_evaluable():
        return value.value
    expression = value.raw if isinstance(value.raw, str) else ""
    try:
        return ast.literal_eval(expression)
    except (ValueError, SyntaxError):
        return expression if re.fullmatch(r"[A-Za-z_][\w.-]*", expression) else None
