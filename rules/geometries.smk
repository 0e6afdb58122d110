# Equilibrium molecules of every source, their distorted copies and scans, one extxyz frame per geometry,
# and the pool's summary (molecule, origin and formula of each geometry; its elements). The chemical-space
# source's counts and failures go beside it.
rule geometries:
    output:
        pool="results/geometries/pool.extxyz",
        summary="results/geometries/summary.json",
        chemical_space="results/geometries/chemical_space.json",
    params:
        code=script_code("geometries.py"),
        geometries=GEOMETRIES,
        sources=sources_fingerprint,
        identity=pool_of_sources,
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


# Every geometry checked for labeling at the label level (element, basis, charge and spin, overlapping
# atoms), then the geometries to label (labels.scope) laid out in the planned number of labeling chunks.
# Labeling waits for it: a pool too large to check while planning stops here, naming the geometry, before
# any calculation starts.
rule check_pool:
    input:
        pool="results/geometries/pool.extxyz",
        needed="results/labels/needed.json",
    output:
        "results/labels/chunks.json",
    params:
        code=script_code("check_pool.py"),
        level=LEVEL,
        min_distance=LABELS["min_distance"],
        chunks=chunk_count,
    log:
        "results/logs/labels/chunks.json.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/check_pool.py"
