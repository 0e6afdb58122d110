# Reference curves of every probe: the label method and the exact answer (FCI for H2, 1/r for protons).
rule reference_curves:
    input:
        atom_energies="results/labels/atom_energies.json",
    output:
        "results/references/probes.nc",
    params:
        code=script_code("reference_curves.py"),
        probes=EVALUATION["probes"],
        distances=EVALUATION["distances"],
        fci_basis=EVALUATION["fci_basis"],
        level=LEVEL,
    threads: 1
    log:
        "results/logs/evaluate/reference_curves.log",
    benchmark:
        "results/benchmarks/evaluate/reference_curves.tsv"
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/reference_curves.py"


# A pretrained model run once: every geometry evaluation and alignment need, each probe, its free atoms.
rule predict_pretrained:
    input:
        test="results/datasets/test.extxyz",
        training_sets=every_largest_training_set,
        atom_energies="results/labels/atom_energies.json",
        references="results/references/probes.nc",
    output:
        "results/pretrained/{model}/predictions.json",
    wildcard_constraints:
        model=models_of("pretrained"),
    params:
        code=script_code("predict_pretrained.py"),
        recipe=lambda wildcards: PRETRAINED_RECIPES[wildcards.model],
    threads: 1
    log:
        "results/logs/pretrained/{model}.log",
    benchmark:
        "results/benchmarks/pretrained/{model}.tsv"
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/predict_pretrained.py"


# One model's probe predictions and holdout errors.
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
    log:
        "results/logs/evaluate/{kind}/seed{seed}/n{size}/{model}.log",
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/evaluate.py"


# The result cube: every evaluation and the references, with provenance.
rule cube:
    input:
        evaluations=all_evaluations,
        references="results/references/probes.nc",
        quarantine="results/labels/quarantine.json",
        manifest="results/datasets/manifest.json",
    output:
        "results/cube.nc",
    params:
        code=script_code("cube.py"),
        # Provenance: the whole config but the plot settings, so restyling a figure leaves the cube alone.
        config={key: value for key, value in config.items() if key != "plots"},
    log:
        "results/logs/evaluate/cube.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/cube.py"


# Probe curves of one model for every kind and size, against both references, over the distances its
# largest training sets covered.
rule plot_model:
    input:
        evaluations=evaluations_of_model,
        references="results/references/probes.nc",
        training_sets=largest_training_sets,
    output:
        report(
            "results/plots/{model}.png",
            caption="../report/model_curves.rst",
            category="Probe curves",
        ),
    params:
        code=script_code("plot_model.py"),
        kinds=DATASETS["kinds"],
        plots=PLOTS,
    log:
        "results/logs/plots/{model}.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/plot_model.py"


# Errors against training-set size with the fitted power laws.
rule plot_scaling:
    input:
        "results/cube.nc",
    output:
        report("results/plots/scaling.png", caption="../report/scaling.rst", category="Scaling"),
    params:
        code=script_code("plot_scaling.py"),
        plots=PLOTS,
    log:
        "results/logs/plots/scaling.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/plot_scaling.py"


# The cube's metrics as plain tables, and the labeling quarantine by reason.
rule tables:
    input:
        cube="results/cube.nc",
        quarantine="results/labels/quarantine.json",
    output:
        probe_metrics=report(
            "results/tables/probe_metrics.csv", caption="../report/probe_metrics.rst", category="Tables"
        ),
        scaling=report("results/tables/scaling.csv", caption="../report/scaling_table.rst", category="Tables"),
        quarantine=report("results/tables/quarantine.csv", caption="../report/quarantine.rst", category="Tables"),
    params:
        code=script_code("tables.py"),
    log:
        "results/logs/tables.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/tables.py"
