# The result cube: every evaluation and the references, with provenance.
rule cube:
    input:
        evaluations=all_evaluations,
        references="results/references/probes.nc",
        quarantine="results/labels/quarantine.json",
        set_records=[path for _, path in SET_RECORDS],
        manifest="results/datasets/manifest.json",
        audit=audited_labels,
    output:
        "results/cube.nc",
    params:
        code=script_code("cube.py"),
        set_keys=[key for key, _ in SET_RECORDS],
        # Provenance: the whole config but the plot settings, so restyling a figure leaves the cube alone.
        config={key: value for key, value in config.items() if key != "plots"},
    log:
        "results/logs/cube.nc.log",
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
        kinds=TRAINING_KINDS,
        plots=PLOTS,
    log:
        "results/logs/plots/{model}.png.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/plot_model.py"


# Holdout energies of one model against their labels, per kind and size (every seed's points).
rule plot_parity:
    input:
        evaluations=evaluations_of_model,
    output:
        report(
            "results/plots/{model}_parity.png",
            caption="../report/parity.rst",
            category="Parity",
        ),
    params:
        code=script_code("plot_parity.py"),
        plots=PLOTS,
    log:
        "results/logs/plots/{model}_parity.png.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/plot_parity.py"


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
        "results/logs/plots/scaling.png.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/plot_scaling.py"


# Committee-chosen against random sets (datasets.selection): errors against N, and what each set holds.
rule plot_selection:
    input:
        cube="results/cube.nc",
        training_sets=[path for _, path in SELECTION_SETS],
    output:
        plot=report("results/plots/selection.png", caption="../report/selection.rst", category="Scaling"),
        table="results/tables/selection.csv",
        equal_error="results/tables/selection_equal_error.csv",
    params:
        code=script_code("plot_selection.py"),
        sets=[run for run, _ in SELECTION_SETS],
        plots=PLOTS,
    log:
        "results/logs/plots/selection.png.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/plot_selection.py"


# Committee calibration, softening and molecular dynamics stability against training-set size.
rule plot_uncertainty_and_dynamics:
    input:
        "results/cube.nc",
    output:
        report(
            "results/plots/uncertainty_and_dynamics.png",
            caption="../report/uncertainty_and_dynamics.rst",
            category="Scaling",
        ),
    params:
        code=script_code("plot_uncertainty_and_dynamics.py"),
        plots=PLOTS,
    log:
        "results/logs/plots/uncertainty_and_dynamics.png.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/plot_uncertainty_and_dynamics.py"


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
        "results/logs/tables/probe_metrics.csv.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/tables.py"


# One self-contained HTML page (plotly.js inlined) to browse the cube: probe curves, learning curves, parity.
rule explorer:
    input:
        "results/cube.nc",
    output:
        "results/explorer.html",
    params:
        code=script_code("explorer.py"),
    log:
        "results/logs/explorer.html.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/explorer.py"


# The report's front page, written from the config and the cube (the Snakefile's `report:` reads it).
rule abstract:
    input:
        cube="results/cube.nc",
        references="results/labels/references.json",
    output:
        ABSTRACT,
    params:
        code=script_code("abstract.py"),
    log:
        "results/logs/report/abstract.rst.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/abstract.py"
