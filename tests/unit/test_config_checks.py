"""Config files are read strictly (a repeated key is refused, a YAML anchor is not) and laid over one another
as docs/configuration.md says: settings key by key, collections replaced unless a file extends them."""

import re

import pytest

from astray.campaign.config_checks import (
    ConfigFileError,
    Node,
    check_config_files,
    check_slurm_requests,
    layered_config,
    parse_sinfo,
)

ANCHORED = """models:
  schnet_m: &schnet_m {architecture: schnet, hidden_channels: 64, cutoff: 5.0}
  schnet_m_coulomb: {<<: *schnet_m, physics_prior: coulomb, cutoff: 4.0}
"""


def test_a_spec_may_repeat_another_by_anchor_and_override_its_keys(tmp_path):
    path = tmp_path / "anchored.yaml"
    path.write_text(ANCHORED)
    check_config_files([path])


def test_a_key_repeated_beside_an_anchor_is_still_refused(tmp_path):
    path = tmp_path / "repeated.yaml"
    path.write_text(ANCHORED.replace("cutoff: 4.0}", "cutoff: 4.0, physics_prior: none}"))
    with pytest.raises(ConfigFileError, match="key 'physics_prior' appears twice"):
        check_config_files([path])


DEFAULT = """geometries:
  sources:
    chemical_space: {max_heavy_atoms: 5, sample: 680}
  max_atoms: 17
  distortions:
    bond_scaling: {factors: [0.85, 1.25]}
datasets: {sizes: [32, 64], seeds: [0, 1, 2]}
models:
  schnet_m: {architecture: schnet, hidden_channels: 64}
  sevennet_0: {architecture: pretrained, name: 7net-0}
"""


def layers(tmp_path, *texts):
    paths = []
    for number, text in enumerate((DEFAULT, *texts)):
        paths.append(tmp_path / f"layer{number}.yaml")
        paths[-1].write_text(text)
    return paths


def test_a_campaign_file_replaces_the_defaults_collections_and_overrides_its_settings(tmp_path):
    mine = """models:
  tiny: {architecture: schnet, hidden_channels: 8}
geometries:
  sources:
    files: {paths: [mine.xyz]}
  max_atoms: 29
datasets: {sizes: [10]}
"""
    config = layered_config(layers(tmp_path, mine), {})
    assert config["models"] == {"tiny": {"architecture": "schnet", "hidden_channels": 8}}
    assert config["geometries"]["sources"] == {"files": {"paths": ["mine.xyz"]}}
    # Settings the file does not give keep the default's; a distortion collection it does not give stays.
    assert config["geometries"]["max_atoms"] == 29 and config["datasets"] == {"sizes": [10], "seeds": [0, 1, 2]}
    assert config["geometries"]["distortions"] == {"bond_scaling": {"factors": [0.85, 1.25]}}


def test_a_file_that_extends_a_collection_adds_to_it_and_changes_its_entries(tmp_path):
    mine = """extend: [models, geometries.sources]
models:
  schnet_m: {hidden_channels: 32}
  tiny: {architecture: schnet, hidden_channels: 8}
geometries:
  sources:
    ions: [H3O+]
"""
    config = layered_config(layers(tmp_path, mine), {})
    assert config["models"]["schnet_m"] == {"architecture": "schnet", "hidden_channels": 32}
    assert set(config["models"]) == {"schnet_m", "sevennet_0", "tiny"}
    assert set(config["geometries"]["sources"]) == {"chemical_space", "ions"}
    assert "extend" not in config


def test_later_files_and_the_command_line_apply_over_earlier_ones(tmp_path):
    first = "models:\n  a: {architecture: schnet}\n"
    second = "extend: [models]\nmodels:\n  b: {architecture: schnet}\n"
    config = layered_config(layers(tmp_path, first, second), {"datasets": {"seeds": [7]}})
    assert set(config["models"]) == {"a", "b"} and config["datasets"] == {"sizes": [32, 64], "seeds": [7]}


@pytest.mark.parametrize("extend", ["models", "[model]", "[geometries.elements]"])
def test_extending_anything_but_a_collection_is_refused_naming_the_file(tmp_path, extend):
    paths = layers(tmp_path, f"extend: {extend}\n")
    with pytest.raises(ConfigFileError, match=rf"{paths[-1]}: extend: .* must list collections"):
        layered_config(paths, {})


SINFO = """cpu*|16|64000|(null)
cpu*|8|32000|(null)
gpu|32|256000|gpu:a100:4(S:0-1)
"""


def test_sinfo_gives_each_partitions_largest_node_and_the_default():
    partitions, default = parse_sinfo(SINFO)
    assert default == "cpu"
    assert partitions == {"cpu": Node(16, 64000, 0), "gpu": Node(32, 256000, 4)}


def test_requests_that_fit_the_partitions_nodes_pass():
    partitions, default = parse_sinfo(SINFO)
    resources = {"train": {"slurm_partition": "gpu", "gpu": 1, "mem_mb": 16000}, "label_chunk": {"mem_mb": 8000}}
    check_slurm_requests({"label_chunk": 16, "train": 4}, resources, {"mem_mb": 4000}, partitions, default)


@pytest.mark.parametrize(
    "threads, resources, message",
    [
        ({"label_chunk": 24}, {}, "set-threads.label_chunk asks 24 CPUs for each label_chunk job, but the largest "
         "node of partition 'cpu' has 16 (sinfo); SLURM would leave those jobs pending forever"),
        ({}, {"train": {"slurm_partition": "gpu", "gpu": 8}}, "set-resources.train.gpu asks 8 GPUs"),
        ({}, {"label_chunk": {"mem_mb": 100000}}, "set-resources.label_chunk.mem_mb asks 100000 MB of memory"),
        ({}, {"train": {"slurm_partition": "SITE_GPU_PARTITION"}}, "set-resources.train.slurm_partition "
         "'SITE_GPU_PARTITION' (for train) is not a partition of this cluster; sinfo lists cpu, gpu"),
    ],
)  # fmt: skip
def test_a_request_no_node_of_its_partition_can_take_is_refused_with_the_clusters_numbers(threads, resources, message):
    with pytest.raises(ConfigFileError, match=re.escape(message)):
        check_slurm_requests(threads, resources, {"mem_mb": 4000}, *parse_sinfo(SINFO))


def test_without_a_cluster_to_ask_nothing_is_checked():
    check_slurm_requests({"label_chunk": 512}, {}, {"slurm_partition": "anything"}, {}, None)


def test_a_profiles_default_resources_are_read_as_snakemake_reads_them():
    """Snakemake keeps default-resources as expressions evaluated per job: a bare partition name is a string,
    a number a number, and a value computed from the job's input is no fixed request to check."""
    from snakemake.resources import Resource

    defaults = {
        "slurm_partition": Resource.from_cli_expression("slurm_partition", "cpu"),
        "mem_mb": Resource.from_cli_expression("mem_mb", "max(2*input.size_mb, 1000)"),
    }
    check_slurm_requests({"train": 4}, {}, defaults, *parse_sinfo(SINFO))
    defaults["mem_mb"] = Resource.from_cli_expression("mem_mb", "100000")
    with pytest.raises(ConfigFileError, match=re.escape("default-resources.mem_mb asks 100000 MB of memory")):
        check_slurm_requests({"train": 4}, {}, defaults, *parse_sinfo(SINFO))
