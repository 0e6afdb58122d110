"""What planning checks of a campaign beyond the schema, before any job runs, and the runs it holds.

rules/common.smk asks these with the validated config and the pool's summary (or, for a large pool not
yet read, its planned counts); each check raises an error naming the key, and `named_after` prefixes it
with the config files it comes from. The modules behind the checks (datasets, labels, engines, pretrained
models) are imported inside the functions: every cluster job parses the workflow again, and only the main
process plans.
"""

import contextlib


@contextlib.contextmanager
def named_after(config_files: str):
    """Errors raised in the block (astray's are ValueErrors) name the config files they come from."""
    try:
        yield
    except ValueError as error:
        raise type(error)(f"{config_files}: {error}") from None


def canonical(value):
    """Dicts with sorted keys, recursively: Snakemake compares params by their text, so reordering keys in
    the config must not look like a change that reruns the campaign."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def label_level(labels: dict) -> dict:
    """The level of theory, a param of the rules that label: engine, method, basis and density fitting."""
    return {key: labels[key] for key in ("engine", "method", "basis", "density_fit")}


def provided_labels(geometries: dict) -> dict | None:
    """The labels the files source declares its files come with, None if it declares none."""
    return (geometries["sources"].get("files") or {}).get("labels")


def provided_level(config: dict) -> dict | None:
    """The level that recomputes the provided labels' audit sample: their method and basis, astray's engine."""
    provided = provided_labels(config["geometries"])
    if not provided:
        return None
    return {**label_level(config["labels"]), **{key: provided["level"][key] for key in ("method", "basis")}}


def training_geometries(datasets: dict, kind: str, summary=None, planned=None) -> tuple[int, str]:
    """How many geometries of `kind` the training molecules have, and where that number comes from: the
    pool's `summary` where it was read, else the `planned` counts (astray.campaign.pool_plan.PlannedPool)."""
    from astray.datasets.splits import KIND_ORIGINS, split_molecules

    validation, test = datasets["validation_molecules"], datasets["test_molecules"]
    if summary:
        assignment = split_molecules(summary.molecules, validation, test, datasets["split_seed"])
        pool = f"{len(summary)} geometries from {len(set(summary.molecules))} molecules in the pool"
        return summary.count(assignment, "train", KIND_ORIGINS[kind]), pool
    training_molecules = planned.molecules - validation - test
    if training_molecules < 1:
        raise ValueError(
            f"datasets: validation_molecules ({validation}) + test_molecules ({test}) leave no training molecules "
            f"out of the {planned.molecules} molecules planned"
        )
    per_molecule = 1 if kind == "equilibrium" else planned.geometries / planned.molecules
    pool = f"about {planned.geometries} geometries planned from {planned.molecules} molecules, not yet read"
    return int(training_molecules * per_molecule), pool


def check_sizes_fit_pool(datasets: dict, summary=None, planned=None) -> None:
    """Fail at planning time, not after labeling, when a training size cannot be drawn. Without a summary
    (a large pool before its first run) the counts are those planned; the datasets jobs check again."""
    for kind in datasets["kinds"]:
        available, pool = training_geometries(datasets, kind, summary, planned)
        too_large = [size for size in datasets["sizes"] if size > available]
        if too_large:
            raise ValueError(
                f"datasets.sizes {too_large} exceed the {available} training geometries of kind '{kind}' ({pool})"
            )


def check_provided_labels(config: dict) -> None:
    """Labels that come with the files must be of the level astray computes the rest at (unless mixing is
    allowed on purpose), of a level astray's engine can recompute for their audit, and carry forces if
    training uses forces."""
    from astray.labels.engines import get_engine
    from astray.labels.from_files import level_tag
    from astray.labels.labeling import LabelInputError, Level

    labels, provided, key = config["labels"], provided_labels(config["geometries"]), "geometries.sources.files.labels"
    declared, own = level_tag(provided["level"]), level_tag(labels)
    if declared != own and not labels["allow_mixed_levels"]:
        raise ValueError(
            f"{key}.level: the files' labels are {declared}, but labels.method/basis ({own}) label their distorted "
            "copies, isolated atoms and references: a campaign would mix two levels. Set labels.method and "
            "labels.basis to the files' level, or labels.allow_mixed_levels: true to mix them."
        )
    engine = get_engine(labels["engine"])
    try:
        level = Level.from_config(provided_level(config))
        engine.check_method(level)
        engine.check_level(level, set())
    except LabelInputError as error:
        raise LabelInputError(f"{key}.level: astray cannot recompute it to audit them: {error}") from None
    force_weight = config["training"]["force_weight"]
    if force_weight > 0 and provided["forces"] == "none":
        raise ValueError(
            f"{key}.forces is none but training.force_weight is {force_weight}: the files' geometries would train "
            "without forces; declare their forces or set force_weight: 0"
        )


def check_selection(datasets: dict, models: dict) -> None:
    """A committee strategy needs a rung trained on each set, more than one seed to disagree, and more than
    one size to choose anything."""
    from astray.datasets.selection import selection_settings
    from astray.models.registry import architecture

    selection = selection_settings(datasets)
    if "committee" not in selection["strategies"]:
        return
    key = "datasets.selection.committee"
    if "committee" not in selection:
        raise ValueError(f"{key}: the committee strategy needs a committee (model: one rung of models)")
    name = selection["committee"]["model"]
    if name not in models:
        raise ValueError(f"{key}.model: '{name}' is not a rung of models ({', '.join(models)})")
    if not architecture(models[name]).trained:
        raise ValueError(
            f"{key}.model: '{name}' is a pretrained model, one model whatever the seed; a committee needs a rung "
            "trained on each set"
        )
    if len(datasets["seeds"]) < 2:
        raise ValueError(f"{key}: the committee is the seeds' models, and datasets.seeds has only one")
    if len(datasets["sizes"]) < 2:
        raise ValueError(f"{key}: with one size ({datasets['sizes'][0]}) there is no round to choose in")


def check_campaign(config: dict, summary=None, planned=None) -> None:
    """Everything planning checks of the config beyond the schema, given the pool's summary (or its
    planned counts): provided labels, sizes against the pool, forces, the FCI basis, the normal modes'
    Hessian level."""
    from astray.evaluation.probes import check_fci_basis
    from astray.geometries.distortions import check_hessian_level

    if provided_labels(config["geometries"]):
        check_provided_labels(config)
    check_sizes_fit_pool(config["datasets"], summary, planned)
    check_selection(config["datasets"], config["models"])
    force_weight = config["training"]["force_weight"]
    if force_weight > 0 and not config["labels"]["forces"]:
        raise ValueError(
            f"training.force_weight is {force_weight} but labels.forces is false: set labels.forces: true to "
            "train on forces, or force_weight: 0"
        )
    # The FCI reference's basis, and the normal modes' Hessian level (for the pool's elements, where they
    # are known; else the geometries job checks it first), are checked now, not when their jobs run.
    evaluation, normal_modes = config["evaluation"], config["geometries"]["distortions"]["normal_modes"]
    check_fci_basis(evaluation["probes"], evaluation["fci_basis"])
    if normal_modes["samples"] and summary:
        check_hessian_level(normal_modes["method"], normal_modes["basis"], summary.elements)


def check_models(models: dict, planning) -> None:
    """Each rung as its architecture checks it while planning (astray.models.registry: a pretrained name or
    factory, a fine-tunable potential, an external command template and environment), so a rung that
    cannot run stops the campaign now, not after labeling. `planning`: astray.models.registry.Planning."""
    from astray.models.registry import architecture

    for name, spec in models.items():
        entry = architecture(spec)
        if entry.check:
            entry.check(name, spec, planning)
