"""Chemical-space benchmark: what the generated source costs, and what it adds to planning.

    .venv/bin/python benchmarks/chemical_space.py [--max-heavy-atoms 5 6] [--out benchmarks/results/chemical_space.json]

For each size (C, N, O, F with the default filters, one conformer): the enumeration (graphs grown,
canonicalised and filtered), the embedding (ETKDG + MMFF94 of every accepted molecule) and reading the
cached result back. Then planning, side by side with a baseline: `snakemake -n` on the default campaign
with the chemical space as its only source (max_atoms 30 and one scaled bond per molecule, so every
molecule is in the pool), cold (nothing cached: enumerated, embedded and checked while Snakemake parses)
and re-planned (the space and the pool summary cached in .snakemake/astray/), against a bare Snakefile
with the same jobs per rule. Best of two runs each; ratios are astray's time over the bare Snakefile's.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from planning import bare_snakefile, snakemake_dry_run

from astray.geometries.chemical_space import FILTERS, SpaceSpec, build_space, cached_space, stable_molecules

REPO = Path(__file__).resolve().parents[1]
SOURCE = {"elements": ["C", "N", "O", "F"], "filters": {}, "conformers": 1, "force_field": "mmff94", "seed": 0,
          "sample": 0}  # fmt: skip
GEOMETRIES = {"elements": ["H", "C", "N", "O", "F"], "min_atoms": 2, "max_atoms": 30}


def best_of(runs: int, function):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def source_costs(max_heavy_atoms: int) -> dict:
    spec = SpaceSpec.from_config(SOURCE | {"max_heavy_atoms": max_heavy_atoms}, GEOMETRIES)
    filters = {name: rule.default for name, rule in FILTERS.items()}
    enumeration_s, (accepted, _) = best_of(2, lambda: stable_molecules(spec.elements, max_heavy_atoms, filters))
    total_s, space = best_of(2, lambda: build_space(spec))
    cache = Path(tempfile.mkdtemp(prefix="astray-space-"))
    cached_space(spec, cache)
    read_s, _ = best_of(2, lambda: cached_space(spec, cache))
    shutil.rmtree(cache)
    return {
        "counts_by_heavy_atoms": space["counts"],
        "molecules": len(space["molecules"]),
        "not_embedded": space["failures"],
        "enumeration_s": enumeration_s,
        "embedding_s": total_s - enumeration_s,
        "embedding_ms_per_molecule": 1000 * (total_s - enumeration_s) / len(accepted),
        "cached_read_s": read_s,
    }


def planning_costs(max_heavy_atoms: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="astray-space-plan-"))
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["geometries"]["sources"] = {"ase": {"collection": "none"},
                                       "chemical_space": {"max_heavy_atoms": max_heavy_atoms}}  # fmt: skip
    config["geometries"]["max_atoms"] = GEOMETRIES["max_atoms"]
    config["geometries"]["distortions"]["bond_scaling"]["per_molecule"] = 1
    config_path = workdir / "space.yaml"
    config_path.write_text(yaml.safe_dump(config))
    astray = ["-s", str(REPO / "Snakefile"), "--configfile", str(config_path)]
    times = {"astray_cold_s": [], "astray_replan_s": [], "bare_snakefile_s": []}
    for _ in range(2):
        shutil.rmtree(workdir / ".snakemake" / "astray", ignore_errors=True)
        elapsed, jobs = snakemake_dry_run(workdir, *astray)
        times["astray_cold_s"].append(elapsed)
        times["astray_replan_s"].append(snakemake_dry_run(workdir, *astray)[0])
        (workdir / "bare.smk").write_text(bare_snakefile(jobs))
        times["bare_snakefile_s"].append(snakemake_dry_run(workdir, "-s", str(workdir / "bare.smk"))[0])
    shutil.rmtree(workdir)
    best = {name: min(values) for name, values in times.items()}
    return {
        "jobs": jobs,
        "wall_s": times,
        "best_wall_s": best,
        "ratio_cold_vs_bare": best["astray_cold_s"] / best["bare_snakefile_s"],
        "ratio_replan_vs_bare": best["astray_replan_s"] / best["bare_snakefile_s"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-heavy-atoms", type=int, nargs="+", default=[5, 6])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/chemical_space.json")
    args = parser.parse_args()
    results = {}
    for size in args.max_heavy_atoms:
        results[size] = {"source": source_costs(size), "planning": planning_costs(size)}
        print(json.dumps({size: results[size]}, indent=2), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
