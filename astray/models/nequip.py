"""NequIP and Allegro through NequIP's own tools: `nequip-train` on a generated config, `nequip-package`,
`nequip-compile`. Allegro (nequip-allegro) is a model nequip-train builds like its own, so both
architectures share this module: only the config's model block differs (nequip_train.yaml).

astray learns atomization energies (eV, relative to the isolated atoms at the label level), so NequIP's
per-type energy shifts are zero: they are the energies of isolated atoms, and on this scale those are zero.
nequip's default, the mean energy per atom of the training set, would tie every element to the average
molecule's composition (hundreds of eV off on mixed molecules). Molecules are written into a large box with
periodicity off, because `nequip-compile` checks stress on a cell that must exist.
"""

import csv
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import yaml
from ase.calculators.singlepoint import SinglePointCalculator
from omegaconf import OmegaConf

from astray.config_schema import model_spec, training_settings
from astray.conventions import ENERGY_CONVENTION, atomization_energy, plateau_patience
from astray.io import write_geometries
from astray.models.runs import forget_other_runs, run_program

BOX = 100.0  # Å: far beyond any cutoff, so no atom sees an image of another
TEMPLATE = Path(__file__).with_name("nequip_train.yaml")
# The architectures nequip-train builds here, each a model block of nequip_train.yaml.
ARCHITECTURES = ("nequip", "allegro")


def training_data(atoms_list, atom_energies: dict) -> list:
    """Copies of the molecules labeled with atomization energy (eV) and forces (eV/Å), in a closed box."""
    converted = []
    for atoms in atoms_list:
        copy = atoms.copy()
        copy.info = {"geometry_id": atoms.info["geometry_id"]}
        copy.set_cell(np.eye(3) * BOX)
        copy.pbc = False
        results = {"energy": atomization_energy(atoms, atom_energies)}
        if "forces" in atoms.calc.results:
            results["forces"] = atoms.get_forces()
        copy.calc = SinglePointCalculator(copy, **results)
        converted.append(copy)
    return converted


def nequip_config(spec, training, seed, species, train_file, val_file, with_forces: bool) -> dict:
    """The `nequip-train` config for one capacity of the ladder (a NequIP or an Allegro spec) and one
    training set: nequip_train.yaml with this run's values filled in and its architecture's model block."""
    spec, training = model_spec(spec), training_settings(training)
    if spec["architecture"] not in ARCHITECTURES:
        raise ValueError(f"nequip-train builds {', '.join(ARCHITECTURES)}, not {spec['architecture']!r}")
    force_weight = training["force_weight"] if with_forces else 0.0
    values = {
        "seed": seed,
        "species": list(species),
        "type_map": {symbol: symbol for symbol in species},
        "train_file": str(train_file),
        "val_file": str(val_file),
        "max_epochs": training["max_epochs"],
        "patience": training["patience"],
        "plateau_patience": plateau_patience(training["patience"]),
        "batch_size": training["batch_size"],
        "learning_rate": training["learning_rate"],
        "accelerator": {"auto": "auto", "cpu": "cpu", "cuda": "gpu"}[training["device"]],
        "spec": spec,
        "architecture": spec["architecture"],
        "zero_energy_shifts": {symbol: 0.0 for symbol in species},
        "force_weight": force_weight,
        "loss": "energy_and_forces" if force_weight > 0 else "energy",
        "energy_scale": "forces_rms" if with_forces else "per_atom_energy_std",
        "stats_manager": f"nequip.data.{'Common' if with_forces else 'EnergyOnly'}DataStatisticsManager",
    }
    template = OmegaConf.load(TEMPLATE)
    # Only the rung's model block is resolved: the other's keys are not in its spec.
    template.astray.models = {spec["architecture"]: template.astray.models[spec["architecture"]]}
    template.astray.merge_with(values)
    config = OmegaConf.to_container(template, resolve=True, throw_on_missing=True)
    del config["astray"]
    return config


def train(train_atoms, val_atoms, atom_energies, spec, training, seed, workdir, species=None, log=print) -> Path:
    """Run `nequip-train` in `workdir`; returns the best checkpoint.

    `species` are the elements the model must know (the campaign's, so test molecules and probes with an
    element the training set lacks can still be evaluated); by default those of the given molecules.

    Lightning writes last.ckpt after every epoch; if one is there from a killed run, training continues from
    it (nequip's restart) instead of starting over.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    train_data, val_data = training_data(train_atoms, atom_energies), training_data(val_atoms, atom_energies)
    with_forces = all("forces" in a.calc.results for a in train_data + val_data)
    species = sorted(species or {s for a in train_data + val_data for s in a.get_chemical_symbols()})
    write_geometries(workdir / "train.extxyz", train_data)
    write_geometries(workdir / "validation.extxyz", val_data)
    config = nequip_config(spec, training, seed, species, workdir / "train.extxyz", workdir / "validation.extxyz",
                           with_forces)  # fmt: skip
    config_text = yaml.safe_dump(config, sort_keys=False)
    identity = hashlib.sha256((config_text + "".join(a.info["geometry_id"] for a in train_data)).encode()).hexdigest()
    # A run of another config or training set leaves checkpoints that resuming would wrongly continue.
    forget_other_runs(workdir, identity, [workdir / "last.ckpt", workdir / "best.ckpt", *_metrics_files(workdir)])
    (workdir / "config.yaml").write_text(config_text)
    command = [_tool("nequip-train"), "-cp", str(workdir), "-cn", "config", f"hydra.run.dir={workdir}"]
    last = workdir / "last.ckpt"
    if last.exists():
        log(f"resuming from {last}")
        command.append(f"++ckpt_path={last}")
        _keep_metrics_of_earlier_attempts(workdir)
    _run(command, log, cwd=workdir)
    return workdir / "best.ckpt"


def _keep_metrics_of_earlier_attempts(workdir: Path) -> None:
    """Lightning's CSV log starts afresh on a restart; the epochs before it are kept under another name."""
    current = workdir / "metrics.csv"
    if current.exists():
        current.rename(workdir / f"metrics.attempt{len(_metrics_files(workdir))}.csv")


def _metrics_files(workdir: Path) -> list[Path]:
    """Metrics of every attempt, oldest first: attempt0, attempt1, ..., then the current run's."""
    attempts = sorted(workdir.glob("metrics.attempt*.csv"), key=lambda p: int(p.name.split("attempt")[1][:-4]))
    current = workdir / "metrics.csv"
    return attempts + ([current] if current.exists() else [])


def package(checkpoint, output, log=print) -> None:
    """`nequip-package`: the model with its code, independent of the nequip version that reads it."""
    output = Path(output).resolve()
    _run([_tool("nequip-package"), "build", str(Path(checkpoint).resolve()), str(output)], log, cwd=output.parent)


def compile_model(packaged, output, device: str = "cpu", log=print) -> None:
    """`nequip-compile` ahead of time (AOTInductor) for the ASE calculator on one device.

    nequip traces the model on the first training molecule of more than three atoms; a training set of
    diatomics alone cannot be compiled (nequip's shape check fails and this raises), so such a ladder
    needs `compile: false`, which evaluates the package instead.
    """
    output = Path(output).resolve()
    _run([_tool("nequip-compile"), str(Path(packaged).resolve()), str(output), "--mode", "aotinductor",
          "--device", device, "--target", "ase"], log, cwd=output.parent)  # fmt: skip


def history(workdir) -> list[dict]:
    """Loss history from Lightning's CSV log, one row per epoch, in astray's column names."""
    rows = {}
    for path in _metrics_files(Path(workdir)):
        with open(path) as handle:
            rows_of_attempt = list(csv.DictReader(handle))
        for row in rows_of_attempt:
            epoch = int(row["epoch"]) + 1
            entry = rows.setdefault(epoch, {"epoch": epoch})
            if row.get("val0_epoch/total_energy_mae"):
                entry["val_mae_eV"] = float(row["val0_epoch/total_energy_mae"])
            loss = row.get("train_loss_epoch/weighted_sum") or row.get("train_loss_epoch/total_energy_mse")
            if loss:
                entry["train_rmse_eV"] = float(loss) ** 0.5
    return [rows[epoch] for epoch in sorted(rows)]


def _tool(name: str) -> str:
    """The nequip command installed beside this Python, so the workflow's environment is the one used."""
    return str(Path(sys.executable).with_name(name))


# Seconds a nequip tool may run (ASTRAY_NEQUIP_TIMEOUT_S): only a hung tool meets it.
TIMEOUT_VARIABLE = "ASTRAY_NEQUIP_TIMEOUT_S"


def _run(command, log, cwd) -> None:
    """Run a nequip tool in `cwd`, where it may leave files of its own (logs, debugging dumps)."""
    run_program(command, log, cwd, TIMEOUT_VARIABLE, {"HYDRA_FULL_ERROR": "1"})


def summary(workdir, spec, n_train: int, training_seconds: float = math.nan) -> dict:
    """What evaluation needs to know about a trained NequIP model, read back from its run; `training_seconds`,
    the wall time the training job measured (of its own attempt, where a killed one came before)."""
    from nequip.model.saved_models.load_utils import load_saved_model
    from nequip.utils.global_state import set_global_state

    set_global_state()
    model = load_saved_model(str(Path(workdir) / "best.ckpt"), compile_mode="eager", model_key="sole_model")
    epochs = history(workdir)
    best = min((e for e in epochs if "val_mae_eV" in e), key=lambda e: e["val_mae_eV"])
    return {
        "architecture": spec["architecture"],
        "spec": spec,
        "charge_aware": False,
        "physics_prior": "none",
        "n_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "best_epoch": best["epoch"],
        "best_val_mae_eV": best["val_mae_eV"],
        "epochs": len(epochs),
        "training_seconds": training_seconds,
        "n_train": n_train,
        "energy_convention": ENERGY_CONVENTION,
    }


class NequIPPredictor:
    """A trained NequIP (or Allegro) model behind astray's predictor interface, through nequip's ASE calculator.

    Reads the compiled model (`.nequip.pt2`, AOTInductor for the ASE target) or, when compilation is off,
    the packaged one (`.nequip.zip`) run eagerly; `summary.json` beside it says what the model is.
    """

    def __init__(self, path):
        from nequip.integrations.ase import NequIPCalculator

        path = Path(path)
        if path.name.endswith(".pt2"):
            self.calculator = NequIPCalculator.from_compiled_model(
                str(path),
                device="cpu",
                chemical_species_to_atom_type_map=True,  # astray's types are elements
            )
        else:
            # nequip's loader for packaged models; its public counterpart takes compiled ones only.
            self.calculator = NequIPCalculator._from_saved_model(
                str(path), device="cpu", chemical_species_to_atom_type_map=True
            )
        self.info = json.loads(path.with_name("summary.json").read_text())

    def _calculated(self, atoms):
        boxed = atoms.copy()
        boxed.set_cell(np.eye(3) * BOX)
        boxed.pbc = False
        boxed.calc = self.calculator
        return boxed

    def energies(self, atoms_list) -> np.ndarray:
        return np.array([self._calculated(a).get_potential_energy() for a in atoms_list])

    def forces(self, atoms_list) -> list[np.ndarray]:
        return [self._calculated(a).get_forces() for a in atoms_list]
