"""MACE trained from scratch with its own command line (`mace_run_train`), in an environment of its own.

mace-torch pins e3nn 0.4.4, which NequIP and SevenNet (e3nn 0.6) cannot share, so MACE lives in
`.venv-mace` (envs/mace-requirements.txt, built by scripts/setup-mace-env.sh when a campaign has a MACE
rung; envs/mace.yaml under --use-conda). Training calls that environment's `mace_run_train`; evaluation asks
its ASE calculator through a worker process in the same environment (astray.models.worker), so
nothing of MACE is imported here.

astray learns atomization energies, so MACE's E0s (the isolated atoms' energies) are zero for every element
of the campaign: a MACE atom without neighbours has no message and no residual in its first layer, so a
free atom is exactly its E0, zero. This module imports only the standard library, numpy, ASE and PyYAML:
under --use-conda it runs in the MACE environment.
"""

import hashlib
import json
import os
from pathlib import Path

from ase.data import atomic_numbers

from astray.config_schema import model_spec, training_settings
from astray.conventions import ENERGY_CONVENTION, plateau_patience
from astray.io import write_geometries
from astray.models.runs import forget_other_runs, reference_copies, resolved_device, run_program

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENT = REPO / ".venv-mace"
REQUIREMENTS = REPO / "envs" / "mace-requirements.txt"
# The interpreter of MACE's environment: ASTRAY_MACE_PYTHON, else the one astray builds.
PYTHON = Path(os.environ.get("ASTRAY_MACE_PYTHON", ENVIRONMENT / "bin" / "python"))
NAME = "astray"  # mace_run_train's --name: its model is WORKDIR/astray.model
MODEL_FILE = f"{NAME}.model"
# Seconds mace_run_train may run (ASTRAY_MACE_TIMEOUT_S): only a hung run meets it.
TIMEOUT_VARIABLE = "ASTRAY_MACE_TIMEOUT_S"


def training_data(atoms_list, atom_energies: dict) -> list:
    """Copies labeled as MACE reads them, under the keys its command names (REF_energy, REF_forces)."""
    return reference_copies(atoms_list, atom_energies)


def command(python, spec, training, seed, species, train_file, val_file, n_train: int, with_forces: bool,
            device: str) -> list[str]:  # fmt: skip
    """mace_run_train's arguments for one rung and a training set of `n_train` geometries (the program first)."""
    spec, training = model_spec(spec), training_settings(training)
    numbers = sorted(atomic_numbers[symbol] for symbol in species)
    force_weight = training["force_weight"] if with_forces else 0.0
    arguments = {
        "name": NAME,
        "seed": seed,
        "train_file": train_file,
        "valid_file": val_file,
        # Every element of the campaign gets a type (a test molecule's element the training set lacks too),
        # and its isolated atom zero: astray's energies are atomization energies.
        "atomic_numbers": json.dumps(numbers),
        "E0s": "{" + ", ".join(f"{z}: 0.0" for z in numbers) + "}",  # a Python dict, as MACE parses it
        "energy_key": "REF_energy",
        "forces_key": "REF_forces",
        "model": "MACE",
        "num_channels": spec["num_channels"],
        "max_L": spec["max_L"],
        "num_interactions": spec["num_interactions"],
        "correlation": spec["correlation"],
        "r_max": spec["cutoff"],
        "num_radial_basis": spec["num_radial_basis"],
        "default_dtype": spec["dtype"],
        # MACE's weighted loss: energy per atom and forces, as astray's force_weight sets them.
        "loss": "weighted",
        "energy_weight": 1.0,
        "forces_weight": force_weight,
        # MACE drops a last incomplete batch: a training set smaller than a batch would leave no batch at all.
        "batch_size": min(training["batch_size"], n_train),
        "valid_batch_size": training["batch_size"],
        "lr": training["learning_rate"],
        "max_num_epochs": training["max_epochs"],
        "patience": training["patience"],
        "scheduler_patience": plateau_patience(training["patience"]),
        "eval_interval": 1,
        "device": device,
    }
    flags = [f"--{key}={value}" for key, value in arguments.items()]
    # From the latest checkpoint of a killed run, if there is one (mace_run_train's restart).
    return [str(Path(python).with_name("mace_run_train")), *flags, "--restart_latest", "--save_cpu"]


def train(train_atoms, val_atoms, atom_energies, spec, training, seed, workdir, python, threads=1, log=print) -> Path:
    """Run mace_run_train in `workdir` with `python`'s environment; returns the trained model file.

    A killed run leaves its latest checkpoint in WORKDIR/checkpoints, and mace_run_train continues from it
    (`--restart_latest`); a run of another spec, setting or training set is cleared first.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    train_data, val_data = training_data(train_atoms, atom_energies), training_data(val_atoms, atom_energies)
    with_forces = all("REF_forces" in a.arrays for a in train_data + val_data)
    write_geometries(workdir / "train.extxyz", train_data)
    write_geometries(workdir / "validation.extxyz", val_data)
    files = (workdir / "train.extxyz", workdir / "validation.extxyz")
    device = resolved_device(training["device"], python)
    species = sorted(atom_energies)
    arguments = command(python, spec, training, seed, species, *files, len(train_data), with_forces, device)
    identity = hashlib.sha256(json.dumps(arguments[1:]).encode() + (workdir / "train.extxyz").read_bytes())
    # What a run of another command or training set left would be wrongly resumed.
    leftovers = [path for folder in ("checkpoints", "results", "logs") for path in (workdir / folder).glob("*")]
    forget_other_runs(workdir, identity.hexdigest(), leftovers)
    (workdir / "command.json").write_text(json.dumps(arguments, indent=1) + "\n")
    if any((workdir / "checkpoints").glob("*.pt")):
        log(f"resuming from the latest checkpoint in {workdir / 'checkpoints'}")
    run_program(arguments, log, workdir, TIMEOUT_VARIABLE, {"OMP_NUM_THREADS": str(threads)})
    return workdir / MODEL_FILE


def history(workdir) -> list[dict]:
    """Validation energy MAE and RMSE (eV) per epoch, from mace_run_train's results log (one JSON object a
    line; a resumed run appends, so an epoch's last entry counts)."""
    rows = {}
    for path in sorted((Path(workdir) / "results").glob(f"{NAME}_run-*_train.txt")):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("mode") == "eval" and entry.get("epoch") is not None:
                epoch = int(entry["epoch"]) + 1
                rows[epoch] = {"epoch": epoch, "val_mae_eV": entry["mae_e"], "val_rmse_eV": entry["rmse_e"]}
    return [rows[epoch] for epoch in sorted(rows)]


def recipe(workdir, spec, python, n_train: int, training_seconds: float) -> dict:
    """What evaluation needs: the environment's interpreter, the calculator to build there and what the
    model is. Paths are relative to the run's folder, so results can move."""
    epochs = history(workdir)
    best = min(epochs, key=lambda e: e["val_mae_eV"])
    return {
        "python": str(python),
        "calculator": "mace.calculators:MACECalculator",
        "kwargs": {
            "model_paths": f"{Path(workdir).name}/{MODEL_FILE}",
            "device": "cpu",
            "default_dtype": model_spec(spec)["dtype"],
        },
        "paths": ["model_paths"],
        "info": {
            "architecture": "mace",
            "spec": spec,
            "charge_aware": False,
            "physics_prior": "none",
            "best_epoch": best["epoch"],
            "best_val_mae_eV": best["val_mae_eV"],
            "epochs": len(epochs),
            "training_seconds": training_seconds,
            "n_train": n_train,
            "energy_convention": ENERGY_CONVENTION,
        },
    }
