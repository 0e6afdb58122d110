"""Molecular dynamics with a pretrained calculator: the molecules packed into one call against one call per
molecule, side by side.

    .venv/bin/python benchmarks/dynamics.py [--molecules 6] [--steps 40] [--repeats 3]

SevenNet-0 as its wheel ships it, on the CPU with torch's threads, steps the default campaign's MD runs
(astray.evaluation.dynamics.run_nve: velocity Verlet at 300 K, 0.5 fs) on `--molecules` G2 molecules of 3-6 atoms.
`CalculatorModel.energies_and_forces` packs them 12 Å apart into one call where the calculator reports
per-atom energies (as shipped); the baseline calls it once per molecule (`CalculatorModel.energy_and_forces`
in a loop, what it did before). Alternating, best of the repeats; milliseconds per MD step, and the largest
difference between the two runs' final energies (the same trajectories, to float32 rounding).
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from ase.collections import g2

from astray.evaluation.dynamics import DynamicsSettings, run_nve
from astray.models import default_dtype
from astray.models.pretrained import PRETRAINED, CalculatorModel

REPO = Path(__file__).resolve().parents[1]
NAMES = ["H2O", "NH3", "CH4", "HCN", "H2CO", "CH3OH", "C2H4", "CH3CN"]


def molecules(count: int) -> list:
    chosen = []
    for name in NAMES[:count]:
        atoms = g2[name].copy()
        atoms.info.update(charge=0, multiplicity=1, geometry_id=name, molecule=name, origin="equilibrium")
        chosen.append(atoms)
    return chosen


def one_call_per_molecule(model: CalculatorModel):
    def predict(atoms_list):
        results = [model.energy_and_forces(atoms) for atoms in atoms_list]
        return np.array([energy for energy, _ in results]), [forces for _, forces in results]

    return predict


def timed(predict, chosen, settings) -> tuple[float, list]:
    start = time.perf_counter()
    trajectories = run_nve(chosen, predict, settings)
    return (time.perf_counter() - start) / settings.steps * 1000, trajectories


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--molecules", type=int, default=6)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/dynamics.json")
    args = parser.parse_args()
    with default_dtype(torch.float32):  # SevenNet's float32 checkpoint, as astray.models.pretrained runs it
        run(args)


def run(args) -> None:
    model = CalculatorModel("7net-0", PRETRAINED["7net-0"])
    settings = DynamicsSettings(
        molecules=args.molecules, temperature=300.0, timestep=0.5, steps=args.steps, sample_every=5, seed=0
    )
    chosen = molecules(args.molecules)
    sides = {"one call per molecule": one_call_per_molecule(model), "packed (as shipped)": model.energies_and_forces}
    milliseconds, last = {side: [] for side in sides}, {}
    for _ in range(args.repeats):
        for side, predict in sides.items():
            elapsed, last[side] = timed(predict, chosen, settings)
            milliseconds[side].append(elapsed)
    best = {side: min(values) for side, values in milliseconds.items()}
    (alone, packed) = (last[side] for side in sides)
    drift = max(abs(a.total_energies[-1] - b.total_energies[-1]) for a, b in zip(alone, packed))
    for side, value in best.items():
        print(f"{side:<24} {value:7.1f} ms per MD step ({args.molecules} molecules)")
    print(f"packed / per molecule: {best['one call per molecule'] / best['packed (as shipped)']:.2f}x faster; "
          f"final energies within {drift:.1e} eV")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"ms_per_step": milliseconds, "best": best, "final_energy_gap_eV": drift}) + "\n")


if __name__ == "__main__":
    main()
