"""What bounds a default-campaign training run's FLOP rate on a CPU: one job's epochs profiled, beside this
machine's one-thread dense matrix-multiply rate, measured in the same run.

    .venv/bin/python benchmarks/training_profile.py --campaign PATH [--size 512] [--epochs 20]

PATH is a finished default campaign's folder (`./run.sh` writes results/ there). The run is the
campaign's own: `schnet_m` and `training` from config/config.yaml on the equilibrium kind's seed-0 set of
`--size` molecules, one thread as a training job runs, no early stop. Printed (and written to
benchmarks/results/training-profile.json):
- the job's FLOP rate as the cube computes it (`train_flops` per epoch x epochs / wall seconds) against a
  one-thread float32 matrix multiply of 1024 x 1024 (the machine's dense rate);
- where the run's time goes, by operator family (torch.profiler, self CPU time, the same run profiled
  once more), with the matrix multiplies' own FLOP rate at the shapes SchNet gives them (the profiler's
  count), and the operators that take the most time.
"""

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch
import yaml
from torch.profiler import ProfilerActivity, profile

from astray.io import read_geometries, read_json
from astray.training import train

REPO = Path(__file__).resolve().parents[1]
MATMUL = (
    "aten::mm",
    "aten::addmm",
    "aten::bmm",
    "aten::matmul",
    "aten::linear",
    "aten::_sparse_mm",
    "aten::_sparse_addmm",
)
FAMILIES = {
    "matrix multiplies": MATMUL,
    "gathers and scatters": ("aten::index_select", "aten::index_add_", "aten::index", "aten::scatter_add_",
                             "aten::gather", "aten::index_put_", "aten::embedding", "aten::embedding_dense_backward"),
    "optimizer step": ("aten::_fused_adamw_",),
}  # fmt: skip


def dense_matmul_rate(size: int = 1024, repeats: int = 10) -> float:
    """One-thread float32 GFLOP/s of a square matrix multiply, best of `repeats`."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def campaign_run(campaign: Path, size: int):
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    datasets = campaign / "results/datasets/equilibrium"
    return (
        read_geometries(datasets / f"seed0/train_n{size}.extxyz"),
        read_geometries(datasets / "validation.extxyz"),
        read_json(campaign / "results/labels/atom_energies.json")["energies"],
        config["models"]["schnet_m"],
        config["training"],
    )


def timed_training(run, epochs: int, workdir: Path) -> tuple[float, dict]:
    train_atoms, val_atoms, atom_energies, spec, training = run
    settings = {**training, "max_epochs": epochs, "patience": epochs, "device": "cpu"}
    start = time.perf_counter()
    train(
        train_atoms, val_atoms, atom_energies, spec, settings, seed=0, output=workdir / "model.pt", log=lambda *_: None
    )
    seconds = time.perf_counter() - start
    return seconds, torch.load(workdir / "model.pt", weights_only=False)


def family_of(name: str) -> str:
    return next((family for family, names in FAMILIES.items() if name in names), "elementwise and other")


def profiled_run(run, epochs: int, workdir: Path) -> tuple[dict, list]:
    """Self CPU seconds and FLOPs (the profiler's count: matrix multiplies) per operator family over a
    whole run of `epochs` epochs, and the operators that take the most time."""
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as profiler:
        timed_training(run, epochs, workdir)
    families = defaultdict(lambda: {"self_seconds": 0.0, "flops": 0})
    events = profiler.key_averages()
    for event in events:
        family = families[family_of(event.key)]
        family["self_seconds"] += event.self_cpu_time_total / 1e6
        family["flops"] += event.flops or 0
    top = sorted(events, key=lambda event: -event.self_cpu_time_total)[:10]
    return dict(families), [(event.key, event.self_cpu_time_total / 1e6, event.count) for event in top]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--campaign", type=Path, required=True)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/training-profile.json")
    args = parser.parse_args()
    torch.set_num_threads(1)  # a training job's one thread
    run = campaign_run(args.campaign, args.size)
    dense = dense_matmul_rate()
    with tempfile.TemporaryDirectory() as workdir:
        seconds, checkpoint = timed_training(run, args.epochs, Path(workdir))
        families, top = profiled_run(run, args.epochs, Path(workdir))
    rate = checkpoint["flops_per_epoch"] * args.epochs / seconds / 1e9
    print(f"dense float32 matmul, one thread: {dense:.1f} GFLOP/s")
    per_epoch = checkpoint["flops_per_epoch"] / 1e9
    print(f"schnet_m on {args.size} molecules, {args.epochs} epochs: {seconds:.2f} s, {per_epoch:.2f} GFLOP "
          f"per epoch, {rate:.1f} GFLOP/s = {rate / dense:.0%} of dense")  # fmt: skip
    total = sum(family["self_seconds"] for family in families.values())
    for name, family in sorted(families.items(), key=lambda item: -item[1]["self_seconds"]):
        family_rate = family["flops"] / family["self_seconds"] / 1e9 if family["self_seconds"] else 0.0
        print(f"  {name:<24} {family['self_seconds'] / total:6.1%} of the time, "
              f"{family['flops'] / 1e9:8.2f} GFLOP, {family_rate:6.1f} GFLOP/s")  # fmt: skip
    print("  operators taking the most time (self seconds, calls):")
    for name, self_seconds, calls in top:
        print(f"    {name:<36} {self_seconds:7.2f} s {calls:>9,}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "dense_matmul_gflops": dense, "run_gflops": rate, "seconds": seconds, "epochs": args.epochs,
        "flops_per_epoch": checkpoint["flops_per_epoch"], "families": families, "top_operators": top,
    }, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
