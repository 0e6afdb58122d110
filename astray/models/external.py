"""Any MLIP with a command-line trainer and an ASE calculator, as a rung without code in astray
(architecture `external`, docs/training.md "Any MLIP with a command line").

The spec gives the training command as a template, the model file it leaves, and the calculator factory
that reads that file. astray writes the run's training and validation sets (atomization energies in eV,
forces in eV/Å, under the spec's keys), fills the template, runs it in the run's folder with the spec's
environment, and writes `calculator.json`, the recipe astray.models.worker evaluates in that environment.
The program's output folder is kept between attempts, so a trainer that restarts from its own
checkpoints resumes a killed job; a changed command or training set clears it first.

Like mace.py this module imports only the standard library, ASE and astray's light modules.
"""

import hashlib
import json
import math
import shlex
import shutil
import subprocess
from pathlib import Path

from ase.data import atomic_numbers

from astray.config_schema import model_spec, training_settings
from astray.conventions import ENERGY_CONVENTION
from astray.io import write_geometries
from astray.models.runs import forget_other_runs, reference_copies, resolved_device, run_program

TIMEOUT_VARIABLE = "ASTRAY_EXTERNAL_TIMEOUT_S"
OUTPUT = "output"  # the program's folder inside the run's working folder: {output}
MODEL_PLACEHOLDER = "{model}"  # in calculator_kwargs: the trained model file's path

# What a train_command may name, and what each holds.
PLACEHOLDERS = {
    "python": "the environment's interpreter",
    "bin": "the folder of that interpreter, where the environment's commands are",
    "train": "the training set (extxyz)",
    "validation": "the validation set (extxyz)",
    "output": "the folder the program writes into (also its working folder)",
    "seed": "the run's seed",
    "threads": "threads the job was given",
    "device": "cpu or cuda (training.device, auto resolved in the environment)",
    "max_epochs": "training.max_epochs",
    "patience": "training.patience",
    "batch_size": "training.batch_size",
    "learning_rate": "training.learning_rate",
    "force_weight": "training.force_weight, 0 where the labels have no forces",
    "n_train": "geometries in the training set",
    "elements": "the campaign's elements, comma-separated (H,C,N,O)",
    "atomic_numbers": "their atomic numbers as a list ([1, 6, 7, 8])",
    "isolated_atoms": "the free atoms' energies on astray's scale, zero, by atomic number ({1: 0.0, 6: 0.0})",
    "energy_key": "the info key of the energies in the sets",
    "forces_key": "the arrays key of the forces in the sets",
}


class ExternalModelError(ValueError):
    """An external rung's spec that cannot run: an unknown placeholder, a missing environment or module."""


def interpreter(spec: dict, mace_python) -> Path | None:
    """The spec's environment as an interpreter: None for astray's own (the job's, also under --use-conda),
    MACE's (.venv-mace), or a path (relative to the folder the campaign runs in)."""
    environment = model_spec(spec)["environment"]
    if environment == "astray":
        return None
    if environment == "mace":
        return Path(mace_python)
    return Path(environment).absolute()


def command(spec, values: dict) -> list[str]:
    """The training command, the template split as a shell would and each word filled from `values`."""
    return [word.format(**values) for word in shlex.split(model_spec(spec)["train_command"])]


def template_values(spec, training, python, seed, species, files, output, n_train, with_forces, threads, device):
    spec, training = model_spec(spec), training_settings(training)
    numbers = sorted(atomic_numbers[symbol] for symbol in species)
    return {
        "python": str(python),
        "bin": str(Path(python).parent),
        "train": str(files[0]),
        "validation": str(files[1]),
        "output": str(output),
        "seed": seed,
        "threads": threads,
        "device": device,
        "max_epochs": training["max_epochs"],
        "patience": training["patience"],
        "batch_size": training["batch_size"],
        "learning_rate": training["learning_rate"],
        "force_weight": training["force_weight"] if with_forces else 0.0,
        "n_train": n_train,
        "elements": ",".join(species),
        "atomic_numbers": json.dumps(numbers),
        "isolated_atoms": "{" + ", ".join(f"{z}: 0.0" for z in numbers) + "}",
        "energy_key": spec["energy_key"],
        "forces_key": spec["forces_key"],
    }


def train(train_atoms, val_atoms, atom_energies, spec, training, seed, workdir, python, threads=1, log=print) -> Path:
    """Run the spec's training command for one training set in WORKDIR/output; returns the model file."""
    spec = model_spec(spec)
    workdir = Path(workdir).resolve()
    output = workdir / OUTPUT
    keys = spec["energy_key"], spec["forces_key"]
    train_data = reference_copies(train_atoms, atom_energies, *keys)
    val_data = reference_copies(val_atoms, atom_energies, *keys)
    with_forces = all(spec["forces_key"] in a.arrays for a in train_data + val_data)
    files = workdir / "train.extxyz", workdir / "validation.extxyz"
    for path, data in zip(files, (train_data, val_data)):
        write_geometries(path, data)
    device = resolved_device(training_settings(training)["device"], python)
    values = template_values(spec, training, python, seed, sorted(atom_energies), files, output, len(train_data),
                             with_forces, threads, device)  # fmt: skip
    arguments = command(spec, values)
    identity = hashlib.sha256(json.dumps(arguments).encode() + files[0].read_bytes() + files[1].read_bytes())
    # A run of another command or training set is not this one's to resume.
    forget_other_runs(workdir, identity.hexdigest(), [output])
    output.mkdir(exist_ok=True)
    (workdir / "command.json").write_text(json.dumps(arguments, indent=1) + "\n")
    run_program(arguments, log, output, TIMEOUT_VARIABLE, {"OMP_NUM_THREADS": str(threads)})
    model = output / spec["model_file"]
    if not model.exists():
        left = sorted(str(path.relative_to(output)) for path in output.rglob("*"))
        raise ExternalModelError(
            f"{arguments[0]} finished but left no {spec['model_file']} (the spec's model_file) in {output}; "
            f"it left: {', '.join(left) or 'nothing'}"
        )
    return model


def recipe(spec, python, n_train: int, training_seconds: float) -> dict:
    """The calculator evaluation builds in the spec's environment, on the model in the run's folder (paths
    relative to it, so results can move)."""
    spec = model_spec(spec)
    model = f"external/{OUTPUT}/{spec['model_file']}"
    kwargs, paths = {}, []
    for key, value in spec["calculator_kwargs"].items():
        if value == MODEL_PLACEHOLDER:
            kwargs[key], paths = model, [*paths, key]
        else:
            kwargs[key] = value
    return {
        "python": str(python),
        "calculator": spec["calculator"],
        "kwargs": kwargs,
        "paths": paths,
        "info": {
            "architecture": "external",
            "model_family": family(spec),
            "spec": spec,
            "charge_aware": False,
            "physics_prior": "none",
            "best_epoch": math.nan,  # the program's own; astray does not read its logs
            "training_seconds": training_seconds,
            "n_train": n_train,
            "energy_convention": ENERGY_CONVENTION,
        },
    }


def family(spec: dict) -> str:
    """The family capacity fits group the rung in: the spec's, else the calculator's package
    (external:mace), so the rungs of one MLIP form one ladder and two MLIPs two."""
    return spec.get("family") or f"external:{spec['calculator'].split('.')[0].split(':')[0]}"


def check(name: str, spec: dict, python, environment_built_later: bool) -> None:
    """What planning can check of an external rung before any job runs: the template's placeholders, the
    calculator's arguments, and, where the environment exists already, that it has the calculator's module
    and the command's program."""
    spec, key = model_spec(spec), f"models.{name}"
    dummy = {placeholder: "x" for placeholder in PLACEHOLDERS}
    try:
        command(spec, dummy)
    except KeyError as error:
        raise ExternalModelError(
            f"{key}.train_command: unknown placeholder {{{error.args[0]}}}; known: "
            + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
        ) from None
    except ValueError as error:  # an unmatched quote or brace
        raise ExternalModelError(f"{key}.train_command: {error} (write a literal brace as {{{{ or }}}})") from None
    model_file = Path(spec["model_file"])
    if model_file.is_absolute() or ".." in model_file.parts:
        raise ExternalModelError(f"{key}.model_file: {model_file} must be a path inside {{output}}")
    if environment_built_later:
        return
    if not Path(python).exists():
        raise ExternalModelError(f"{key}.environment: no interpreter at {python}")
    where = {**dummy, "python": str(python), "bin": str(Path(python).parent)}
    program = shlex.split(spec["train_command"])[0].format(**where)
    if shutil.which(program) is None:
        raise ExternalModelError(f"{key}.train_command: {program} is not a program that can be run")
    module = spec["calculator"].partition(":")[0]
    probe = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    if subprocess.run([str(python), "-c", probe], capture_output=True, timeout=300).returncode != 0:
        raise ExternalModelError(f"{key}.calculator: cannot import {module!r} in {python}")
