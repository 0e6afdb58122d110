# Energies and forces of one chunk of the pool; finished geometries survive a killed job.
rule label_chunk:
    input:
        pool="results/geometries/pool.extxyz",
        chunks="results/labels/chunks.json",
        # Labels that came with the files are audited first: a mismatch stops the run before labeling.
        audit=audited_labels,
    output:
        labeled="results/labels/chunk_{chunk}.extxyz",
        quarantine="results/labels/chunk_{chunk}.quarantine.json",
    params:
        code=script_code("label_chunk.py"),
        level=LEVEL,
        warm_start=LABELS["warm_start"],
        forces=LABELS["forces"],
        progress="results/labels/progress/chunk_{chunk}.jsonl",
    # Threads come from the profile (set-threads); PySCF and Psi4 are told this number, never more.
    threads: 1
    log:
        "results/logs/labels/chunk_{chunk}.extxyz.log",
    benchmark:
        "results/benchmarks/labels/chunk_{chunk}.extxyz.tsv"
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/label_chunk.py"


# Isolated-atom energies at the label level, for atomization energies: of every element of the pool
# and of the probes.
rule atom_energies:
    input:
        summary="results/geometries/summary.json",
        # After the pool's check, like every labeling job: an element no engine can label stops the run there.
        checked="results/labels/chunks.json",
    output:
        "results/labels/atom_energies.json",
    params:
        code=script_code("atom_energies.py"),
        probes=EVALUATION["probes"],
        level=LEVEL,
    threads: 1
    log:
        "results/logs/labels/atom_energies.json.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/atom_energies.py"


# All labeled geometries in one file, with the pool frame of each; every quarantined geometry with its
# reason; and the references (RHF/UHF/...) the one electronic-state rule chose, counted per origin. Where a
# quarantined geometry leaves a random set short (labels.scope: datasets), the next one in its order is
# labeled here.
rule merge_labels:
    input:
        chunks=label_chunks,
        quarantines=chunk_quarantines,
        pool="results/geometries/pool.extxyz",
        splits="results/datasets/splits.json",
        frame_index="results/datasets/frame_index.json",
    output:
        labeled="results/labels/labeled.extxyz",
        frames="results/labels/labeled.json",
        quarantine="results/labels/quarantine.json",
        references="results/labels/references.json",
    params:
        code=script_code("merge_labels.py"),
        level=LEVEL,
        warm_start=LABELS["warm_start"],
        forces=LABELS["forces"],
        kinds=DATASETS["kinds"],
        seeds=DATASETS["seeds"],
        size=max(DATASETS["sizes"]),
        progress="results/labels/progress/replacements.jsonl",
    threads: 1
    log:
        "results/logs/labels/labeled.extxyz.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/merge_labels.py"


# One chunk of a committee round's picks, labeled where labeling the random sets and holdouts did not
# (labels.scope: datasets): the round's reference calculations, chunked like the pool's.
rule label_picks:
    input:
        picks="results/datasets/{kind}/train_n{size}.picks.json",
        pool="results/geometries/pool.extxyz",
        labeled_frames="results/labels/labeled.json",
    output:
        labeled="results/labels/{kind}/train_n{size}/picks_{chunk}.extxyz",
        quarantine="results/labels/{kind}/train_n{size}/picks_{chunk}.quarantine.json",
    wildcard_constraints:
        kind="|".join(COMMITTEE_KINDS) or "^$",
    params:
        code=script_code("label_picks.py"),
        chunks=pick_chunk_count,
        level=LEVEL,
        warm_start=LABELS["warm_start"],
        forces=LABELS["forces"],
        progress="results/labels/progress/{kind}/train_n{size}/picks_{chunk}.jsonl",
    threads: 1
    log:
        "results/logs/labels/{kind}/train_n{size}/picks_{chunk}.extxyz.log",
    benchmark:
        "results/benchmarks/labels/{kind}/train_n{size}/picks_{chunk}.extxyz.tsv"
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/label_picks.py"


# A seeded sample of the labels that came with the files, recomputed at their declared level and compared
# (astray/labels/audit.py): per geometry in the table, its summary for the cube; a deviation beyond the tolerance
# stops the run with a diagnosis, before any labeling job or dataset.
rule audit_labels:
    input:
        pool="results/geometries/pool.extxyz",
        chunks="results/labels/chunks.json",
    output:
        table=report("results/labels/audit.csv", caption="../report/audit.rst", category="Tables"),
        summary="results/labels/audit.json",
    params:
        code=script_code("audit_labels.py"),
        level=lambda wildcards: PROVIDED_LEVEL,
        declared=lambda wildcards: PROVIDED,
        audit=LABELS["audit"],
        progress="results/labels/progress/audit.jsonl",
    threads: 1
    log:
        "results/logs/labels/audit.csv.log",
    conda:
        "../envs/qc.yaml"
    script:
        "../workflow_scripts/audit_labels.py"
