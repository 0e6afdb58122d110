# astray: does a machine-learned potential learn H2 and Coulomb's law as data and capacity grow?
#
# results/
#   geometries/pool.extxyz                     molecules of every source, their distortions and scans
#   labels/                                    chunked PySCF labels, isolated-atom energies, quarantine
#   datasets/                                  nested training sets per kind/seed, validation, shared test
#   references/probes.nc                       H2 (label method, FCI) and H2_2plus (1/r) reference curves
#   models/{kind}/seed{seed}/n{size}/{model}/  trained checkpoints and loss histories
#   pretrained/{model}/predictions.json        a pretrained model's predictions, made once
#   evaluation/{kind}/seed{seed}/n{size}/      one NetCDF per model and training run
#   cube.nc                                    the result cube (docs/cube.md)
#   plots/                                     probe curves and parity per model; errors against N with fits
#   tables/                                    probe metrics, scaling fits, quarantine (CSV)
#   explorer.html, report/abstract.rst         the cube to browse offline; the report's front page

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/geometries.smk"
include: "rules/labels.smk"
include: "rules/datasets.smk"
include: "rules/train.smk"
include: "rules/references.smk"
include: "rules/evaluation.smk"
include: "rules/report.smk"


# `snakemake --report report.html` gathers the plots and tables marked with report(). Its front page is the
# abstract a finished run wrote from its config and cube (rule abstract); before that, a placeholder.
report: str(Path(ABSTRACT).resolve()) if Path(ABSTRACT).exists() else "report/workflow.rst"


rule all:
    default_target: True
    input:
        campaign_outputs(),
