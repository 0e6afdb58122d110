"""What a labeling or training-set job reads of the pool: only its geometries, against the whole file.

    .venv/bin/python benchmarks/pool_reads.py [--geometries 50000] [--out benchmarks/results/pool_reads.json]

A labeled pool in astray's extxyz (G2 molecules of H, C, N, O, F with 3-18 atoms, slightly displaced, with
energy, forces and the info keys labeling writes) is read, in process, the way each job reads it:
- the whole pool parsed (what every labeling and training-set job did before issue 21);
- one labeling chunk of 250 geometries near the end of the file, by ASE's slice (which scans every frame
  header with ASE's reader) and by `read_chosen_frames` (which skips other frames by their atom counts);
- training sets of 1,000 and 10,000 geometries scattered over the pool in a seeded order (`read_chosen_frames`).
Timings alternate and the best of the repeats is kept; ratios are the whole-pool read over each.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase.collections import g2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from astray.io import read_chosen_frames, read_geometries, write_geometries  # noqa: E402

QM9_ELEMENTS = {"H", "C", "N", "O", "F"}


def labeled_pool(count: int, seed: int = 0) -> list:
    templates = [g2[name] for name in g2.names
                 if set(g2[name].get_chemical_symbols()) <= QM9_ELEMENTS and 3 <= len(g2[name]) <= 18]  # fmt: skip
    rng = np.random.default_rng(seed)
    pool = []
    for index in range(count):
        atoms = templates[index % len(templates)].copy()
        atoms.positions += rng.normal(0.0, 0.03, atoms.positions.shape)
        atoms.info.update(molecule=f"gdb_{index // 2}", origin="equilibrium" if index % 2 == 0 else "rattled",
                          geometry_id=f"gdb_{index // 2}:{index % 2}", charge=0, multiplicity=1,
                          engine="pyscf", method="b3lyp", basis="6-31g(2df,p)", scf_cycles=12)  # fmt: skip
        atoms.calc = SinglePointCalculator(atoms, energy=-1000.0 * len(atoms), forces=rng.normal(0, 1, (len(atoms), 3)))
        pool.append(atoms)
    return pool


def best_time(read, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        read()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--geometries", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/pool_reads.json")
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="astray-reads-")) / "labeled.extxyz"
    write_geometries(path, labeled_pool(args.geometries))
    chunk = range(args.geometries - 500, args.geometries - 250)
    order = np.random.default_rng(1).permutation(args.geometries).tolist()
    reads = {
        "whole_pool": lambda: read_geometries(path),
        "labeling_chunk_250_ase_slice": lambda: read_geometries(path, frames=slice(chunk.start, chunk.stop)),
        "labeling_chunk_250": lambda: read_chosen_frames(path, chunk),
        "training_set_1000": lambda: read_chosen_frames(path, order[:1000]),
        "training_set_10000": lambda: read_chosen_frames(path, order[:10000]),
    }
    best = {name: float("inf") for name in reads}
    for _ in range(args.repeats):  # alternating, so drifts in machine speed hit every read alike
        for name, read in reads.items():
            best[name] = min(best[name], best_time(read, 1))
    result = {
        "geometries": args.geometries,
        "file_mb": path.stat().st_size / 1e6,
        "best_wall_s": best,
        "ratio_whole_over": {name: best["whole_pool"] / seconds for name, seconds in best.items()},
    }
    path.unlink()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
