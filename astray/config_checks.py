"""Checks on what the user hands Snakemake beside the config's values: the YAML files themselves and the
profile's resource requests. Each failure is one line naming the file or profile key."""

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


def check_config_files(paths) -> None:
    for path in paths:
        try:
            yaml.load(Path(path).read_text(), Loader=_StrictLoader)
        except ConfigFileError as error:
            raise ConfigFileError(f"{path}: {error}") from None


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
    return [key for key in resources.keys() if key in GPU_RESOURCES]
