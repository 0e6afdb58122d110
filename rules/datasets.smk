# Molecule split into train/validation/test, the shared test set, each kind's validation set and the frame
# index the training-set jobs order their geometries by.
rule holdout_sets:
    input:
        "results/labels/labeled.extxyz",
    output:
        splits="results/datasets/splits.json",
        frame_index="results/datasets/frame_index.json",
        test="results/datasets/test.extxyz",
        validation=expand("results/datasets/{kind}/validation.extxyz", kind=DATASETS["kinds"]),
    params:
        code=script_code("holdout_sets.py"),
        kinds=DATASETS["kinds"],
        validation_molecules=DATASETS["validation_molecules"],
        test_molecules=DATASETS["test_molecules"],
        split_seed=DATASETS["split_seed"],
    log:
        "results/logs/datasets/splits.json.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/holdout_sets.py"


# One nested training set: the first {size} geometries of the kind's seeded order, found in the frame index
# and read alone from the labeled pool.
rule training_set:
    input:
        labeled="results/labels/labeled.extxyz",
        splits="results/datasets/splits.json",
        frame_index="results/datasets/frame_index.json",
    output:
        "results/datasets/{kind}/seed{seed}/train_n{size}.extxyz",
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
# previous size's set and the candidates its committee disagrees on most; beside it, the frames it holds
# and each round's picks.
rule committee_set:
    input:
        labeled="results/labels/labeled.extxyz",
        splits="results/datasets/splits.json",
        frame_index="results/datasets/frame_index.json",
        chosen=previous_committee_set,
        predictions=committee_predictions_of_previous_set,
    output:
        geometries="results/datasets/{kind}/train_n{size}.extxyz",
        frames="results/datasets/{kind}/train_n{size}.json",
    wildcard_constraints:
        kind="|".join(COMMITTEE_KINDS) or "^$",
    params:
        code=script_code("committee_set.py"),
        first_seed=DATASETS["seeds"][0],
        per_molecule=committee_setting("per_molecule"),
    priority: 1
    log:
        "results/logs/datasets/{kind}/train_n{size}.extxyz.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/committee_set.py"


# One committee member, trained on a committee set, predicts every candidate the set does not hold yet.
rule committee_predictions:
    input:
        model=committee_member,
        labeled="results/labels/labeled.extxyz",
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
