"""GPU benchmark: every trainer astray has, on one device, side by side with the paper's training loop.

    .venv/bin/python benchmarks/gpu.py --device cuda [--epochs 20] [--out benchmarks/results/gpu.json]
    .venv/bin/python benchmarks/gpu.py --dry-run       # the same cases, tiny, on the CPU (a test runs it)

Cases, each timed as samples per second of its whole training call (validation and checkpoints included):
- SchNet at three capacities (`schnet_s` 14k, `schnet_m` 68k, `paper_250` the paper's largest), astray's
  training loop against the paper's (benchmarks/training.py's `baseline_train`), alternating, with the
  ratio; both reach a validation MAE that is printed beside the speed;
- NequIP (`nequip-train` through astray.models.nequip, the tiny ladder rung's size scaled to `nequip_s`);
- fine-tuning SevenNet-0 (astray.models.finetune).

Data: benchmarks/training.py's `organic` set (33 G2 molecules of 8-14 atoms with rattled copies, HF/STO-3G
labels made by astray's own workflow on the first run), or in a dry run its first 12 geometries.
benchmarks/gpu.sh runs this and then the tiny test campaign's training rules on CUDA.
"""

import argparse
import functools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from training import BATCH_SIZE, CAPACITIES, astray_train, baseline_train, organic_data, timed

from astray.config_schema import model_spec
from astray.conventions import atomization_energy
from astray.io import read_geometries, read_json
from astray.models.loop import select_device

SCHNET = {
    "schnet_s": {"hidden_channels": 32, "num_filters": 32, "num_interactions": 2, "num_gaussians": 50},
    **CAPACITIES,
}
NEQUIP = {"architecture": "nequip", "num_layers": 3, "num_features": 32, "l_max": 1, "cutoff": 5.0,
          "radial_mlp_width": 64, "compile": False}  # fmt: skip
SEVENNET = {"architecture": "finetune", "from": "7net-0", "learning_rate": 0.001}


def split(atoms):
    order = np.random.default_rng(0).permutation(len(atoms))
    cut = int(0.8 * len(atoms))
    return [atoms[i] for i in order[:cut]], [atoms[i] for i in order[cut:]]


def schnet_cases(train_atoms, val_atoms, atom_energies, epochs, device) -> dict:
    targets = lambda subset: [atomization_energy(a, atom_energies) for a in subset]  # noqa: E731
    results = {}
    for name, spec in SCHNET.items():
        with tempfile.TemporaryDirectory() as workdir:
            torch.manual_seed(0)
            baseline = timed(baseline_train, train_atoms, targets(train_atoms), val_atoms, targets(val_atoms),
                             spec, epochs, device, workdir, device=device)  # fmt: skip
            ours = timed(astray_train, train_atoms, val_atoms, atom_energies, spec, epochs, device, workdir,
                         device=device)  # fmt: skip
        results[name] = {
            "baseline": _speed(baseline, len(train_atoms), epochs),
            "astray": _speed(ours, len(train_atoms), epochs),
        }
        results[name]["throughput_ratio"] = (
            results[name]["astray"]["samples_per_second"] / results[name]["baseline"]["samples_per_second"]
        )
    return results


def nequip_case(train_atoms, val_atoms, atom_energies, epochs, device) -> dict:
    from astray.models.nequip import history, train

    training = {"max_epochs": epochs, "patience": epochs, "batch_size": BATCH_SIZE, "learning_rate": 0.005,
                "device": str(device)}  # fmt: skip
    with tempfile.TemporaryDirectory() as workdir:
        quiet = functools.partial(train, log=lambda *_: None)
        seconds, _ = timed(quiet, train_atoms, val_atoms, atom_energies, model_spec(NEQUIP), training, 0, workdir,
                           device=device)  # fmt: skip
        rows = history(workdir)
    mae = min((row.get("val_mae_eV", np.inf) for row in rows), default=np.nan)
    return _speed((seconds, mae), len(train_atoms), epochs)


def sevennet_case(train_atoms, val_atoms, atom_energies, epochs, device) -> dict:
    from astray.models.finetune import finetune

    training = {"max_epochs": epochs, "patience": epochs, "batch_size": 16, "learning_rate": 0.001,
                "device": str(device)}  # fmt: skip
    spec = {**SEVENNET, "max_epochs": epochs}
    with tempfile.TemporaryDirectory() as workdir:
        output = Path(workdir) / "model.sevennet.pt"
        seconds, rows = timed(finetune, train_atoms, val_atoms, atom_energies, spec, training, 0, output,
                              lambda *_: None, device=device)  # fmt: skip
    mae = min((row["val_mae_eV"] for row in rows), default=np.nan)
    return _speed((seconds, mae), len(train_atoms), epochs)


def _speed(measured, n_train: int, epochs: int) -> dict:
    seconds, mae = measured
    return {"seconds": seconds, "samples_per_second": n_train * epochs / seconds, "best_val_mae_eV": float(mae)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", default=20, type=int)
    parser.add_argument("--dry-run", action="store_true", help="every case, tiny, on the CPU")
    parser.add_argument("--data", default=None, type=Path, help="a labeled extxyz with atom_energies.json beside it")
    parser.add_argument("--out", default=None, type=Path)
    args = parser.parse_args(argv)
    device = select_device("cpu" if args.dry_run else args.device)
    epochs = 1 if args.dry_run else args.epochs
    data = args.data or organic_data()
    atoms = read_geometries(data)[: 12 if args.dry_run else None]
    atom_energies = read_json(data.with_name("atom_energies.json"))["energies"]
    train_atoms, val_atoms = split(atoms)
    record = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "dry_run": args.dry_run,
        "epochs": epochs,
        "n_train": len(train_atoms),
        "schnet": schnet_cases(train_atoms, val_atoms, atom_energies, epochs, device),
        "nequip": nequip_case(train_atoms, val_atoms, atom_energies, epochs, device),
        "sevennet_finetune": sevennet_case(train_atoms, val_atoms, atom_energies, epochs, device),
    }
    print(f"{record['device']}, {epochs} epochs of {len(train_atoms)} training geometries (samples/s):")
    for name, case in record["schnet"].items():
        print(f"  {name}: astray {case['astray']['samples_per_second']:.0f}, paper's loop "
              f"{case['baseline']['samples_per_second']:.0f}, ratio {case['throughput_ratio']:.2f}; val MAE "
              f"{case['astray']['best_val_mae_eV']:.3f} / {case['baseline']['best_val_mae_eV']:.3f} eV")  # fmt: skip
    for name in ("nequip", "sevennet_finetune"):
        case = record[name]
        print(f"  {name}: {case['samples_per_second']:.0f}; val MAE {case['best_val_mae_eV']:.3f} eV")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    main()
