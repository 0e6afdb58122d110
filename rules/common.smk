import functools
import os
from pathlib import Path

from snakemake.utils import validate

from astray.campaign.config_checks import (
    applied_order,
    check_gpu_requests,
    check_slurm_requests,
    layered_config,
    slurm_partitions,
    uses_slurm,
)
from astray.campaign.checks import (
    canonical,
    check_campaign,
    check_models,
    label_level,
    named_after,
    provided_labels,
    provided_level,
)
from astray.datasets.selection import drawn_from, strategy_of, training_kinds
from astray.io import check_writable
from astray.models.registry import Planning
from astray.campaign.pool_plan import PlannedPool, SourceFiles, cached_plan, cached_summary, plan_key, pool_identity, record_plan
from astray.provenance import code_fingerprint

# Every cluster job parses this workflow again before it runs (thousands of times at paper scale), so what only
# planning needs (the pool, the checks of models, levels and profile) runs in the main process alone, and
# the modules it needs (ASE, PySCF, torch for pretrained models) are imported there.
PLANNING = workflow.is_main_process


# The config files in the order they apply: config/config.yaml, then each --configfile (or those alone
# with --replace-workflow-config). Snakemake merged them key by key; astray lays them over one another
# itself, so that a file's models, sources and distortions replace the earlier ones
# (docs/configuration.md), refusing a key given twice in one file.
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
if PLANNING and uses_slurm(
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


# Keys sorted (astray.campaign.checks.canonical): reordering the config must not rerun the campaign.
_canonical_config = canonical(config)
config.clear()
config.update(_canonical_config)

GEOMETRIES = config["geometries"]
LABELS = config["labels"]
DATASETS = config["datasets"]
MODELS = config["models"]
EVALUATION = config["evaluation"]
# Every dataset the ladder trains on: each kind drawn at random and, where datasets.selection asks for it,
# chosen by a committee (astray/datasets/selection.py).
TRAINING_KINDS = training_kinds(DATASETS)
COMMITTEE_KINDS = [kind for kind in TRAINING_KINDS if strategy_of(kind) == "committee"]
PLOTS = config["plots"]
# The level of theory, a param of the rules that label; the labels that came with the files, if the files
# source declares any, and the level that recomputes their audit sample.
LEVEL = label_level(LABELS)
PROVIDED = provided_labels(GEOMETRIES)
PROVIDED_LEVEL = provided_level(config)


def audited_labels(wildcards):
    return "results/labels/audit.json" if PROVIDED else []


PACKAGE = Path(workflow.basedir) / "astray"


def script_code(script):
    """Fingerprint of the astray code a workflow script runs (every module it imports, however indirectly),
    as a param of its rule: Snakemake reruns a job when its script changes, not when the package code it calls
    does, and a map of modules written by hand drifts. A function of the job, so a cluster job fingerprints
    its own rule's script only."""
    return lambda wildcards: _script_code(script)


@functools.cache
def _script_code(script):
    return code_fingerprint([Path(workflow.basedir) / "workflow_scripts" / script], PACKAGE)


PLANNING_CACHE = Path(".snakemake") / "astray"


@functools.cache
def source_files():
    """The file source's files (path, size, modification time), listed once per parse."""
    with named_after(CONFIG_FILES):
        return SourceFiles.of(GEOMETRIES)


def sources_fingerprint(wildcards):
    """A param of the geometries rule: a changed source file rebuilds the pool, without making 130k files
    inputs that Snakemake would track one by one."""
    return source_files().fingerprint


def pool_of_sources(wildcards):
    """The identity the geometries job records in the pool's summary (what planning compares it with)."""
    return pool_identity(GEOMETRIES, source_files().fingerprint)


def checked_pool(geometry_config):
    """A pool without its Hessians, every geometry checked for labeling: unknown method, basis or element,
    impossible charge or spin, overlapping atoms stop the run now, naming the geometry and field, not hours
    later inside a labeling job."""
    from astray.geometries.pool import build_pool
    from astray.labels.labeling import Level, check_labeling_inputs

    with named_after(CONFIG_FILES):
        pool = build_pool(geometry_config, sample_normal_modes=False, cache_dir=PLANNING_CACHE)
        check_labeling_inputs(pool, Level.from_config(LEVEL), LABELS["min_distance"])
    return pool


def whole_pool():
    """The campaign's pool, checked; refused if no molecule passes the sources' filters."""
    from astray.geometries.pool import GeometrySourceError

    pool = checked_pool(GEOMETRIES)
    if not pool:
        raise GeometrySourceError(f"{CONFIG_FILES}: geometries: no molecule passes the sources and filters")
    return pool


@functools.cache
def pool_key():
    """Identity of the plan: the pool's config, what its checks depend on, and its source files."""
    checked = {
        "level": LEVEL,
        "min_distance": LABELS["min_distance"],
        # What planning runs to build, check and count the pool.
        "code": code_fingerprint([PACKAGE / "geometries/pool.py", PACKAGE / "labels/labeling.py", PACKAGE / "campaign/pool_plan.py"], PACKAGE),
        "counted_while_planning": large_sources(),
    }
    return plan_key(GEOMETRIES, checked, source_files().fingerprint)


@functools.cache
def large_sources():
    """The sources too large to build and check while planning, only counted then (docs/geometries.md,
    "Large sources are checked by the first jobs"): big file sources, a chemical space too large to embed."""
    from astray.campaign.pool_plan import counted_sources

    return counted_sources(GEOMETRIES, source_files(), PLANNING_CACHE)


def read_while_planning():
    return not large_sources()


def pool_summary():
    """How many geometries, of which molecule and origin, built and checked while planning. Cached in
    .snakemake/astray/ until the geometry config, the level, the pool code or a source file changes, so
    re-planning after changing models, sizes or seeds skips rebuilding and rechecking the pool."""
    return cached_summary(PLANNING_CACHE, pool_key(), whole_pool)


@functools.cache
def planned_pool():
    """How many geometries the pool has (exactly, or for large file sources as counted and estimated):
    their number fixes the labeling chunks up front, so `snakemake -n` plans the whole campaign without a
    checkpoint. Computed once per pool and then read, so every job sees the same chunks."""
    from astray.campaign.pool_plan import estimated_pool

    def plan():
        if read_while_planning():
            summary = pool_summary()
            return PlannedPool(len(summary), len(set(summary.molecules)), built=True)
        return estimated_pool(GEOMETRIES, source_files(), checked_pool, large_sources(), PLANNING_CACHE)

    return cached_plan(PLANNING_CACHE, pool_key(), plan)


def chunk_count(wildcards=None):
    return planned_pool().chunks(LABELS["chunk_size"])


def known_summary():
    """The pool's summary where one exists without reading the sources: built while planning, or by the
    geometries job of an earlier run (then its checks are exact); None before a large pool's first run."""
    from astray.campaign.pool_plan import built_summary

    if planned_pool().built:
        return pool_summary()
    return built_summary("results/geometries/summary.json", pool_of_sources(None))


if PLANNING:
    # Everything planning checks beyond the schema (astray.campaign.checks), before any job runs: without the
    # pool's summary (a large pool before its first run) against its planned counts.
    known = known_summary()
    with named_after(CONFIG_FILES):
        check_campaign(config, known, planned_pool() if known is None else None)
    record_plan(PLANNING_CACHE, pool_key(), pool_of_sources(None), config, CONFIG_FILES, large_sources())


wildcard_constraints:
    chunk=r"\d+",
    kind="|".join(TRAINING_KINDS),
    seed=r"\d+",
    size=r"\d+",
    model="|".join(MODELS),


def label_chunks(wildcards):
    return expand("results/labels/chunk_{chunk}.extxyz", chunk=range(chunk_count()))


def chunk_quarantines(wildcards):
    return expand("results/labels/chunk_{chunk}.quarantine.json", chunk=range(chunk_count()))


def every_training_run(pattern, **fixed):
    """`pattern` expanded over every dataset (kind and selection), seed and training size."""
    return expand(pattern, kind=TRAINING_KINDS, seed=DATASETS["seeds"], size=DATASETS["sizes"], **fixed)


def training_set_path(kind, seed, size):
    """A run's training set: a seed's own for a random kind, one for every seed for a committee's."""
    if strategy_of(kind) == "random":
        return f"results/datasets/{kind}/seed{seed}/train_n{size}.extxyz"
    return f"results/datasets/{kind}/train_n{size}.extxyz"


def training_set(wildcards):
    return training_set_path(wildcards.kind, wildcards.seed, wildcards.size)


def validation_set(wildcards):
    """The validation set of the kind a dataset is drawn from: the same for random and selected sets."""
    return f"results/datasets/{drawn_from(wildcards.kind)}/validation.extxyz"


def committee_setting(key):
    return DATASETS["selection"].get("committee", {}).get(key)


def previous_size(size):
    """The training size before `size` (None for the smallest): a committee round's starting set."""
    sizes = sorted(DATASETS["sizes"])
    position = sizes.index(int(size))
    return sizes[position - 1] if position else None


def previous_committee_set(wildcards):
    previous = previous_size(wildcards.size)
    return [] if previous is None else f"results/datasets/{wildcards.kind}/train_n{previous}.json"


def previous_committee_geometries(wildcards):
    previous = previous_size(wildcards.size)
    return [] if previous is None else f"results/datasets/{wildcards.kind}/train_n{previous}.extxyz"


def committee_round_picks(wildcards):
    if previous_size(wildcards.size) is None:
        return []
    return f"results/datasets/{wildcards.kind}/train_n{wildcards.size}.picks.json"


def pick_chunk_count(wildcards):
    """A round's labeling chunks: its picks over the chunk size."""
    picks = int(wildcards.size) - previous_size(wildcards.size)
    return max(1, -(-picks // LABELS["chunk_size"]))


def round_labeling(pattern):
    """A round's labeling outputs (labels.scope: datasets); none for a first set or a labeled pool."""

    def paths(wildcards):
        if previous_size(wildcards.size) is None or LABELS["scope"] == "pool":
            return []
        return expand(pattern, kind=wildcards.kind, size=wildcards.size, chunk=range(pick_chunk_count(wildcards)))

    return paths


pick_labels = round_labeling("results/labels/{kind}/train_n{size}/picks_{chunk}.extxyz")
pick_quarantines = round_labeling("results/labels/{kind}/train_n{size}/picks_{chunk}.quarantine.json")


def committee_predictions_of_previous_set(wildcards):
    """Each member's predictions of the candidates, the members trained on the previous size's set."""
    previous = previous_size(wildcards.size)
    if previous is None:
        return []
    return expand(f"results/datasets/{wildcards.kind}/n{previous}/predictions_seed{{seed}}.json", seed=DATASETS["seeds"])


def committee_member(wildcards):
    """The committee rung's model trained on a committee set with one seed."""
    from astray.models.registry import model_path

    name = committee_setting("model")
    return model_path(MODELS[name], kind=wildcards.kind, seed=wildcards.seed, size=wildcards.size, model=name)


def committee_architecture(wildcards):
    return MODELS[committee_setting("model")]["architecture"]


def all_training_sets(wildcards):
    paths = [training_set_path(kind, seed, size) for kind in TRAINING_KINDS for seed in DATASETS["seeds"]
             for size in DATASETS["sizes"]]  # fmt: skip
    return list(dict.fromkeys(paths))


# Each training run's set record (its frames and labels spent, beside its geometries), as ((dataset, seed,
# size), path): the cube's labels_spent.
SET_RECORDS = [
    ((kind, seed, size), training_set_path(kind, seed, size).removesuffix(".extxyz") + ".json")
    for kind in TRAINING_KINDS
    for seed in DATASETS["seeds"]
    for size in DATASETS["sizes"]
]


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


# MACE's environment: its requirements, the stamp its setup script leaves, the interpreter train_mace calls.
from astray.models.mace import ENVIRONMENT as MACE_ENVIRONMENT, PYTHON as MACE_PYTHON, REQUIREMENTS as MACE_REQUIREMENTS

MACE_READY = str(MACE_ENVIRONMENT / ".astray-requirements.sha256")
MACE_REQUIREMENTS = str(MACE_REQUIREMENTS)
SETUP_MACE = str(Path(workflow.basedir) / "scripts" / "setup-mace-env.sh")


def mace_environment(wildcards):
    return [] if RULES_BRING_THEIR_PACKAGES else [MACE_READY]


def mace_python(wildcards):
    """The interpreter of MACE's environment; empty under --use-conda, where the job's own is MACE's."""
    return "" if RULES_BRING_THEIR_PACKAGES else str(MACE_PYTHON)


def external_environment(wildcards):
    """MACE's environment where an external rung runs there (built by the mace_environment job)."""
    from astray.config_schema import model_spec

    uses_mace = model_spec(MODELS[wildcards.model])["environment"] == "mace"
    return [MACE_READY] if uses_mace and not RULES_BRING_THEIR_PACKAGES else []


def external_python(wildcards):
    """The interpreter of an external rung's environment; empty for astray's own, the job's interpreter."""
    from astray.models.external import interpreter

    return str(interpreter(MODELS[wildcards.model], MACE_PYTHON) or "")


if PLANNING:
    # Each rung as its architecture checks it (astray.models.registry), before any job runs.
    planning = Planning(not RULES_BRING_THEIR_PACKAGES, MACE_PYTHON, Path(MACE_READY).exists())
    with named_after(CONFIG_FILES):
        check_models(MODELS, planning)


def pretrained_recipe(wildcards):
    """The full recipe of a pretrained rung (its registry entry with the spec's overrides, or its factory)."""
    from astray.models.pretrained import resolve

    return resolve(wildcards.model, MODELS[wildcards.model])


def models_of(*architectures):
    """The model names of these architectures as a wildcard pattern, so each name has one training rule."""
    return "|".join(name for name, spec in MODELS.items() if spec["architecture"] in architectures) or "^$"


def trained_model(wildcards):
    """The file evaluation reads (astray.models.registry: SchNet's checkpoint, NequIP's compiled model or its
    package, a fine-tuned SevenNet, a pretrained rung's predictions)."""
    from astray.models.registry import model_path

    return model_path(MODELS[wildcards.model], **wildcards)


def model_summary(wildcards):
    """What evaluation reads beside the model (NequIP's summary.json: parameters, best epoch); nothing for
    the architectures whose model file describes itself."""
    from astray.models.registry import summary_path

    return summary_path(MODELS[wildcards.model], **wildcards)


def model_architecture(wildcards):
    return MODELS[wildcards.model]["architecture"]


def alignment_set(wildcards):
    """The training set a model that astray does not train is aligned on (its holdout offset); none for the
    models trained on it."""
    from astray.models.registry import architecture

    if architecture(MODELS[wildcards.model]).trained:
        return []
    return training_set(wildcards)


def every_largest_training_set(wildcards):
    """Each dataset's and seed's largest training set: every geometry an alignment is fitted on."""
    largest = max(DATASETS["sizes"])
    return list(dict.fromkeys(training_set_path(kind, seed, largest) for kind in TRAINING_KINDS
                              for seed in DATASETS["seeds"]))  # fmt: skip


def largest_training_sets(wildcards):
    """Each dataset's largest training set of the first seed: it contains every smaller one."""
    return [training_set_path(kind, DATASETS["seeds"][0], max(DATASETS["sizes"])) for kind in TRAINING_KINDS]


# The report's front page, written by rule abstract from the config and the cube.
ABSTRACT = "results/report/abstract.rst"


# Every training set of a kind that a committee also chooses from, as ((dataset, seed, size), path): what
# the selection figure compares. The committee's sets are one for every seed, listed under the first.
SELECTION_SETS = [
    ((kind, seed, size), training_set_path(kind, seed, size))
    for kind in TRAINING_KINDS
    if COMMITTEE_KINDS and drawn_from(kind) in map(drawn_from, COMMITTEE_KINDS)
    for seed in (DATASETS["seeds"] if strategy_of(kind) == "random" else DATASETS["seeds"][:1])
    for size in DATASETS["sizes"]
]


def campaign_outputs():
    tables = expand("results/tables/{table}.csv", table=["probe_metrics", "scaling", "quarantine"])
    plots = expand("results/plots/{model}{figure}.png", model=MODELS, figure=["", "_parity"])
    plots += ["results/plots/scaling.png", "results/plots/uncertainty_and_dynamics.png"]
    if COMMITTEE_KINDS:
        plots.append("results/plots/selection.png")
    pages = ["results/explorer.html", ABSTRACT]
    return ["results/cube.nc", "results/datasets/manifest.json", *tables, *plots, *pages]
