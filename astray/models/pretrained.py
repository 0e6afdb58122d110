"""Pretrained potentials as rungs of the ladder: any ASE calculator, by name or from a factory.

A pretrained potential predicts total energies at its own level of theory (SevenNet-0: PBE on crystals),
not the campaign's. astray puts it on the campaign's conventions in two steps (docs/pretrained.md, "Pretrained models"):
- every energy is an atomization energy relative to the model's own free atoms, neutral and in their
  ground-state multiplicity (H2 relative to two of its own H atoms): what the probe curves compare;
- holdout errors are taken after a per-element linear shift, fitted by least squares on the training set
  of the run (one number per element), which absorbs what the two levels disagree on per atom.

The potential is run once per campaign (`predict`): every geometry that evaluation and alignment need, the
probes and the free atoms. `PretrainedPredictions` then answers evaluation's questions from that table.
"""

import importlib
import importlib.util
import math
import socket
from pathlib import Path

import numpy as np
from ase import Atoms

from astray.config_schema import model_spec
from astray.io import read_json, write_json
from astray.labels.states import ATOM_MULTIPLICITY, charge_and_multiplicity
from astray.models import default_dtype

# Potentials whose weights ship inside their PyPI wheels, so they run on offline cluster nodes. What each
# was trained on is as its authors state it (SevenNet's documentation, "Pretrained models").
PRETRAINED = {
    "7net-0": {
        "factory": "sevenn.calculator:SevenNetCalculator",
        "kwargs": {"model": "7net-0"},
        "trained_on": "MPtrj (Materials Project relaxation trajectories of inorganic crystals), PBE/PBE+U",
        "citation": "Park et al., J. Chem. Theory Comput. 20, 4857 (2024)",
    },
    "7net-l3i5": {
        "factory": "sevenn.calculator:SevenNetCalculator",
        "kwargs": {"model": "7net-l3i5"},
        "trained_on": "MPtrj (Materials Project relaxation trajectories of inorganic crystals), PBE/PBE+U",
        "citation": "Park et al., J. Chem. Theory Comput. 20, 4857 (2024)",
    },
    "7net-mf-0": {
        "factory": "sevenn.calculator:SevenNetCalculator",
        # The fidelity it predicts: PBE or R2SCAN (override with kwargs: {modal: R2SCAN}).
        "kwargs": {"model": "7net-mf-0", "modal": "PBE"},
        "trained_on": "Materials Project crystal relaxation trajectories at PBE/PBE+U and r2SCAN (multi-fidelity)",
        "citation": "Kim et al., J. Am. Chem. Soc. (2024), doi:10.1021/jacs.4c14455",
    },
}

# What the cube's `energy_alignment` says of a pretrained model.
ALIGNMENT = (
    "holdout errors after a per-element energy shift fitted by least squares on the run's training set; "
    "probe curves relative to the model's own free atoms, unshifted"
)

# How long a factory may wait on the network before astray calls the node offline.
NETWORK_TIMEOUT_S = 20


class PretrainedModelError(ValueError):
    """A pretrained model that cannot be built or asked: unknown name, factory or weights out of reach."""


# Fine-tuning needs the network itself, not a calculator: only SevenNet's single-fidelity potentials.
FINETUNABLE = ("7net-0", "7net-l3i5")


def check_finetunable(name: str, spec: dict) -> None:
    """Planning's check of a fine-tuning spec: a potential astray can fine-tune."""
    if spec["from"] not in FINETUNABLE:
        raise PretrainedModelError(
            f"models.{name}.from: '{spec['from']}' cannot be fine-tuned here (fine-tunable: {', '.join(FINETUNABLE)})"
        )


def resolve(name: str, spec: dict) -> dict:
    """The full recipe of a `architecture: pretrained` spec: a registry entry with the spec's overrides,
    or the spec's own factory. Raises PretrainedModelError naming the model and the key."""
    if "name" in spec:
        if spec["name"] not in PRETRAINED:
            raise PretrainedModelError(
                f"models.{name}.name: unknown pretrained model '{spec['name']}' (known: {', '.join(PRETRAINED)}); "
                "any other ASE calculator can be given as factory: 'module:function' with its kwargs"
            )
        entry = PRETRAINED[spec["name"]]
        return {
            **entry,
            **{key: value for key, value in spec.items() if key != "kwargs"},
            "kwargs": {**entry["kwargs"], **model_spec(spec)["kwargs"]},
        }
    module, _, function = spec["factory"].partition(":")
    if not module or not function:
        raise PretrainedModelError(f"models.{name}.factory: '{spec['factory']}' is not 'module:function'")
    return {"kwargs": {}, "citation": "", **spec}


def check_factory_module(name: str, recipe: dict) -> None:
    """Planning's check, without importing the package (seconds for a torch stack): the factory's module
    is installed in this environment."""
    module_name = recipe["factory"].partition(":")[0]
    if not _installed(module_name):
        raise PretrainedModelError(
            f"models.{name}.factory: cannot import '{module_name}': install the package that provides it in "
            "this environment, or run the rule in its own conda environment (docs/pretrained.md)"
        )


def _installed(module_name: str) -> bool:
    """Whether `module_name` can be imported, found without running any package's __init__ (find_spec of
    a submodule imports its parents: 1.8 s for sevenn.calculator, which imports torch)."""
    top, *inner = module_name.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None or not inner:
        return spec is not None
    for location in spec.submodule_search_locations or []:
        module = Path(location).joinpath(*inner)
        found = [module / "__init__.py", module.with_suffix(".py"), *module.parent.glob(f"{module.name}.*.so")]
        if any(path.is_file() for path in found):
            return True
    return False


def load_factory(name: str, recipe: dict):
    """The factory function ('module:function', the function may be dotted: 'module:Class.from_file')."""
    module_name, _, path = recipe["factory"].partition(":")
    try:
        target = importlib.import_module(module_name)
    except ImportError as error:
        raise PretrainedModelError(f"models.{name}.factory: cannot import '{module_name}' ({error})") from None
    for attribute in path.split("."):
        target = getattr(target, attribute, None)
    if not callable(target):
        raise PretrainedModelError(f"models.{name}.factory: module '{module_name}' has no callable '{path}'")
    return target


def build_calculator(name: str, recipe: dict):
    """The ASE calculator, built with a network timeout: a factory that fetches weights on an offline node
    fails with an error that says so instead of hanging.

    Built at torch's own default dtype (float32), as in a fresh process: a NequIP model loaded earlier in
    the process leaves the default at float64, and SevenNet's checkpoint loading then fails on mixed dtypes.
    A default the factory sets itself (as some calculators do, for their inference) is kept, as it would be
    in a fresh process.
    """
    import torch

    factory = load_factory(name, recipe)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(NETWORK_TIMEOUT_S)
    try:
        with default_dtype(torch.float32):
            calculator = factory(**recipe["kwargs"])
            chosen = torch.get_default_dtype()
        if chosen != torch.float32:
            torch.set_default_dtype(chosen)
        return calculator
    except OSError as error:  # requests', urllib's and huggingface_hub's network errors are OSErrors
        raise PretrainedModelError(
            f"models.{name}: {recipe['factory']}(**{recipe['kwargs']}) could not load its weights ({error}). "
            "If it downloads them, this node may be offline: fetch them where there is network (a login node) "
            "into the package's cache, or give the factory a local weights file in kwargs"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)


def count_parameters(calculator) -> float:
    """Trainable parameters of the torch modules an ASE calculator holds (SevenNet's `model`, MACE's
    `models`, ...), as the cube's n_parameters counts them for every model: SevenNet-0's frozen per-element
    shift and scale and its convolutions' fixed denominators (183 numbers) are not among them. NaN when it
    holds no module that astray can find."""
    import torch

    modules = {}
    for value in vars(calculator).values():
        for candidate in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(candidate, torch.nn.Module):
                modules[id(candidate)] = candidate
    if not modules:
        return math.nan
    return float(sum(p.numel() for module in modules.values() for p in module.parameters() if p.requires_grad))


# Å between packed molecules: beyond the cutoff of every local model astray runs (SevenNet-0's is 5 Å, MACE's
# and UMA's 6 Å), so no atom of one sees another's.
PACKING_GAP = 12.0


class CalculatorModel:
    """A pretrained calculator asked for total energies, told a geometry's charge and spin only through the
    `atoms.info` keys or calculator attributes its recipe names: without them it sees the bare geometry
    (charge_aware = 0)."""

    def __init__(self, name: str, recipe: dict, calculator=None):
        self.name = name
        self.recipe = recipe
        self.calculator = calculator if calculator is not None else build_calculator(name, recipe)

    def total_energy(self, atoms: Atoms) -> float:
        """Energy (eV) of one geometry; raises ValueError when the calculator cannot take it or returns a
        non-finite number."""
        return self._calculate(atoms)[0]

    def energy_and_forces(self, atoms: Atoms) -> tuple[float, np.ndarray]:
        """Energy (eV) and forces (eV/Å) from one call of the calculator."""
        energy, bare = self._calculate(atoms)
        forces = bare.get_forces()
        if not np.isfinite(forces).all():
            raise ValueError("the calculator returned non-finite forces")
        return energy, forces

    def energies_and_forces(self, atoms_list) -> tuple[np.ndarray, list[np.ndarray]]:
        """Energies (eV) and forces (eV/Å) of several molecules (NaN where the calculator cannot take one).
        Where the calculator reports per-atom energies and is told no charge or spin, the molecules are
        computed in one call, set PACKING_GAP apart: a local model sees each alone, and one call over many
        atoms costs less than a call per molecule (SevenNet-0, 8 small molecules on 2 cores: 129 ms against
        338 ms)."""
        if len(atoms_list) > 1 and self._packable():
            return self._packed(atoms_list)
        energies, forces = [], []
        for atoms in atoms_list:
            try:
                energy, force = self.energy_and_forces(atoms)
            except ValueError:
                energy, force = math.nan, np.full((len(atoms), 3), math.nan)
            energies.append(energy)
            forces.append(force)
        return np.array(energies), forces

    def _packable(self) -> bool:
        told = any(self.recipe.get(f"{what}_{how}") for what in ("charge", "spin") for how in ("key", "attribute"))
        return not told and "energies" in getattr(self.calculator, "implemented_properties", ())

    def _packed(self, atoms_list):
        extent = max(np.ptp(atoms.positions, axis=0).max() for atoms in atoms_list)
        side = int(np.ceil(len(atoms_list) ** (1 / 3)))
        packed = Atoms()
        for index, atoms in enumerate(atoms_list):
            corner = np.array([index % side, index // side % side, index // side**2]) * (extent + PACKING_GAP)
            packed += Atoms(atoms.numbers, positions=atoms.positions - atoms.positions.min(axis=0) + corner)
        packed.calc = self.calculator
        forces = packed.get_forces()
        per_atom = self.calculator.results["energies"]
        ends = np.cumsum([len(atoms) for atoms in atoms_list])
        energies = np.array([per_atom[end - len(a) : end].sum() for end, a in zip(ends, atoms_list)])
        return energies, np.split(np.array(forces), ends[:-1])

    def _calculate(self, atoms: Atoms):
        bare = Atoms(atoms.numbers, positions=atoms.positions)
        charge, multiplicity = charge_and_multiplicity(atoms)
        # Calculators read the charge and spin from atoms.info (fairchem) or hold them (AIMNet2ASE).
        for where, value in (("charge", charge), ("spin", multiplicity)):
            if self.recipe.get(f"{where}_key"):
                bare.info[self.recipe[f"{where}_key"]] = value
            if self.recipe.get(f"{where}_attribute"):
                setattr(self.calculator, self.recipe[f"{where}_attribute"], value)
                self.calculator.reset()  # a changed attribute is not a change ASE's cache sees
        bare.calc = self.calculator
        energy = float(bare.get_potential_energy())
        if not math.isfinite(energy):
            raise ValueError(f"the calculator returned {energy}")
        return energy, bare

    def free_atom_energies(self, elements) -> tuple[dict, dict]:
        """Total energy (eV) of each element's neutral atom in its ground-state multiplicity, and for the
        elements the calculator cannot take, why."""
        energies, missing = {}, {}
        for symbol in elements:
            if symbol not in ATOM_MULTIPLICITY:
                missing[symbol] = f"free {symbol} atom: its ground-state multiplicity is not in astray's table"
                continue
            atom = Atoms(symbol, info={"charge": 0, "multiplicity": ATOM_MULTIPLICITY[symbol]})
            try:
                energies[symbol] = self.total_energy(atom)
            except (ValueError, KeyError, RuntimeError) as error:
                missing[symbol] = f"free {symbol} atom: {error}"
        return energies, missing


def predict(
    name: str,
    recipe: dict,
    geometries,
    probe_curves: dict,
    elements,
    forces_of=(),
    progress=None,
    checkpoint=None,
    dynamics=None,
) -> dict:
    """Atomization energies (eV, relative to the model's own free atoms) of `geometries` (a holdout or
    training geometry it cannot take is an error naming it), forces (eV/Å) of those whose geometry_id is
    in `forces_of`, and each probe's curve (`probe_curves`: {probe: [Atoms]}; a probe it cannot take is
    NaN with the reason). `progress`: a file for a line every 500 geometries. `checkpoint`: a file the
    predictions so far are saved to every 500 geometries and resumed from, so a killed job (hours at paper
    scale) does not predict again what it had. `dynamics`: (molecules, astray.evaluation.dynamics.DynamicsSettings), the
    NVE runs whose summaries the table keeps, so every evaluation of the model reads the same runs."""
    import torch

    from astray.models import default_dtype

    # As in a fresh process: torch's own default dtype, whatever a NequIP model loaded before left set
    # (SevenNet's float32 checkpoint does not load under float64). A factory may still set its own.
    with default_dtype(torch.float32):
        model = CalculatorModel(name, recipe)
        table = _predict(model, geometries, probe_curves, elements, forces_of, progress, checkpoint)
        if dynamics is not None:
            table["dynamics"] = _dynamics(model, *dynamics)
        return table


def _dynamics(model, molecules, settings) -> dict:
    """The NVE runs' summaries, as lists for JSON."""
    from astray.evaluation.dynamics import run_nve, summaries

    runs = summaries(run_nve(molecules, model.energies_and_forces, settings))
    return {name: np.asarray(values).tolist() for name, values in runs.items()}


def _resumed(checkpoint, recipe) -> tuple[dict, dict]:
    """The energies and forces a killed run of the same recipe saved; none otherwise."""
    if checkpoint is None or not Path(checkpoint).exists():
        return {}, {}
    saved = read_json(checkpoint)
    if saved["recipe"] != recipe:
        return {}, {}
    return saved["atomization_energies"], saved["forces"]


def _predict(model, geometries, probe_curves, elements, forces_of, progress, checkpoint) -> dict:
    name, recipe = model.name, model.recipe
    free_atoms, missing = model.free_atom_energies(elements)

    def atomization(energy, atoms):
        for symbol in set(atoms.get_chemical_symbols()) & set(missing):
            raise ValueError(missing[symbol])
        return energy - sum(free_atoms[s] for s in atoms.get_chemical_symbols())

    energies, forces = _resumed(checkpoint, recipe)
    if energies and progress:
        print(f"resuming: {len(energies):,} geometries predicted before ({checkpoint})", file=progress, flush=True)
    for count, atoms in enumerate(geometries, 1):
        if count % 500 == 0:
            if progress:
                print(f"{count:,} of {len(geometries):,} geometries", file=progress, flush=True)
            if checkpoint:
                write_json(checkpoint, {"recipe": recipe, "atomization_energies": energies, "forces": forces})
        key = atoms.info["geometry_id"]
        if key in energies and (key in forces or key not in forces_of):
            continue
        try:
            if key in forces_of:
                energy, forces[key] = model.energy_and_forces(atoms)
                forces[key] = forces[key].tolist()
            else:
                energy = model.total_energy(atoms)
            energies[key] = atomization(energy, atoms)
        except (ValueError, KeyError, RuntimeError) as error:
            raise PretrainedModelError(
                f"models.{name}: cannot predict geometry '{atoms.info['geometry_id']}' "
                f"({atoms.get_chemical_formula()}): {error}"
            ) from None
    probes = {}
    for probe, curve in probe_curves.items():
        try:
            values = [atomization(model.total_energy(atoms), atoms) for atoms in curve]
            reason = ""
        except (ValueError, KeyError, RuntimeError) as error:
            values, reason = [math.nan] * len(curve), str(error)
        probes[probe] = {
            "energies": {atoms.info["geometry_id"]: value for atoms, value in zip(curve, values)},
            "unavailable": reason,
        }
    return {
        "name": name,
        "recipe": recipe,
        "n_parameters": count_parameters(model.calculator),
        "free_atom_energies": free_atoms,
        "atomization_energies": energies,
        "forces": forces,
        "probes": probes,
        "units": "eV",
    }


class PretrainedPredictions:
    """The predictor evaluation reads for a pretrained model: `predict`'s table, looked up by geometry_id,
    optionally shifted by a per-element alignment (`aligned_to`)."""

    def __init__(self, path, shifts: dict | None = None, table: dict | None = None):
        self.path = path
        self.table = table if table is not None else read_json(path)
        self.shifts = shifts or {}
        recipe = self.table["recipe"]
        self.probe_unavailable = {p: v["unavailable"] for p, v in self.table["probes"].items()}
        self.known = dict(self.table["atomization_energies"])
        for probe in self.table["probes"].values():
            self.known.update(probe["energies"])
        self.info = {
            "spec": recipe,
            "model_family": "pretrained:" + recipe.get("name", recipe["factory"]),
            "n_parameters": self.table["n_parameters"],
            "charge_aware": bool(recipe.get("charge_key") or recipe.get("charge_attribute")),
            "spin_aware": bool(recipe.get("spin_key") or recipe.get("spin_attribute")),
            "physics_prior": "none",
            "best_epoch": math.nan,
            "training_data": recipe["trained_on"],
            "energy_alignment": ALIGNMENT,
        }
        # The molecular dynamics its prediction job ran (None if it ran none):
        # astray.evaluation.dynamics.model_dynamics.
        self.dynamics = self.table.get("dynamics")

    def _energy(self, atoms: Atoms) -> float:
        key = atoms.info["geometry_id"]
        if key in self.known:
            value = self.known[key]
        elif len(atoms) == 1 and charge_and_multiplicity(atoms)[0] == 0:
            value = 0.0  # a neutral free atom, relative to the model's own: zero by construction
        else:
            raise KeyError(f"{self.path}: no prediction for geometry '{key}'; the predictions are out of date")
        return value + sum(self.shifts.get(s, 0.0) for s in atoms.get_chemical_symbols())

    def energies(self, atoms_list) -> np.ndarray:
        return np.array([self._energy(atoms) for atoms in atoms_list], dtype=float)

    def forces(self, atoms_list):
        """The model's forces (eV/Å): unchanged by the alignment, a constant per geometry."""
        try:
            return [np.array(self.table["forces"][atoms.info["geometry_id"]]) for atoms in atoms_list]
        except KeyError as error:
            raise KeyError(f"{self.path}: no forces predicted for geometry {error}") from None

    def aligned_to(self, train_atoms, atom_energies: dict) -> "PretrainedPredictions":
        """This predictor plus the per-element shift (eV per atom) that best maps its atomization energies
        onto the campaign's on `train_atoms`, by least squares; elements absent from them get none."""
        from astray.conventions import atomization_energy

        elements = sorted({s for atoms in train_atoms for s in atoms.get_chemical_symbols()})
        counts = np.array([[atoms.get_chemical_symbols().count(e) for e in elements] for atoms in train_atoms])
        residual = np.array([atomization_energy(a, atom_energies) for a in train_atoms]) - self.energies(train_atoms)
        coefficients = np.linalg.lstsq(counts, residual, rcond=None)[0]
        return PretrainedPredictions(self.path, dict(zip(elements, coefficients.tolist())), self.table)
