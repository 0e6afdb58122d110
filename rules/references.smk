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
        "results/logs/references/probes.nc.log",
    benchmark:
        "results/benchmarks/references/probes.nc.tsv"
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/reference_curves.py"
