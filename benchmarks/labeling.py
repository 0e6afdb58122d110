"""Labeling benchmark: astray's workflow against a bare PySCF loop, and warm against cold starts on a scan.

    .venv/bin/python benchmarks/labeling.py [--repeats 2] [--out benchmarks/results/labeling.json]

1. Overhead. The same geometries (the 20 closed-shell G2 molecules of 3-5 atoms, equilibrium and each
   bond compressed to 0.9 and 0.95: no stretched bond, so astray's broken-symmetry search never runs and
   both sides do the same physics) are labeled with HF/def2-SVP energies and forces
   - by a bare loop: a fresh Python process running RHF + analytic gradient per geometry, nothing else;
   - by `snakemake` on the labeling target, chunks of 50, one core, warm start off (pure overhead: checks,
     progress file, provenance, extxyz, Snakemake itself) and on (astray's default).
   Runs alternate (bare, cold, warm, bare, ...) so drifts in machine speed hit all alike; the best of the
   repeats is reported, and the ratio is workflow / bare.
2. Warm start. A CO bond scan (0.95-1.60 Å, 66 points, HF/def2-TZVP) labeled in process with and without
   the previous geometry's density as the guess: wall time and SCF cycles.
3. Small molecules. The default campaign's kind of work: 60 generated molecules of 5 heavy atoms (8-17
   atoms), HF/STO-3G energies, in process, astray's engine against PySCF as it comes (the basis parsed
   from its file for every molecule, a checkpoint file written every SCF cycle), alternating, best of the
   repeats.

Both sides use one thread (OMP_NUM_THREADS=1), as a labeling job does unless the profile says otherwise.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG = {
    "geometries": {
        # The closed-shell G2 molecules of 3-5 atoms: the bare loop needs no spin logic to match astray.
        "sources": {"ase": {"collection": "g2", "names": [
            "HCOOH", "C2H2", "CO2", "H2CO", "HCF3", "H2O", "CH2_s1A1d", "O3", "NCCN", "COF2", "N2O", "F2O", "HCN",
            "NF3", "NH3", "CF4", "H2CF2", "CH4", "H2CCO", "H2O2"]}},
        "elements": ["H", "C", "N", "O", "F"],
        "max_atoms": 5,
        "distortions": {"bond_scaling": {"factors": [0.9, 0.95]}},
    },
    "labels": {"engine": "pyscf", "method": "hf", "basis": "def2-svp", "chunk_size": 50},
    "datasets": {"kinds": ["equilibrium"], "sizes": [1], "seeds": [0], "validation_molecules": 1, "test_molecules": 1},
    "models": {"unused": {"architecture": "schnet", "hidden_channels": 1, "num_filters": 1, "num_interactions": 1,
                          "num_gaussians": 1, "cutoff": 1.0}},
    "training": {"max_epochs": 1, "patience": 1, "batch_size": 1, "learning_rate": 0.001},
    "evaluation": {"probes": ["H2"], "distances": [0.7, 0.8]},
}  # fmt: skip

BARE_LOOP = """
import sys, time
start = time.perf_counter()
from ase.io import read
from pyscf import gto, scf
for atoms in read(sys.argv[1], index=":"):
    mol = gto.M(atom=list(zip(atoms.get_chemical_symbols(), atoms.positions)), basis="def2-svp", verbose=0)
    mf = scf.RHF(mol)
    mf.conv_tol, mf.conv_tol_grad = 1e-10, 1e-6  # astray's convergence criteria
    mf.run()
    assert mf.converged
    mf.nuc_grad_method().kernel()
"""


def timed(command, **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - start


def snakemake(workdir: Path, config: Path, *targets) -> list:
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), *targets, "--cores", "1",
            "--directory", str(workdir), "--configfile", str(config)]  # fmt: skip


def overhead(repeats: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="astray-bench-"))
    configs = {}
    for warm in (False, True):
        config = {**CONFIG, "labels": {**CONFIG["labels"], "warm_start": warm}}
        configs[warm] = workdir / f"config-{'warm' if warm else 'cold'}.yaml"
        configs[warm].write_text(yaml.safe_dump(config))
    pool_command = snakemake(workdir, configs[False], "results/geometries/pool.extxyz")
    subprocess.run(pool_command, check=True, capture_output=True)
    pool = workdir / "results/geometries/pool.extxyz"
    times = {"bare_pyscf_loop": [], "workflow_cold_start": [], "workflow_warm_start": []}
    for repeat in range(repeats):
        times["bare_pyscf_loop"].append(timed([sys.executable, "-c", BARE_LOOP, str(pool)]))
        for warm, name in ((False, "workflow_cold_start"), (True, "workflow_warm_start")):
            shutil.rmtree(workdir / "results/labels", ignore_errors=True)
            times[name].append(timed(snakemake(workdir, configs[warm], "results/labels/labeled.extxyz")))
        print(f"repeat {repeat + 1}/{repeats}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()))
    n_geometries = pool.read_text().count("Properties=")
    best = {name: min(values) for name, values in times.items()}
    shutil.rmtree(workdir)
    return {
        "geometries": n_geometries,
        "chunk_size": CONFIG["labels"]["chunk_size"],
        "level": "HF/def2-SVP energies and forces",
        "wall_s": times,
        "best_wall_s": best,
        "ratio_cold_vs_bare": best["workflow_cold_start"] / best["bare_pyscf_loop"],
        "ratio_warm_vs_bare": best["workflow_warm_start"] / best["bare_pyscf_loop"],
    }


def warm_start_scan() -> dict:
    from ase import Atoms

    from astray.labels.labeling import Level, label_chunk

    scan = []
    for distance in np.round(np.arange(0.95, 1.605, 0.01), 3):
        atoms = Atoms("CO", positions=[(0, 0, 0), (0, 0, distance)])
        atoms.info.update(charge=0, multiplicity=1, geometry_id=f"CO@{distance}")
        scan.append(atoms)
    level = Level("hf", "def2-tzvp")
    result = {"points": len(scan), "level": "HF/def2-TZVP, CO 0.95-1.60 Å"}
    energies = {}
    with tempfile.TemporaryDirectory() as scratch:
        for warm in (False, True):
            name = "warm" if warm else "cold"
            start = time.perf_counter()
            labeled, _ = label_chunk(scan, level, Path(scratch) / f"{name}.jsonl", log=lambda *_: None, warm_start=warm)
            result[f"{name}_wall_s"] = time.perf_counter() - start
            result[f"{name}_scf_cycles"] = sum(a.info["scf_cycles"] for a in labeled)
            energies[name] = np.array([a.get_potential_energy() for a in labeled])
    result["speedup"] = result["cold_wall_s"] / result["warm_wall_s"]
    result["max_energy_difference_eV"] = float(np.abs(energies["warm"] - energies["cold"]).max())
    return result


def small_molecules(repeats: int) -> dict:
    from pyscf import gto, scf

    from astray.geometries.chemical_space import SpaceSpec, cached_space, resolved_filters, space_molecules
    from astray.labels.labeling import Level, calculate

    spec = SpaceSpec(elements=("C", "N", "O", "F"), max_heavy_atoms=5, filters=resolved_filters({}), conformers=1,
                     force_field="mmff94", seed=0, sample=60, atom_window=(2, 17))  # fmt: skip
    molecules = space_molecules(cached_space(spec))
    level = Level("hf", "sto-3g")

    def as_it_comes():
        for atoms in molecules:
            mol = gto.M(atom=list(zip(atoms.get_chemical_symbols(), atoms.positions)), basis="sto-3g", verbose=0)
            mf = scf.RHF(mol)
            mf.conv_tol, mf.conv_tol_grad = 1e-10, 1e-6  # astray's convergence criteria
            mf.run()

    def astray_engine():
        for atoms in molecules:
            calculate(atoms, level, forces=False, threads=1)

    times = {"pyscf_as_it_comes": [], "astray_engine": []}
    for _ in range(repeats):
        for name, run in (("pyscf_as_it_comes", as_it_comes), ("astray_engine", astray_engine)):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    best = {name: min(values) for name, values in times.items()}
    return {
        "molecules": len(molecules),
        "atoms": sum(len(a) for a in molecules),
        "level": "HF/STO-3G energies",
        "wall_s": times,
        "best_wall_s": best,
        "ratio_astray_vs_pyscf": best["astray_engine"] / best["pyscf_as_it_comes"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/labeling.json")
    parser.add_argument("--only", choices=["overhead", "warm_start_scan", "small_molecules"])
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    benchmarks = {"overhead": lambda: overhead(args.repeats), "warm_start_scan": warm_start_scan,
                  "small_molecules": lambda: small_molecules(args.repeats)}  # fmt: skip
    results = {name: run() for name, run in benchmarks.items() if args.only in (None, name)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
