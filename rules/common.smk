import math
import os
from pathlib import Path

from snakemake.utils import validate

from astray.config_checks import (
    applied_order,
    check_gpu_requests,
    check_slurm_requests,
    layered_config,
    slurm_partitions,
    uses_slurm,
)
from astray.datasets import KIND_ORIGINS, split_molecules
from astray.distortions import check_hessian_level
from astray.geometries import GeometrySourceError, build_pool
from astray.io import check_writable
from astray.labels import LabelInputError, Level, check_labeling_inputs
from astray.models.pretrained import PRETRAINED, PretrainedModelError, check_factory_module, check_finetunable, resolve
from astray.planning import cached_summary, plan_key, record_plan, source_fingerprint
from astray.provenance import code_fingerprint
from astray.references import PROBES, check_fci_basis


# The config files in the order they apply: config/config.yaml, then each --configfile (or those alone
# with --replace-workflow-config). Snakemake merged them key by key; astray lays them over one another
# itself, so that a file's models, sources and distortions replace the earlier ones (README,
# "Configuration"), refusing a key given twice in one file.
CONFIG_FILE_PATHS = applied_order(workflow.configfiles, workflow.overwrite_configfiles)
if workflow.config_settings.replace_workflow_config:
    CONFIG_FILE_PATHS = [path for path in CONFIG_FILE_PATHS if path in workflow.overwrite_configfiles]
_layered_config = layered_config(CONFIG_FILE_PATHS, workflow.config_settings.config)
config.clear()
config.update(_layered_config)
# Stop before planning anything if the config has a misspelt key, a wrong type or a bad value, the profile
# asks for a GPU where none can be used, or results cannot be written.
validate(config, schema="../config/schema.yaml")
check_gpu_requests(workflow.resource_settings.overwrite_resources, workflow.resource_settings.default_resources)
# A SLURM profile's requests against the cluster's nodes, where sinfo answers: a job no node can take would
# pend forever. Checked when planning, not again inside every submitted job.
if workflow.is_main_process and uses_slurm(
    workflow.resource_settings.overwrite_resources, workflow.resource_settings.default_resources
):
    check_slurm_requests(
        workflow.resource_settings.overwrite_threads,
        workflow.resource_settings.overwrite_resources,
        workflow.resource_settings.default_resources,
        *slurm_partitions(),
    )
check_writable("results")
# Errors found later in planning name the config files they come from, in the order they were applied.
CONFIG_FILES = " + ".join(
    os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path) for path in CONFIG_FILE_PATHS
)

# Scripts import the astray package from this checkout, also inside conda envs and on cluster nodes.
# (Set, not required: `update` keeps `snakemake --lint` from asking for an envvars directive.)
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])))


def canonical(value):
    """Dicts with sorted keys, recursively: Snakemake compares params by their text, so reordering keys in
    the config must not look like a change that reruns the campaign."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


_canonical_config = canonical(config)
config.clear()
config.update(_canonical_config)

GEOMETRIES = config["geometries"]
LABELS = config["labels"]
DATASETS = config["datasets"]
MODELS = config["models"]
EVALUATION = config["evaluation"]
PLOTS = config["plots"]
# The level of theory, a param of the rules that label: engine, method, basis and density fitting.
LEVEL = {key: LABELS[key] for key in ("engine", "method", "basis", "density_fit")}


PACKAGE = Path(workflow.basedir) / "astray"


def script_code(script):
    """Fingerprint of the astray code a workflow script runs (every module it imports, however indirectly),
    as a param of its rule: Snakemake reruns a job when its script changes, not when the package code it calls
    does, and a map of modules written by hand drifts."""
    return code_fingerprint([Path(workflow.basedir) / "workflow_scripts" / script], PACKAGE)


def planned_pool():
    """The pool without its Hessians, every geometry checked for labeling: unknown method, basis or
    element, impossible charge or spin, overlapping atoms stop the run now, naming the geometry and field,
    not hours later inside a labeling job."""
    try:
        pool = build_pool(GEOMETRIES, sample_normal_modes=False, cache_dir=PLANNING_CACHE)
    except GeometrySourceError as error:
        raise GeometrySourceError(f"{CONFIG_FILES}: {error}") from None
    if not pool:
        raise GeometrySourceError(f"{CONFIG_FILES}: geometries: no molecule passes the sources and filters")
    try:
        check_labeling_inputs(pool, Level.from_config(LEVEL), LABELS["min_distance"])
    except LabelInputError as error:
        raise LabelInputError(f"{CONFIG_FILES}: {error}") from None
    return pool


PLANNING_CACHE = Path(".snakemake") / "astray"


def pool_key(fingerprint):
    """Identity of the pool: its config, what its checks depend on, and its source files."""
    checked = {
        "level": LEVEL,
        "min_distance": LABELS["min_distance"],
        # What planning runs to build and check the pool.
        "code": code_fingerprint([PACKAGE / "geometries.py", PACKAGE / "labels.py"], PACKAGE),
    }
    return plan_key(GEOMETRIES, checked, fingerprint)


def pool_summary(key):
    """How many geometries, of which molecule and origin: their number fixes the labeling chunks up front,
    so `snakemake -n` plans the whole campaign without a checkpoint. Cached in .snakemake/astray/ until
    the geometry config, the level, the pool code or a source file changes, so re-planning a QM9-sized
    campaign after changing models, sizes or seeds skips rebuilding and rechecking the pool."""
    return cached_summary(PLANNING_CACHE, key, planned_pool)


try:
    # A param of the geometries rule: a changed source file rebuilds the pool, without making 130k files
    # inputs that Snakemake would track one by one.
    SOURCES_FINGERPRINT = source_fingerprint(GEOMETRIES)
except GeometrySourceError as error:
    raise GeometrySourceError(f"{CONFIG_FILES}: {error}") from None
POOL_KEY = pool_key(SOURCES_FINGERPRINT)
POOL = pool_summary(POOL_KEY)
record_plan(PLANNING_CACHE, POOL_KEY, config, CONFIG_FILES)
N_CHUNKS = math.ceil(len(POOL) / LABELS["chunk_size"])
# Isolated-atom energies are needed for the elements of the pool and of the probes.
ATOM_ELEMENTS = sorted(set(POOL.elements) | {s for name in EVALUATION["probes"] for s in PROBES[name].symbols})


def check_sizes_fit_pool():
    """Fail at planning time, not after labeling, when a training size cannot be drawn."""
    try:
        assignment = split_molecules(
            POOL.molecules, DATASETS["validation_molecules"], DATASETS["test_molecules"], DATASETS["split_seed"]
        )
    except ValueError as error:
        raise ValueError(f"{CONFIG_FILES}: {error}") from None
    for kind in DATASETS["kinds"]:
        available = POOL.count(assignment, "train", KIND_ORIGINS[kind])
        too_large = [size for size in DATASETS["sizes"] if size > available]
        if too_large:
            raise ValueError(
                f"{CONFIG_FILES}: datasets.sizes {too_large} exceed the {available} training geometries "
                f"of kind '{kind}' ({len(POOL)} geometries from {len(set(POOL.molecules))} molecules in the pool)"
            )


check_sizes_fit_pool()
if config["training"]["force_weight"] > 0 and not LABELS["forces"]:
    raise ValueError(
        f"{CONFIG_FILES}: training.force_weight is {config['training']['force_weight']} but labels.forces is false: "
        "set labels.forces: true to train on forces, or force_weight: 0"
    )
# The FCI reference's basis, and the normal modes' Hessian level, are checked now, not when their jobs run
# after hours of labeling (or, for the Hessians, in the geometries job itself).
try:
    check_fci_basis(EVALUATION["probes"], EVALUATION["fci_basis"])
    NORMAL_MODES = GEOMETRIES["distortions"]["normal_modes"]
    if NORMAL_MODES["samples"]:
        check_hessian_level(NORMAL_MODES["method"], NORMAL_MODES["basis"], POOL.elements)
except LabelInputError as error:
    raise LabelInputError(f"{CONFIG_FILES}: {error}") from None


wildcard_constraints:
    chunk=r"\d+",
    kind="|".join(DATASETS["kinds"]),
    seed=r"\d+",
    size=r"\d+",
    model="|".join(MODELS),


def label_chunks(wildcards):
    return expand("results/labels/chunk_{chunk}.extxyz", chunk=range(N_CHUNKS))


def chunk_quarantines(wildcards):
    return expand("results/labels/chunk_{chunk}.quarantine.json", chunk=range(N_CHUNKS))


def every_training_run(pattern, **fixed):
    """`pattern` expanded over every dataset kind, seed and training size."""
    return expand(pattern, kind=DATASETS["kinds"], seed=DATASETS["seeds"], size=DATASETS["sizes"], **fixed)


def all_training_sets(wildcards):
    return every_training_run("results/datasets/{kind}/seed{seed}/train_n{size}.extxyz")


def model_evaluations(model):
    return every_training_run("results/evaluation/{kind}/seed{seed}/n{size}/{model}.nc", model=model)


def all_evaluations(wildcards):
    return [path for model in MODELS for path in model_evaluations(model)]


def evaluations_of_model(wildcards):
    return model_evaluations(wildcards.model)


def model_spec(wildcards):
    return MODELS[wildcards.model]


# With --use-conda (or containers) a rule's packages live in its environment, not in Snakemake's.
RULES_BRING_THEIR_PACKAGES = bool(workflow.deployment_settings.deployment_method)


def pretrained_recipes():
    """Each pretrained rung's full recipe (registry entry or factory), its package checked installed where
    the jobs run: an unknown name or a factory that cannot be imported stops the run now, not after
    labeling. Fine-tuned rungs are checked the same way."""
    recipes = {}
    for name, spec in MODELS.items():
        if spec["architecture"] not in ("pretrained", "finetune"):
            continue
        try:
            if spec["architecture"] == "finetune":
                check_finetunable(name, spec, config["training"]["force_weight"])
                recipe = PRETRAINED[spec["from"]]
            else:
                recipe = recipes[name] = resolve(name, spec)
            if not RULES_BRING_THEIR_PACKAGES:
                check_factory_module(name, recipe)
        except PretrainedModelError as error:
            raise PretrainedModelError(f"{CONFIG_FILES}: {error}") from None
    return recipes


PRETRAINED_RECIPES = pretrained_recipes()


def models_of(architecture):
    """The model names of one architecture as a wildcard pattern, so each name has one training rule."""
    return "|".join(name for name, spec in MODELS.items() if spec["architecture"] == architecture) or "^$"


def trained_model(wildcards):
    """The file evaluation reads: SchNet's checkpoint, or NequIP's compiled model (its package when the
    spec turns compilation off)."""
    run = "results/models/{kind}/seed{seed}/n{size}/{model}".format(**wildcards)
    spec = MODELS[wildcards.model]
    if spec["architecture"] == "pretrained":
        return f"results/pretrained/{wildcards.model}/predictions.json"
    if spec["architecture"] == "finetune":
        return f"{run}/model.sevennet.pt"
    if spec["architecture"] == "schnet":
        return f"{run}/model.pt"
    return f"{run}/model.nequip.pt2" if spec["compile"] else f"{run}/model.nequip.zip"


def model_summary(wildcards):
    """What evaluation reads beside a NequIP model (its summary.json: parameters, best epoch); nothing
    beside a SchNet checkpoint or pretrained predictions, which describe themselves."""
    if MODELS[wildcards.model]["architecture"] != "nequip":
        return []
    return "results/models/{kind}/seed{seed}/n{size}/{model}/summary.json".format(**wildcards)


def alignment_set(wildcards):
    """The training set a pretrained model's holdout alignment is fitted on; trained models need none."""
    if MODELS[wildcards.model]["architecture"] != "pretrained":
        return []
    return "results/datasets/{kind}/seed{seed}/train_n{size}.extxyz".format(**wildcards)


def every_largest_training_set(wildcards):
    """Each kind's and seed's largest training set: every geometry an alignment is fitted on."""
    return expand(
        "results/datasets/{kind}/seed{seed}/train_n{size}.extxyz",
        kind=DATASETS["kinds"],
        seed=DATASETS["seeds"],
        size=max(DATASETS["sizes"]),
    )


def largest_training_sets(wildcards):
    """Each kind's largest training set of the first seed: it contains every smaller one."""
    return expand(
        "results/datasets/{kind}/seed{seed}/train_n{size}.extxyz",
        kind=DATASETS["kinds"],
        seed=DATASETS["seeds"][0],
        size=max(DATASETS["sizes"]),
    )


def campaign_outputs():
    tables = expand("results/tables/{table}.csv", table=["probe_metrics", "scaling", "quarantine"])
    plots = expand("results/plots/{model}.png", model=MODELS) + ["results/plots/scaling.png"]
    return ["results/cube.nc", "results/datasets/manifest.json", *tables, *plots]
