"""Planning benchmark: `snakemake -n` on the paper-scale campaign against a bare Snakefile with as many jobs.

    .venv/bin/python benchmarks/planning.py [--molecules 133885] [--out benchmarks/results/planning.json]

QM9 cannot be downloaded here, so the benchmark writes a stand-in: as many files in the QM9 layout as QM9
has molecules (133,885), each a G2 molecule of H, C, N, O, F with 3-18 atoms whose atoms are displaced by
0.03 Å (so no two files are duplicates). `config/paper_scale.yaml` is then planned with `snakemake -n`
against that folder (with `--molecules` below QM9's count, the sizes and holdouts shrink in proportion).
Three astray timings: cold (nothing cached in .snakemake/astray/: the files listed, their frames counted),
re-plan (the plan cached by the previous one, as after changing models, sizes or seeds), and the parse
every cluster job makes before it runs (Snakemake's own remote-mode command for one labeling job, as the
SLURM executor submits it, with `-n` so only the parse and the job's DAG are timed). The baseline is
Snakemake planning a bare Snakefile with the same number of jobs per rule and nothing else, and the same
job command against it. Each is timed twice, alternating, and the best is kept; the ratios are astray's
time over Snakemake's own. The planning summary (`python -m astray.plan`: the re-plan's dry run plus the
cost estimate, which reads every geometry the first time) is timed beside them, and its text kept.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.collections import g2

REPO = Path(__file__).resolve().parents[1]
QM9_ELEMENTS = {"H", "C", "N", "O", "F"}


def qm9_like_folder(folder: Path, count: int, seed: int = 0) -> None:
    """`count` files in the QM9 download's layout, from displaced G2 molecules."""
    templates = [g2[name] for name in g2.names
                 if set(g2[name].get_chemical_symbols()) <= QM9_ELEMENTS and 3 <= len(g2[name]) <= 18]  # fmt: skip
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(1, count + 1):
        atoms = templates[index % len(templates)]
        positions = atoms.positions + rng.normal(0.0, 0.03, atoms.positions.shape)
        rows = "".join(f"{s}\t{x:.10f}\t{y:.10f}\t{z:.10f}\t0.0\n" for s, (x, y, z) in zip(atoms.symbols, positions))
        text = (
            f"{len(atoms)}\ngdb {index}\t" + "\t".join(["0.0"] * 15) + f"\t\n{rows}100.0\nC\tC\t\nInChI=1S\tInChI=1S\n"
        )
        (folder / f"dsgdb9nsd_{index:06d}.xyz").write_text(text)


def scaled_datasets(molecules: int) -> dict:
    """The paper-scale sizes and holdouts shrunk in proportion to a stand-in with fewer molecules."""
    fraction = molecules / 133_885
    sizes = [1000, 2000, 5000, 10000, 50000, 100000]
    return {
        "sizes": sorted({max(1, int(size * fraction)) for size in sizes}),
        "validation_molecules": max(1, int(1000 * fraction)),
        "test_molecules": max(1, int(10000 * fraction)),
    }


def snakemake_dry_run(workdir: Path, *args) -> tuple[float, dict]:
    command = [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--directory", str(workdir), *args]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    table = result.stdout.split("Job stats:")[-1]
    jobs = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M) if rule != "total"}
    return elapsed, jobs


def job_parse(workdir: Path, rule: str, wildcards: str, *args) -> float:
    """The parse a cluster job makes of the workflow before running, for one job of `rule`."""
    command = [sys.executable, "-m", "snakemake", "--mode", "remote", "-n", "--target-jobs", f"{rule}:{wildcards}",
               "--allowed-rules", rule, "--force", "--nolock", "--cores", "1", "--max-inventory-time", "0",
               "--ignore-incomplete", "--directory", str(workdir), *args]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - start


def plan_summary(workdir: Path, configs) -> tuple[float, str]:
    """`python -m astray.plan` on the cached pool: the dry run plus the cost estimate."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "astray.plan", "--configfile", *configs], cwd=workdir,
                            capture_output=True, text=True, check=True)  # fmt: skip
    return time.perf_counter() - start, result.stdout


def bare_snakefile(jobs: dict) -> str:
    """A Snakefile with the same number of jobs per rule, each a trivial output, all gathered by `all`."""
    lines = []
    for rule in jobs:
        if rule == "all":
            continue
        lines += [f"rule {rule}:", f"    output: 'out/{rule}/{{i}}.txt'", "    shell: 'touch {output}'", ""]
    targets = ", ".join(f"expand('out/{rule}/{{i}}.txt', i=range({n}))" for rule, n in jobs.items() if rule != "all")
    return "\n".join(["rule all:", f"    input: {targets}", "", *lines])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--molecules", type=int, default=133_885)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/planning.json")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="astray-plan-"))
    start = time.perf_counter()
    qm9_like_folder(workdir / "data" / "qm9", args.molecules)
    print(f"wrote {args.molecules} QM9-layout files in {time.perf_counter() - start:.0f} s")
    shutil.copytree(REPO / "config", workdir / "config")
    configs = [str(REPO / "config" / "paper_scale.yaml")]
    if args.molecules < 133_885:  # a smaller stand-in: shrink the sizes and holdouts with it
        (workdir / "scaled.yaml").write_text(json.dumps({"datasets": scaled_datasets(args.molecules)}))
        configs.append(str(workdir / "scaled.yaml"))
    astray = ["-s", str(REPO / "Snakefile"), "--configfile", *configs]
    names = ["astray_cold_s", "astray_replan_s", "astray_job_parse_s", "astray_plan_summary_s", "bare_snakefile_s",
             "bare_job_parse_s"]  # fmt: skip
    times = {name: [] for name in names}
    # A labeling job's inputs, as the geometries and check_pool jobs leave them (their contents are not read).
    for stub in ("results/geometries/pool.extxyz", "results/labels/chunks.json"):
        (workdir / stub).parent.mkdir(parents=True, exist_ok=True)
        (workdir / stub).touch()
    for _ in range(2):
        shutil.rmtree(workdir / ".snakemake" / "astray", ignore_errors=True)
        elapsed, jobs = snakemake_dry_run(workdir, *astray)
        times["astray_cold_s"].append(elapsed)
        times["astray_replan_s"].append(snakemake_dry_run(workdir, *astray)[0])
        times["astray_job_parse_s"].append(job_parse(workdir, "label_chunk", "chunk=0", *astray))
        elapsed, summary = plan_summary(workdir, configs)
        times["astray_plan_summary_s"].append(elapsed)
        (workdir / "bare.smk").write_text(bare_snakefile(jobs))
        elapsed, bare_jobs = snakemake_dry_run(workdir, "-s", str(workdir / "bare.smk"))
        times["bare_snakefile_s"].append(elapsed)
        times["bare_job_parse_s"].append(job_parse(workdir, "label_chunk", "i=0", "-s", str(workdir / "bare.smk")))
    best = {name: min(values) for name, values in times.items()}
    results = {
        "molecules": args.molecules,
        "jobs": jobs,
        "total_jobs": sum(jobs.values()),
        "bare_total_jobs": sum(bare_jobs.values()),
        "wall_s": times,
        "best_wall_s": best,
        "ratio_cold_vs_bare": best["astray_cold_s"] / best["bare_snakefile_s"],
        "ratio_replan_vs_bare": best["astray_replan_s"] / best["bare_snakefile_s"],
        "ratio_job_parse_vs_bare": best["astray_job_parse_s"] / best["bare_job_parse_s"],
        "plan_summary": summary,
    }
    shutil.rmtree(workdir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
