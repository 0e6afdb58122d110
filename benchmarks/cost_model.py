"""Calibrate the planning cost model (astray/campaign/costs.py) with this project's own measurements.

    .venv/bin/python benchmarks/cost_model.py labels                  # on the CPU that labels (one core)
    .venv/bin/python benchmarks/cost_model.py training --device cuda  # on the GPU that trains

labels: real PySCF calculations (energies, and forces where the method has them) on G2 molecules of
growing size at def2-SVP, one thread, per method family; a power law in the number of basis functions
is fitted per family. Each family stops at the size where its calculations take minutes. The three
smallest molecules are also timed with one bond stretched 1.6x, as the campaign's bond scans stretch them
(the unrestricted path with its broken-symmetry search, which open-shell and stretched geometries take);
the geometric mean of the stretched / equilibrium time ratios is the family's `unrestricted_factor`.

training: each architecture at the smallest and largest capacity of config/paper_scale.yaml (NequIP's two
smallest on a CPU), trained on the `organic` set of benchmarks/training.py for 2 epochs and for 6 or more
(fourfold more until the difference is 10 s); the difference gives seconds per training geometry per epoch
(the fixed start-up is the rest). The label and model file sizes calibrate the disk estimate.

Both parts update astray/campaign/cost_calibration.json in place and leave the other part as it was.
"""

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import yaml
from ase.build import molecule

from astray.campaign.costs import CALIBRATION, basis_functions, fit_timing_law, model_size
from astray.labels.labeling import calculate
from astray.labels.levels import Level

REPO = Path(__file__).resolve().parents[1]
MOLECULES = ["H2O", "CH4", "CH3OH", "C2H6", "CH3CH2OH", "C3H8", "C6H6"]  # 24 to 114 basis functions
FAMILIES = {  # method, and the largest molecule (basis functions) it is timed on
    "hf": ("hf", 120),
    "dft": ("pbe", 120),
    "mp2": ("mp2", 90),
    "ccsd": ("ccsd", 60),
    "ccsd(t)": ("ccsd(t)", 60),
}
BASIS = "def2-svp"
SHORT_EPOCHS = 2
# The longer run must outlast the shorter one by this much, or timing noise decides the slope: small models
# take a fraction of a second per epoch, and 2 against 6 epochs once gave them negative costs.
MIN_TIMED_DIFFERENCE_S = 10.0
MAX_EPOCHS = 1000
STRETCH = 1.6  # the default campaign's largest bond scaling


def cpu_name() -> str:
    models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
              if line.startswith("model name")]  # fmt: skip
    return f"{models[0] if models else platform.machine()} ({os.cpu_count()} cores)"


def unrestricted_factor(level: Level, equilibrium_seconds) -> float:
    """Geometric mean over the smallest molecules of (one bond stretched 1.6x) / equilibrium time."""
    logs = []
    for name, equilibrium in zip(MOLECULES, equilibrium_seconds):
        atoms = molecule(name)
        neighbour = 1 + int(np.argmin(atoms.get_distances(0, range(1, len(atoms)))))
        atoms.positions[neighbour] = atoms.positions[0] + STRETCH * (atoms.positions[neighbour] - atoms.positions[0])
        atoms.info.update(charge=0, multiplicity=1, geometry_id=f"{name} stretched")
        start = time.perf_counter()
        calculate(atoms, level, threads=1)
        stretched = time.perf_counter() - start
        print(f"{level.family:8s} {name:9s} one bond x{STRETCH} {stretched:8.2f} s", flush=True)
        logs.append(math.log(stretched / equilibrium))
    return math.exp(sum(logs) / len(logs))


def calibrate_labels(families) -> dict:
    laws = {}
    for family in families:
        method, largest = FAMILIES[family]
        level = Level(method, BASIS)
        sizes, seconds = [], []
        warm_up = molecule("H2")
        warm_up.info.update(charge=0, multiplicity=1, geometry_id="H2")
        calculate(warm_up, level, threads=1)  # first-call set-up (imports, grids) is not per-geometry cost
        for name in MOLECULES:
            atoms = molecule(name)
            atoms.info.update(charge=0, multiplicity=1, geometry_id=name)
            n_basis = basis_functions(atoms.get_chemical_formula(), BASIS)
            if n_basis > largest:
                break
            start = time.perf_counter()
            calculate(atoms, level, threads=1)
            sizes.append(n_basis)
            seconds.append(time.perf_counter() - start)
            print(f"{family:8s} {name:9s} {n_basis:4d} basis functions {seconds[-1]:8.2f} s", flush=True)
        laws[family] = {**fit_timing_law(sizes, seconds), "method": method, "basis": BASIS,
                        "unrestricted_factor": unrestricted_factor(level, seconds[:3])}  # fmt: skip
        print(f"{family}: {laws[family]['seconds_at_100']:.2f} s at 100 basis functions, exponent "
              f"{laws[family]['exponent']:.2f}", flush=True)  # fmt: skip
    return laws


def calibrate_training(device: str) -> dict:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import torch
    from training import organic_data  # the labeled organic set, shared with the training benchmark

    from astray.io import read_geometries, read_json
    from astray.models import nequip
    from astray.models.schnet_training import train

    labeled = organic_data()
    atom_energies = read_json(labeled.parent / "atom_energies.json")["energies"]
    geometries = read_geometries(labeled)
    train_atoms, val_atoms = geometries[:200], geometries[200:]
    ladder = yaml.safe_load((REPO / "config/paper_scale.yaml").read_text())["models"]
    settings = {"batch_size": 50, "learning_rate": 5e-4, "device": device, "patience": MAX_EPOCHS}  # every epoch runs
    references, model_bytes = {}, {"schnet": [], "nequip": []}
    for architecture in ("schnet", "nequip"):
        rungs = [spec for spec in ladder.values()
                 if spec["architecture"] == architecture and not spec.get("physics_prior")]  # fmt: skip
        points = []
        # On a CPU the largest NequIP rungs take hours; the two smallest rungs fix the line there.
        measured = (rungs[0], rungs[-1]) if device == "cuda" or architecture == "schnet" else rungs[:2]
        for spec in measured:
            if architecture == "nequip":
                spec = {**spec, "compile": False}

            def timed_run(epochs, architecture=architecture, spec=spec):  # this rung's, bound now
                workdir = Path(tempfile.mkdtemp(prefix="astray-cost-"))
                start = time.perf_counter()
                if architecture == "schnet":
                    train(train_atoms, val_atoms, atom_energies, spec, {**settings, "max_epochs": epochs}, seed=0,
                          output=workdir / "model.pt", log=lambda *_: None)  # fmt: skip
                else:
                    nequip.train(train_atoms, val_atoms, atom_energies, spec, {**settings, "max_epochs": epochs}, 0,
                                 workdir, log=lambda *_: None)  # fmt: skip
                if device == "cuda":
                    torch.cuda.synchronize()
                return time.perf_counter() - start, workdir

            per_epoch, startup, workdir = seconds_per_epoch(timed_run)
            files = [f for f in workdir.rglob("*") if f.is_file() and f.suffix != ".extxyz"]
            model_bytes[architecture].append([model_size(spec), sum(f.stat().st_size for f in files)])
            points.append([model_size(spec), per_epoch / len(train_atoms)])
            print(f"{architecture} size {model_size(spec):,.0f}: {per_epoch / len(train_atoms) * 1e3:.3f} ms per "
                  f"geometry-epoch, start-up {startup:.1f} s", flush=True)  # fmt: skip
        references[architecture] = {"points": points, "seconds_per_run": startup}
    name = torch.cuda.get_device_name() if device == "cuda" else cpu_name()
    return {"training": references, "training_measured_on": name, "model_files": model_bytes}


def seconds_per_epoch(timed_run):
    """Seconds per epoch and the fixed start-up of a training run, from a short run and a longer one whose
    epochs grow fourfold until it outlasts the short one by MIN_TIMED_DIFFERENCE_S. `timed_run(epochs)`
    returns (seconds, work folder); the last folder is returned with the figures."""
    short, _ = timed_run(SHORT_EPOCHS)
    epochs = 3 * SHORT_EPOCHS
    while True:
        long, workdir = timed_run(epochs)
        if long - short >= MIN_TIMED_DIFFERENCE_S or epochs * 4 > MAX_EPOCHS:
            break
        epochs *= 4
    per_epoch = max(long - short, 0.0) / (epochs - SHORT_EPOCHS)
    return per_epoch, max(short - SHORT_EPOCHS * per_epoch, 0.0), workdir


def disk_calibration(model_bytes: dict) -> dict:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from training import organic_data

    from astray.io import read_geometries

    labeled = organic_data()
    atoms = sum(len(a) for a in read_geometries(labeled))
    return {
        # A label lives in its chunk file, its progress line and the merged file: about three copies.
        "label_bytes_per_atom": 3 * labeled.stat().st_size / atoms,
        "dataset_bytes_per_atom": labeled.stat().st_size / atoms,
        "model_bytes": model_bytes,  # (size, bytes of every file a training run leaves) per architecture
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["labels", "training"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES),
                        help="labels: recalibrate only these method families, keeping the others' laws")  # fmt: skip
    args = parser.parse_args()
    calibration = json.loads(CALIBRATION.read_text()) if CALIBRATION.exists() else {}
    if args.part == "labels":
        calibration.setdefault("labels", {}).update(calibrate_labels(args.families))
        calibration["labels_measured_on"] = f"{cpu_name()}, one thread"
    else:
        measured = calibrate_training(args.device)
        calibration["disk"] = disk_calibration(measured.pop("model_files"))
        calibration.update(measured)
    CALIBRATION.write_text(json.dumps(calibration, indent=2, sort_keys=True) + "\n")
    print(f"wrote {CALIBRATION}")


if __name__ == "__main__":
    main()
