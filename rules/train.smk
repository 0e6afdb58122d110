# One trained model per capacity, dataset kind, seed and size. SchNet, and SevenNet fine-tuned, train in
# astray's own loop; NequIP and Allegro through NequIP's tools, one rule each: nequip-train, nequip-package,
# nequip-compile; MACE and any other MLIP through their own command lines.
# One folder per run; evaluation finds its model there through the same pattern.
from astray.models.registry import RUN_FOLDER as RUN

# The log of results/X is results/logs/X.log, its timing results/benchmarks/X.tsv.
LOGS = RUN.replace("results/", "results/logs/", 1)
BENCHMARKS = RUN.replace("results/", "results/benchmarks/", 1)
TRAINING_INPUTS = dict(
    train=training_set,
    validation=validation_set,
    atom_energies="results/labels/atom_energies.json",
)


# SchNet: best checkpoint (with its spec and normalisation inside) and loss history.
rule train:
    input:
        **TRAINING_INPUTS,
    output:
        model=f"{RUN}/model.pt",
        history=f"{RUN}/history.csv",
    wildcard_constraints:
        model=models_of("schnet"),
    params:
        code=script_code("train.py"),
        spec=model_spec,
        training=config["training"],
    log:
        f"{LOGS}/model.pt.log",
    benchmark:
        f"{BENCHMARKS}/model.pt.tsv"
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/train.py"


# A pretrained SevenNet fine-tuned on the training set (astray/models/finetune.py); RUN/resume.pt lets a
# killed job continue.
rule train_finetune:
    input:
        **TRAINING_INPUTS,
    output:
        model=f"{RUN}/model.sevennet.pt",
        history=f"{RUN}/history.csv",
    wildcard_constraints:
        model=models_of("finetune"),
    params:
        code=script_code("finetune.py"),
        spec=model_spec,
        training=config["training"],
    log:
        f"{LOGS}/model.sevennet.pt.log",
    benchmark:
        f"{BENCHMARKS}/model.sevennet.pt.tsv"
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/finetune.py"


# NequIP or Allegro: nequip-train in RUN/nequip/ (kept there, so a killed job resumes from its last.ckpt), then the
# best checkpoint, the loss history and a summary for evaluation.
rule train_nequip:
    input:
        **TRAINING_INPUTS,
    output:
        checkpoint=f"{RUN}/best.ckpt",
        summary=f"{RUN}/summary.json",
        history=f"{RUN}/history.csv",
    wildcard_constraints:
        model=models_of("nequip", "allegro"),
    params:
        code=script_code("train_nequip.py"),
        spec=model_spec,
        training=config["training"],
        workdir=f"{RUN}/nequip",
    log:
        f"{LOGS}/best.ckpt.log",
    benchmark:
        f"{BENCHMARKS}/best.ckpt.tsv"
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/train_nequip.py"


# MACE: mace_run_train in MACE's own environment (astray/models/mace.py), in RUN/mace/ (kept there, so a
# killed job resumes from its latest checkpoint); evaluation reads RUN/calculator.json, the recipe of its ASE
# calculator in that environment.
rule train_mace:
    input:
        **TRAINING_INPUTS,
        environment=mace_environment,
    output:
        recipe=f"{RUN}/calculator.json",
        history=f"{RUN}/history.csv",
    wildcard_constraints:
        model=models_of("mace"),
    params:
        code=script_code("train_mace.py"),
        spec=model_spec,
        training=config["training"],
        workdir=f"{RUN}/mace",
        python=mace_python,
    log:
        f"{LOGS}/calculator.json.log",
    benchmark:
        f"{BENCHMARKS}/calculator.json.tsv"
    conda:
        "../envs/mace.yaml"
    script:
        "../workflow_scripts/train_mace.py"


# Any MLIP with a command line (astray/models/external.py): the spec's training command in RUN/external/output
# (kept there, so a trainer that restarts from its own checkpoints resumes), run with the spec's environment;
# evaluation reads RUN/calculator.json, the recipe of the spec's calculator in that environment.
rule train_external:
    input:
        **TRAINING_INPUTS,
        environment=external_environment,
    output:
        recipe=f"{RUN}/calculator.json",
    wildcard_constraints:
        model=models_of("external"),
    params:
        code=script_code("train_external.py"),
        spec=model_spec,
        training=config["training"],
        workdir=f"{RUN}/external",
        python=external_python,
    log:
        f"{LOGS}/calculator.json.log",
    benchmark:
        f"{BENCHMARKS}/calculator.json.tsv"
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/train_external.py"


# MACE's environment (.venv-mace), built on this machine the first time a campaign has a MACE rung; not
# under --use-conda, where envs/mace.yaml is train_mace's environment.
rule mace_environment:
    input:
        MACE_REQUIREMENTS,
    output:
        MACE_READY,
    params:
        setup=SETUP_MACE,
    localrule: True
    log:
        "results/logs/mace_environment.log",
    # Documents what the environment holds; under --use-conda train_mace does not ask for this job.
    conda:
        "../envs/mace.yaml"
    shell:
        "bash {params.setup} > {log} 2>&1"


rule package_nequip:
    input:
        f"{RUN}/best.ckpt",
    output:
        f"{RUN}/model.nequip.zip",
    params:
        code=script_code("package_nequip.py"),
    log:
        f"{LOGS}/model.nequip.zip.log",
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/package_nequip.py"


# Ahead-of-time compiled for the ASE calculator on the CPU, where evaluation runs.
rule compile_nequip:
    input:
        f"{RUN}/model.nequip.zip",
    output:
        f"{RUN}/model.nequip.pt2",
    params:
        code=script_code("compile_nequip.py"),
    log:
        f"{LOGS}/model.nequip.pt2.log",
    conda:
        "../envs/ml.yaml"
    script:
        "../workflow_scripts/compile_nequip.py"
