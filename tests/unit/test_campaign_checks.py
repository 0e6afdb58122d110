"""Planning's checks of a campaign, called as the workflow calls them but without running it: sizes
against the pool (read or planned), forces, provided labels, pretrained and external rungs, each refused
by the key that is wrong and the config files it comes from."""

import copy
import re
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from astray.campaign import checks
from astray.campaign.pool_plan import PlannedPool
from astray.config_schema import SCHEMA_PATH
from astray.models.external import ExternalModelError
from astray.models.pretrained import PretrainedModelError
from astray.models.registry import Planning

DEFAULT = yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "config.yaml").read_text())
DATASETS = {"kinds": ["equilibrium", "with_distorted"], "sizes": [2, 6], "seeds": [0],
            "validation_molecules": 2, "test_molecules": 2, "split_seed": 0}  # fmt: skip


def config(**changes):
    """The default config with `changes` ({'training.force_weight': 0.1, ...}) applied, validated and
    completed with the schema's defaults as the workflow does."""
    changed = copy.deepcopy(DEFAULT)
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        node = changed
        for parent in parents:
            node = node[parent]
        node[key] = value
    validate(changed, str(SCHEMA_PATH))
    return changed


def test_keys_are_sorted_at_every_depth_so_reordering_reruns_nothing():
    assert list(checks.canonical({"b": 1, "a": {"d": [{"z": 0, "y": 1}], "c": 2}})) == ["a", "b"]
    assert list(checks.canonical({"a": {"d": [{"z": 0, "y": 1}], "c": 2}})["a"]["d"][0]) == ["y", "z"]


def test_sizes_are_checked_against_the_planned_pool_before_it_is_read():
    # 10 molecules planned with 4 geometries each; 2 + 2 held out leave 6 molecules, 24 geometries with
    # their distortions.
    planned = PlannedPool(geometries=40, molecules=10, built=False)
    checks.check_sizes_fit_pool(DATASETS, planned=planned)
    assert checks.training_geometries(DATASETS, "with_distorted", planned=planned)[0] == 24
    with pytest.raises(ValueError, match=r"datasets.sizes \[8\] exceed the 6 training geometries of kind "
                                         r"'equilibrium' \(about 40 geometries planned from 10 molecules"):  # fmt: skip
        checks.check_sizes_fit_pool({**DATASETS, "sizes": [2, 8]}, planned=planned)
    with pytest.raises(ValueError, match=r"validation_molecules \(5\) \+ test_molecules \(5\) leave no training"):
        checks.check_sizes_fit_pool({**DATASETS, "validation_molecules": 5, "test_molecules": 5}, planned=planned)


def test_training_on_forces_needs_labels_with_forces():
    planned = PlannedPool(geometries=4000, molecules=1000, built=False)
    checks.check_campaign(config(), planned=planned)
    with pytest.raises(ValueError, match=r"training.force_weight is 0.1 but labels.forces is false"):
        checks.check_campaign(config(**{"training.force_weight": 0.1}), planned=planned)


def test_provided_labels_of_another_level_are_refused_unless_mixing_is_allowed():
    files = {"paths": ["qm9/*.xyz"], "labels": {"level": {"method": "b3lyp", "basis": "6-31g(2df,p)"},
                                                 "energy": "U0", "energy_units": "hartree"}}  # fmt: skip
    mixed = config(**{"geometries.sources.files": files})
    with pytest.raises(ValueError, match=r"geometries.sources.files.labels.level: the files' labels are b3lyp/6-31g"):
        checks.check_provided_labels(mixed)
    allowed = config(**{"geometries.sources.files": files, "labels.allow_mixed_levels": True})
    checks.check_provided_labels(allowed)
    assert checks.provided_level(allowed)["method"] == "b3lyp" and checks.provided_level(config()) is None
    forces = config(**{"geometries.sources.files": files, "labels.allow_mixed_levels": True,
                       "training.force_weight": 0.5})  # fmt: skip
    with pytest.raises(ValueError, match=r"forces is none but training.force_weight is 0.5"):
        checks.check_provided_labels(forces)


def planning(mace_built=False):
    return Planning(packages_here=True, mace_python=Path("/not/built/python"), mace_built=mace_built)


def test_pretrained_and_finetuned_rungs_are_checked_by_name():
    models = {"seven": {"architecture": "pretrained", "name": "7net-0"}, "schnet": {"architecture": "schnet"}}
    checks.check_models(models, planning())
    with pytest.raises(PretrainedModelError, match=r"models.uma.name: unknown pretrained model 'uma-x'"):
        checks.check_models({"uma": {"architecture": "pretrained", "name": "uma-x"}}, planning())
    checks.check_models({"tuned": {"architecture": "finetune", "from": "7net-0"}}, planning())
    with pytest.raises(PretrainedModelError, match=r"models.tuned.from: '7net-mf-0' cannot be fine-tuned"):
        checks.check_models({"tuned": {"architecture": "finetune", "from": "7net-mf-0"}}, planning())


def test_an_external_rung_is_checked_before_its_environment_is_built():
    spec = {"architecture": "external", "environment": "mace", "train_command": "{bin}/trainer {train_set}",
            "model_file": "m.pt", "calculator": "mace.calculators:MACECalculator"}  # fmt: skip
    # The template's placeholders are checked even where the environment is built later...
    with pytest.raises(ExternalModelError, match=r"models.cli.train_command: unknown placeholder \{train_set\}"):
        checks.check_models({"cli": spec}, planning())
    # ...and the environment itself only once it exists.
    fixed = {**spec, "train_command": "{bin}/trainer {train}"}
    checks.check_models({"cli": fixed}, planning())
    with pytest.raises(ExternalModelError, match=r"models.cli.environment: no interpreter at /not/built/python"):
        checks.check_models({"cli": fixed}, planning(mace_built=True))


def test_errors_name_the_config_files_they_come_from():
    files = "config/config.yaml + mine.yaml"
    with (
        pytest.raises(PretrainedModelError, match=rf"^{re.escape(files)}: models.uma.name: unknown"),
        checks.named_after(files),
    ):
        checks.check_models({"uma": {"architecture": "pretrained", "name": "uma-x"}}, planning())


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"datasets.selection": {"strategies": ["random", "committee"]}}, "the committee strategy needs a committee"),
        ({"datasets.selection": {"strategies": ["random", "committee"], "committee": {"model": "schnet_x"}}},
         "'schnet_x' is not a rung of models"),
        ({"datasets.selection": {"strategies": ["random", "committee"], "committee": {"model": "sevennet_0"}}},
         "'sevennet_0' is a pretrained model"),
        ({"datasets.selection": {"strategies": ["random", "committee"], "committee": {"model": "schnet_m"}},
          "datasets.seeds": [0]}, "datasets.seeds has only one"),
        ({"datasets.selection": {"strategies": ["random", "committee"], "committee": {"model": "schnet_m"}},
          "datasets.sizes": [32]}, "no round to choose in"),
    ],
)  # fmt: skip
def test_a_committee_is_refused_where_it_could_not_choose(changes, error):
    campaign = config(**changes)
    with pytest.raises(ValueError, match=re.escape("datasets.selection.committee")) as refused:
        checks.check_selection(campaign["datasets"], campaign["models"])
    assert error in str(refused.value)


def test_a_committee_of_a_trained_rung_with_seeds_and_sizes_is_accepted():
    campaign = config(
        **{"datasets.selection": {"strategies": ["random", "committee"], "committee": {"model": "schnet_m"}}}
    )
    checks.check_selection(campaign["datasets"], campaign["models"])
    assert campaign["datasets"]["selection"]["committee"]["per_molecule"] == 1  # the schema's default


def test_every_selection_keeps_the_random_sets():
    with pytest.raises(WorkflowError, match="random"):
        config(**{"datasets.selection": {"strategies": ["committee"], "committee": {"model": "schnet_m"}}})
