# Molecule split into train/validation/test and the frame index the dataset jobs order geometries by,
# made on the pool before any label exists; and the frames labeling covers: every one (labels.scope: pool)
# or those the random sets and holdouts use (datasets).
rule split_pool:
    input:
        "results/geometries/pool.extxyz",
    output:
        splits="results/datasets/splits.json",
        frame_index="results/datasets/frame_index.json",
        needed="results/labels/needed.json",
    params:
        code=script_code("split_pool.py"),
        validation_molecules=DATASETS["validation_molecules"],
        test_molecules=DATASETS["test_molecules"],
        split_seed=DATASETS["split_seed"],
        scope=LABELS["scope"],
        kinds=DATASETS["kinds"],
        seeds=DATASETS["seeds"],
        size=max(DATASETS["sizes"]),
    log:
        "results/logs/datasets/splits.json.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/split_pool.py"


# The shared test set and each kind's validation set.
rule holdout_sets:
    input:
        labeled="results/labels/labeled.extxyz",
        splits="results/datasets/splits.json",
    output:
        test="results/datasets/test.extxyz",
        validation=expand("results/datasets/{kind}/validation.extxyz", kind=DATASETS["kinds"]),
    params:
        code=script_code("holdout_sets.py"),
        kinds=DATASETS["kinds"],
    log:
        "results/logs/datasets/test.extxyz.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/holdout_sets.py"


# One nested training set: the first {size} labeled geometries of the kind's seeded order, read alone from
# the labeled pool; beside it its frames and the calculations it needed (labels spent).
rule training_set:
    input:
        labeled="results/labels/labeled.extxyz",
        labeled_frames="results/labels/labeled.json",
        splits="results/datasets/splits.json",
        frame_index="results/datasets/frame_index.json",
    output:
        geometries="results/datasets/{kind}/seed{seed}/train_n{size}.extxyz",
        record="results/datasets/{kind}/seed{seed}/train_n{size}.json",
    params:
        code=script_code("training_set.py"),
    # Seconds each, and a pretrained model's prediction job waits for every largest set: made before the
    # trainings take every core.
    priority: 1
    log:
        "results/logs/datasets/{kind}/seed{seed}/train_n{size}.extxyz.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/training_set.py"


# A committee-chosen set (datasets.selection): the random strategy's smallest set of the first seed, or the
# previous size's set and the round's picks; beside it, the frames it holds, each round's picks and the
# labels it spent. A quarantined pick's place goes to the next candidate, labeled in this job.
rule committee_set:
    input:
        labeled="results/labels/labeled.extxyz",
        labeled_frames="results/labels/labeled.json",
        pool="results/geometries/pool.extxyz",
        splits="results/datasets/splits.json",
        frame_index="results/datasets/frame_index.json",
        previous=previous_committee_geometries,
        chosen=previous_committee_set,
        predictions=committee_predictions_of_previous_set,
        picks=committee_round_picks,
        pick_labels=pick_labels,
        pick_quarantines=pick_quarantines,
    output:
        geometries="results/datasets/{kind}/train_n{size}.extxyz",
        frames="results/datasets/{kind}/train_n{size}.json",
    wildcard_constraints:
        kind="|".join(COMMITTEE_KINDS) or "^$",
    params:
        code=script_code("committee_set.py"),
        first_seed=DATASETS["seeds"][0],
        per_molecule=committee_setting("per_molecule"),
        level=LEVEL,
        warm_start=LABELS["warm_start"],
        forces=LABELS["forces"],
        progress="results/labels/progress/{kind}/train_n{size}.replacements.jsonl",
    priority: 1
    log:
        "results/logs/datasets/{kind}/train_n{size}.extxyz.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/committee_set.py"


# One committee member, trained on a committee set, predicts every candidate the set does not hold yet
# from the pool's geometries: ranking a candidate needs no label.
rule committee_predictions:
    input:
        model=committee_member,
        pool="results/geometries/pool.extxyz",
        quarantine="results/labels/quarantine.json",
        splits="results/datasets/splits.json",
        frame_index="results/datasets/frame_index.json",
        chosen="results/datasets/{kind}/train_n{size}.json",
    output:
        "results/datasets/{kind}/n{size}/predictions_seed{seed}.json",
    wildcard_constraints:
        kind="|".join(COMMITTEE_KINDS) or "^$",
    params:
        code=script_code("committee_predictions.py"),
        architecture=committee_architecture,
    threads: 1
    priority: 1
    log:
        "results/logs/datasets/{kind}/n{size}/predictions_seed{seed}.json.log",
    benchmark:
        "results/benchmarks/datasets/{kind}/n{size}/predictions_seed{seed}.json.tsv"
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/committee_predictions.py"


# A round's picks: what the members trained on the previous set disagree on most, under the guard.
rule committee_picks:
    input:
        predictions=committee_predictions_of_previous_set,
        chosen=previous_committee_set,
        frame_index="results/datasets/frame_index.json",
    output:
        "results/datasets/{kind}/train_n{size}.picks.json",
    wildcard_constraints:
        kind="|".join(COMMITTEE_KINDS) or "^$",
    params:
        code=script_code("committee_picks.py"),
        per_molecule=committee_setting("per_molecule"),
    priority: 1
    log:
        "results/logs/datasets/{kind}/train_n{size}.picks.json.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/committee_picks.py"


# Manifest of every dataset file: sizes, seeds, content hashes, origins histogram.
rule dataset_manifest:
    input:
        training=all_training_sets,
        validation=expand("results/datasets/{kind}/validation.extxyz", kind=DATASETS["kinds"]),
        test="results/datasets/test.extxyz",
    output:
        "results/datasets/manifest.json",
    params:
        code=script_code("dataset_manifest.py"),
    log:
        "results/logs/datasets/manifest.json.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/dataset_manifest.py"
