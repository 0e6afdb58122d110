# Equilibrium molecules of every source, their distorted copies and scans, one extxyz frame per geometry.
rule geometries:
    output:
        "results/geometries/pool.extxyz",
    params:
        code=stage_code("geometries"),
        geometries=GEOMETRIES,
        sources=SOURCES_FINGERPRINT,
    # Threads come from the profile; only the normal-mode Hessians use more than one.
    threads: 1
    log:
        "results/logs/geometries.log",
    benchmark:
        "results/benchmarks/geometries.tsv"
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/geometries.py"
