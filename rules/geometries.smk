# Equilibrium molecules of every source, their distorted copies and scans, one extxyz frame per geometry.
# The chemical-space source's counts and failures go beside it.
rule geometries:
    output:
        pool="results/geometries/pool.extxyz",
        chemical_space="results/geometries/chemical_space.json",
    params:
        code=script_code("geometries.py"),
        geometries=GEOMETRIES,
        sources=SOURCES_FINGERPRINT,
        # Where planning left the embedded chemical space, so this job reads it instead of embedding again.
        cache=str(PLANNING_CACHE),
    # Threads come from the profile; only the normal-mode Hessians use more than one.
    threads: 1
    log:
        "results/logs/geometries/pool.extxyz.log",
    benchmark:
        "results/benchmarks/geometries/pool.extxyz.tsv"
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/geometries.py"
