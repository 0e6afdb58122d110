"""Training benchmark: astray's SchNet path against a baseline written after the paper's training loop.

    .venv/bin/python benchmarks/training.py [--data organic|campaign|PATH] [--epochs 30] [--repeats 2]
        [--device cpu] [--out benchmarks/results/training-cpu.json]

Data (atomization energies, eV, split 80/20 into training and validation by a fixed seed):
- `organic` (default): the 33 G2 molecules of 8-14 atoms made of H, C, N, O (10.4 atoms on average; QM9
  averages 18), each with eight rattled copies, HF/STO-3G labels made by astray's own workflow into
  benchmarks/results/training-data/ on the first run (a few minutes; reused after).
- `campaign`: the default campaign's labels (`./run.sh` first), 3.8 atoms per molecule.
- a path to any labeled extxyz with atom_energies.json beside it.

The baseline follows the description of Lee & Dieng's SchNet script (vertaix/Quantum_chemistry_neural_
scaling, SchNet_scripts/SchNet_script.py), written here from that description: one torch-geometric `Data`
object per molecule in an `InMemoryDataset`, torch-geometric's `DataLoader` (shuffled, batch 50), SchNet,
AdamW, MSE on the energy, gradient-norm clipping at 1000, a validation pass every epoch, a 10-epoch linear
warm-up then halving on a 20-epoch plateau, the best model saved whenever validation improves. One forced
departure, shared with astray: the radius graph is astray's dense one (torch-geometric's default needs
torch-cluster, which is not on PyPI).

astray's side is `astray.models.schnet_training.train` with the same spec, batch size, learning rate and epochs, run
twice: as shipped (filters tabulated where that pays) and with `tabulate_filters: false`, to show what the
tabulation adds. All see the same geometries and targets on the same device; runs alternate (baseline,
astray, astray direct, baseline, ...) and the best wall time of the repeats is reported. Throughput counts
training samples per second of the whole training call, validation passes and checkpoint writes included.
"""

import argparse
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from astray.conventions import atomization_energy
from astray.io import read_geometries, read_json
from astray.models.loop import select_device
from astray.models.schnet import DenseRadiusGraph
from astray.models.schnet_training import train

REPO = Path(__file__).resolve().parents[1]
CAPACITIES = {
    # astray's default ladder rung and the paper's largest SchNet (250 channels, 5 interactions).
    "schnet_m": {"hidden_channels": 64, "num_filters": 64, "num_interactions": 3, "num_gaussians": 50},
    "paper_250": {"hidden_channels": 250, "num_filters": 250, "num_interactions": 5, "num_gaussians": 50},
}
BATCH_SIZE, LEARNING_RATE, CUTOFF = 50, 5e-4, 5.0
ORGANIC = {
    "geometries": {
        "sources": {"ase": {"collection": "g2"}},
        "elements": ["H", "C", "N", "O"],
        "min_atoms": 8,
        "max_atoms": 14,
        "distortions": {"bond_scaling": {"factors": []}, "rattle": {"copies": 8, "sigma": 0.05}},
    },
    "labels": {"method": "hf", "basis": "sto-3g", "chunk_size": 50},
    # Only the labels are used; small splits keep the workflow's size checks satisfied.
    "datasets": {"sizes": [1], "validation_molecules": 1, "test_molecules": 1},
}


def organic_data() -> Path:
    """Label the `organic` set with astray's workflow (once); returns the labeled extxyz."""
    workdir = REPO / "benchmarks/results/training-data"
    labeled = workdir / "results/labels/labeled.extxyz"
    if not labeled.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "config.yaml").write_text(yaml.safe_dump(ORGANIC))
        print("labeling the organic benchmark set with astray's workflow (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
                        "results/labels/labeled.extxyz", "results/labels/atom_energies.json",
                        "--cores", "all", "--directory", str(workdir),
                        "--configfile", str(REPO / "config/config.yaml"), str(workdir / "config.yaml")],
                       check=True, capture_output=True)  # fmt: skip
    return labeled


def baseline_train(train_atoms, train_targets, val_atoms, val_targets, spec, epochs, device, workdir):
    """The paper's loop, as described above; returns the best validation MAE (eV)."""
    torch.set_flush_denormal(False)  # as torch starts: astray's train() turns the flush on for the process
    from torch_geometric.data import Data, InMemoryDataset
    from torch_geometric.loader import DataLoader
    from torch_geometric.nn import SchNet

    class MoleculeDataset(InMemoryDataset):
        def __init__(self, atoms_list, targets):
            super().__init__(None)
            self.molecules = [
                Data(
                    z=torch.tensor(a.numbers, dtype=torch.long),
                    pos=torch.tensor(a.positions, dtype=torch.float),
                    y=torch.tensor([target], dtype=torch.float),
                )
                for a, target in zip(atoms_list, targets)
            ]

        def len(self):
            return len(self.molecules)

        def get(self, index):
            return self.molecules[index]

    train_loader = DataLoader(MoleculeDataset(train_atoms, train_targets), batch_size=BATCH_SIZE, shuffle=True)
    val_loader = DataLoader(MoleculeDataset(val_atoms, val_targets), batch_size=BATCH_SIZE)
    model = SchNet(
        hidden_channels=spec["hidden_channels"],
        num_filters=spec["num_filters"],
        num_interactions=spec["num_interactions"],
        num_gaussians=spec["num_gaussians"],
        cutoff=CUTOFF,
        interaction_graph=DenseRadiusGraph(CUTOFF),
    ).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: min(1.0, (epoch + 1) / 10))
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=20)
    best = math.inf
    for epoch in range(epochs):
        model.train()
        for data in train_loader:
            data = data.to(device)
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(data.z, data.pos, data.batch).view(-1), data.y.view(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1000)
            optimizer.step()
        model.eval()
        absolute_error = 0.0
        with torch.no_grad():
            for data in val_loader:
                data = data.to(device)
                absolute_error += float((model(data.z, data.pos, data.batch).view(-1) - data.y.view(-1)).abs().sum())
        val_mae = absolute_error / len(val_atoms)
        warmup.step() if epoch < 10 else plateau.step(val_mae)
        if val_mae < best:
            best = val_mae
            torch.save({"model_state_dict": model.state_dict()}, Path(workdir) / "best_model.ckpt")
    return best


def astray_train(train_atoms, val_atoms, atom_energies, spec, epochs, device, workdir, tabulate_filters=True):
    """astray's training call with the baseline's settings; returns the best validation MAE (eV)."""
    settings = {
        "tabulate_filters": tabulate_filters,
        "max_epochs": epochs,
        "patience": epochs,  # no early stop: both sides run every epoch
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "device": str(device),
        "checkpoint_every": 5,  # the baseline saves its last checkpoint every 5 epochs too
    }
    output = Path(workdir) / "model.pt"
    train(train_atoms, val_atoms, atom_energies, {"architecture": "schnet", "cutoff": CUTOFF, **spec},
          settings, seed=0, output=output, log=lambda *_: None)  # fmt: skip
    checkpoint = torch.load(output, weights_only=False)
    if tabulation := checkpoint["filter_tabulation"]:
        print(
            f"  astray: filters tabulated every {tabulation['grid_spacing_A']:.4f} Å, validation energies within "
            f"{tabulation['max_deviation_on_validation_eV']:.1e} eV of direct ones",
            flush=True,
        )
    return checkpoint["best_val_mae_eV"]


def timed(function, *args, device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = function(*args)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="organic", help="organic, campaign, or a labeled extxyz")
    parser.add_argument("--epochs", default=30, type=int)
    parser.add_argument("--repeats", default=2, type=int)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", default=None, type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--out", default=None, type=Path)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)

    data = {"organic": organic_data, "campaign": lambda: REPO / "results/labels/labeled.extxyz"}.get(
        args.data, lambda: Path(args.data)
    )()
    atoms = read_geometries(data)
    atom_energies = read_json(data.with_name("atom_energies.json"))["energies"]
    order = np.random.default_rng(0).permutation(len(atoms))
    n_train = int(0.8 * len(atoms))
    train_atoms = [atoms[i] for i in order[:n_train]]
    val_atoms = [atoms[i] for i in order[n_train:]]
    targets = lambda subset: [atomization_energy(a, atom_energies) for a in subset]  # noqa: E731

    results = {}
    for name, spec in CAPACITIES.items():
        runs = {"baseline": [], "astray": [], "astray_direct_filters": []}
        for repeat in range(args.repeats):
            with tempfile.TemporaryDirectory() as workdir:
                torch.manual_seed(repeat)
                runs["baseline"].append(
                    timed(
                        baseline_train,
                        train_atoms,
                        targets(train_atoms),
                        val_atoms,
                        targets(val_atoms),
                        spec,
                        args.epochs,
                        device,
                        workdir,
                        device=device,
                    )
                )
                for side, tabulate in (("astray", True), ("astray_direct_filters", False)):
                    runs[side].append(timed(astray_train, train_atoms, val_atoms, atom_energies, spec, args.epochs,
                                            device, workdir, tabulate, device=device))  # fmt: skip
        samples = n_train * args.epochs
        summary = {
            side: {
                "best_seconds": min(seconds for seconds, _ in measured),
                "samples_per_second": samples / min(seconds for seconds, _ in measured),
                "best_val_mae_eV": [mae for _, mae in measured],
            }
            for side, measured in runs.items()
        }
        speed = {side: summary[side]["samples_per_second"] for side in runs}
        summary["throughput_ratio"] = speed["astray"] / speed["baseline"]
        summary["throughput_ratio_direct_filters"] = speed["astray_direct_filters"] / speed["baseline"]
        results[name] = summary
        mae = {side: summary[side]["best_val_mae_eV"] for side in runs}
        print(f"{name}: baseline {speed['baseline']:.0f} samples/s (val MAE {mae['baseline']}), "
              f"astray {speed['astray']:.0f} samples/s (val MAE {mae['astray']}), "
              f"ratio {summary['throughput_ratio']:.2f}; direct filters {speed['astray_direct_filters']:.0f} "
              f"samples/s (val MAE {mae['astray_direct_filters']}), "
              f"ratio {summary['throughput_ratio_direct_filters']:.2f}", flush=True)  # fmt: skip

    record = {
        "data": str(data),
        "device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or "cpu",
        "torch_threads": torch.get_num_threads(),
        "n_train": n_train,
        "n_validation": len(val_atoms),
        "mean_atoms_per_molecule": float(np.mean([len(a) for a in atoms])),
        "epochs": args.epochs,
        "batch_size": BATCH_SIZE,
        "results": results,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
