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
