from astray.models.registry import PRETRAINED_FOLDER


# A pretrained model run once: every geometry evaluation and alignment need, each probe, its free atoms.
rule predict_pretrained:
    input:
        test="results/datasets/test.extxyz",
        training_sets=every_largest_training_set,
        atom_energies="results/labels/atom_energies.json",
        references="results/references/probes.nc",
    output:
        f"{PRETRAINED_FOLDER}/predictions.json",
    wildcard_constraints:
        model=models_of("pretrained"),
    params:
        code=script_code("predict_pretrained.py"),
        recipe=pretrained_recipe,
        dynamics=EVALUATION["dynamics"],
    threads: 1
    # Ahead of the trainings, which outnumber the cores: its molecular dynamics would otherwise start last
    # and hold the cube back (about a minute for SevenNet-0 on one core).
    priority: 1
    log:
        "results/logs/pretrained/{model}/predictions.json.log",
    benchmark:
        "results/benchmarks/pretrained/{model}/predictions.json.tsv"
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/predict_pretrained.py"


# One model's probe predictions, holdout errors and molecular dynamics (a pretrained model's read from its
# predictions).
rule evaluate:
    input:
        model=trained_model,
        summary=model_summary,
        train=alignment_set,
        test="results/datasets/test.extxyz",
        atom_energies="results/labels/atom_energies.json",
        references="results/references/probes.nc",
    output:
        "results/evaluation/{kind}/seed{seed}/n{size}/{model}.nc",
    params:
        code=script_code("evaluate.py"),
        architecture=model_architecture,
        dynamics=EVALUATION["dynamics"],
    log:
        "results/logs/evaluation/{kind}/seed{seed}/n{size}/{model}.nc.log",
    benchmark:
        "results/benchmarks/evaluation/{kind}/seed{seed}/n{size}/{model}.nc.tsv"
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/evaluate.py"
