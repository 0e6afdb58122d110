"""What bounds a default-campaign training run's FLOP rate on a CPU: one job's epochs profiled, beside this
machine's one-thread dense matrix-multiply rate, measured in the same run.

    .venv/bin/python benchmarks/training_profile.py --campaign PATH [--size 512] [--epochs 20] [--repeats 2]

PATH is a finished default campaign's folder (`./run.sh` writes results/ there). The run is the
campaign's own: `schnet_m` and `training` from config/config.yaml on the equilibrium kind's seed-0 set of
`--size` molecules, one thread as a training job runs, no early stop. Printed (and written to
benchmarks/results/training-profile.json):
- the job's FLOP rate as the cube computes it (`train_flops` per epoch x epochs / wall seconds) against a
  one-thread float32 matrix multiply of 1024 x 1024 (the machine's dense rate), as shipped and with
  float32 subnormals kept (before `astray.models.schnet_training.flush_subnormals`), alternating, best of the repeats;
- where the shipped run's time goes, by operator family (torch.profiler, self CPU time, the same run
  profiled once more), and the operators that take the most time.
"""

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from unittest import mock

import torch
import yaml
from torch.profiler import ProfilerActivity, profile

import astray.models.schnet_training
from astray.io import read_geometries, read_json
from astray.models.schnet_training import train

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


def timed_training(run, epochs: int, workdir: Path, flush: bool = True) -> tuple[float, dict]:
    """One training call as a job makes it; `flush=False` keeps float32 subnormals, as before
    astray.models.schnet_training.flush_subnormals."""
    train_atoms, val_atoms, atom_energies, spec, training = run
    settings = {**training, "max_epochs": epochs, "patience": epochs, "device": "cpu"}
    torch.set_flush_denormal(False)
    with mock.patch(
        "astray.models.schnet_training.flush_subnormals",
        astray.models.schnet_training.flush_subnormals if flush else lambda: None,
    ):
        start = time.perf_counter()
        train(train_atoms, val_atoms, atom_energies, spec, settings, seed=0, output=workdir / "model.pt",
              log=lambda *_: None)  # fmt: skip
        seconds = time.perf_counter() - start
    return seconds, torch.load(workdir / "model.pt", weights_only=False)


def family_of(name: str) -> str:
    return next((family for family, names in FAMILIES.items() if name in names), "elementwise and other")


def profiled_run(run, epochs: int, workdir: Path) -> tuple[dict, list]:
    """Self CPU seconds per operator family over a whole run of `epochs` epochs, and the operators that
    take the most time."""
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        timed_training(run, epochs, workdir)
    families = defaultdict(float)
    events = profiler.key_averages()
    for event in events:
        families[family_of(event.key)] += event.self_cpu_time_total / 1e6
    top = sorted(events, key=lambda event: -event.self_cpu_time_total)[:10]
    return dict(families), [(event.key, event.self_cpu_time_total / 1e6, event.count) for event in top]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--campaign", type=Path, required=True)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/training-profile.json")
    args = parser.parse_args()
    torch.set_num_threads(1)  # a training job's one thread
    run = campaign_run(args.campaign, args.size)
    dense = dense_matmul_rate()
    seconds = {True: [], False: []}
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(args.repeats):  # alternating, best of the repeats
            for flush in (False, True):
                elapsed, checkpoint = timed_training(run, args.epochs, Path(workdir), flush)
                seconds[flush].append(elapsed)
        families, top = profiled_run(run, args.epochs, Path(workdir))
    best = {flush: min(times) for flush, times in seconds.items()}
    rate = {flush: checkpoint["flops_per_epoch"] * args.epochs / best[flush] / 1e9 for flush in best}
    print(f"dense float32 matmul, one thread: {dense:.1f} GFLOP/s")
    print(f"schnet_m on {args.size} molecules, {args.epochs} epochs, {checkpoint['flops_per_epoch'] / 1e9:.2f} GFLOP "
          "per epoch (the cube's train_flops):")  # fmt: skip
    for flush, label in ((False, "subnormals kept"), (True, "subnormals flushed (as shipped)")):
        print(f"  {label:<32} {best[flush]:6.2f} s  {rate[flush]:5.1f} GFLOP/s = {rate[flush] / dense:.0%} of dense")
    print(f"  flushed / kept: {best[False] / best[True]:.2f}x faster")
    total = sum(families.values())
    print("where the shipped run's time goes (self CPU time by operator family):")
    for name, family_seconds in sorted(families.items(), key=lambda item: -item[1]):
        print(f"  {name:<24} {family_seconds / total:6.1%}")
    print("operators taking the most time (self seconds, calls):")
    for name, self_seconds, calls in top:
        print(f"  {name:<36} {self_seconds:7.2f} s {calls:>9,}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "dense_matmul_gflops": dense, "run_gflops": {"kept": rate[False], "flushed": rate[True]},
        "seconds": {"kept": seconds[False], "flushed": seconds[True]}, "epochs": args.epochs,
        "flops_per_epoch": checkpoint["flops_per_epoch"], "families": families, "top_operators": top,
    }, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
