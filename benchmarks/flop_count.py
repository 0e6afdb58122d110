"""The training checkpoint's FLOP count: astray's MatmulFlops against torch's FlopCounterMode, side by side on
one epoch of schnet_m, energies only (FlopCounterMode cannot count force training at all: its module hooks
refuse torch.autograd.grad). Both must count the same FLOPs; the ratio is of their wall times.

    .venv/bin/python benchmarks/flop_count.py [--molecules 512] [--repeats 3]

Data: the default campaign's largest equilibrium training set when `./run.sh` has run here, else rattled
G2 molecules of 3-10 atoms with zero energies (the count and its cost depend on the geometries, not on the
labels).
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from ase.build import molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.collections import g2
from torch.utils.flop_counter import FlopCounterMode

import astray.models.schnet_training as training
from astray.config_schema import model_spec, training_settings
from astray.io import read_geometries, read_json

REPO = Path(__file__).resolve().parents[1]
CAMPAIGN = REPO / "results/datasets/equilibrium/seed0/train_n512.extxyz"
SPEC = {"architecture": "schnet", "hidden_channels": 64, "num_filters": 64, "num_interactions": 3,
        "num_gaussians": 50, "cutoff": 5.0, "isolated_atoms": "zero"}  # fmt: skip


def molecules(count: int):
    if CAMPAIGN.exists():
        atom_energies = read_json(REPO / "results/labels/atom_energies.json")["energies"]
        return read_geometries(CAMPAIGN)[:count], atom_energies
    rng = np.random.default_rng(0)
    names = [name for name in g2.names if 3 <= len(molecule(name)) <= 10 and set(molecule(name).symbols) <= set("HCNO")]
    data = []
    for i in range(count):
        atoms = molecule(names[i % len(names)])
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        atoms.info.update(geometry_id=f"{atoms.get_chemical_formula()}/{i}", origin="equilibrium", charge=0,
                          multiplicity=1)  # fmt: skip
        atoms.calc = SinglePointCalculator(atoms, energy=0.0)
        data.append(atoms)
    return data, {symbol: 0.0 for symbol in "HCNO"}


def count_with_flop_counter_mode(run, batch_size: int) -> int:
    run.model.train()
    with FlopCounterMode(display=False) as counter:
        for batch in run.train_data.batches(batch_size):
            training._batch_loss(run.model, batch, 0.0, run.tabulate)[0].backward()
    run.model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--molecules", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    data, atom_energies = molecules(arguments.molecules)
    settings = training_settings({"max_epochs": 1, "patience": 30, "batch_size": 16, "learning_rate": 2e-3,
                                  "force_weight": 0, "tabulate_filters": True, "device": "cpu"})  # fmt: skip
    run = training.prepared_run(data, data[:16], atom_energies, model_spec(SPEC), settings, torch.device("cpu"))
    best, counts = {}, {}
    for _ in range(arguments.repeats):  # alternating, best of the repeats
        for name, count in (("FlopCounterMode", lambda: count_with_flop_counter_mode(run, 16)),
                            ("MatmulFlops", lambda: training.epoch_flops(run.model, run.train_data, 16, 0.0,
                                                                         run.tabulate))):  # fmt: skip
            start = time.perf_counter()
            counts[name] = count()
            best[name] = min(best.get(name, np.inf), time.perf_counter() - start)
    assert counts["MatmulFlops"] == counts["FlopCounterMode"], counts
    print(f"{len(data)} molecules ({'campaign' if CAMPAIGN.exists() else 'rattled G2'}), one epoch: "
          f"{counts['MatmulFlops']:,} FLOPs counted by both")  # fmt: skip
    for name, seconds in best.items():
        print(f"  {name:16s} {seconds:.2f} s")
    print(f"  ratio FlopCounterMode / MatmulFlops: {best['FlopCounterMode'] / best['MatmulFlops']:.2f}")


if __name__ == "__main__":
    main()
