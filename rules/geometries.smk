# Equilibrium molecules and their bond-scaled copies, one extxyz frame per geometry.
rule geometries:
    output:
        "results/geometries/pool.extxyz",
    params:
        geometries=GEOMETRIES,
    log:
        "results/logs/geometries.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/geometries.py"
