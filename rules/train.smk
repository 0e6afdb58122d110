# One trained model: best checkpoint (with its spec and normalisation inside) and loss history.
rule train:
    input:
        train="results/datasets/{kind}/seed{seed}/train_n{size}.extxyz",
        validation="results/datasets/{kind}/validation.extxyz",
        atom_energies="results/labels/atom_energies.json",
    output:
        model="results/models/{kind}/seed{seed}/n{size}/{model}/model.pt",
        history="results/models/{kind}/seed{seed}/n{size}/{model}/history.csv",
    params:
        code=stage_code("training"),
        spec=model_spec,
        training=config["training"],
    log:
        "results/logs/train/{kind}/seed{seed}/n{size}/{model}.log",
    benchmark:
        "results/benchmarks/train/{kind}/seed{seed}/n{size}/{model}.tsv"
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/train.py"
