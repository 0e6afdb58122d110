"""Every architecture a campaign's ladder can hold, and what the workflow, evaluation and the cost model need
to know of it: which file of a run evaluation reads and how to read it, what it reads beside it, whether
astray trains it, and its size for the cost model. Nothing else dispatches on an architecture's name; the
rules that make its files declare it in their wildcard constraints (rules/train.smk).

Adding an architecture: its module (trainer and predictor), its spec under `$defs` in config/schema.yaml,
its rule, and an entry here. The predictors and checks are imported only when a model of theirs is read or
planned.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RUN_FOLDER = "results/models/{kind}/seed{seed}/n{size}/{model}"
PRETRAINED_FOLDER = "results/pretrained/{model}"


@dataclass(frozen=True)
class Architecture:
    """How one architecture's models are found and read.

    `model_file(spec)`: the file evaluation reads, in the run's folder (or once per rung in
    PRETRAINED_FOLDER where `per_run` is False); `predictor(path)`: what evaluation asks for energies and
    forces; `summary_file`: read beside the model; `trained`: astray trains it on each training set (else its
    predictions are aligned to the set); `size(spec)`: its size for the cost model (None: not priced);
    `check(name, spec, planning)`: what planning checks of a rung beyond its schema, before any job runs.
    """

    name: str
    model_file: Callable[[dict], str]
    predictor: Callable
    trained: bool = True
    per_run: bool = True
    summary_file: str | None = None
    size: Callable[[dict], float] | None = None
    check: Callable | None = None


@dataclass(frozen=True)
class Planning:
    """What a rung's planning check may need of the campaign: whether the jobs' packages are this
    interpreter's (not under --use-conda, where each rule brings its own), and astray's MACE environment
    (its interpreter, and whether it is built yet)."""

    packages_here: bool
    mace_python: Path
    mace_built: bool


def _schnet_predictor(path):
    from astray.models.schnet import SchNetPredictor

    return SchNetPredictor(path)


def _nequip_predictor(path):
    # Imports nequip only when a NequIP or Allegro model is read.
    from astray.models.nequip import NequIPPredictor

    return NequIPPredictor(path)


def _worker_predictor(path):
    # The calculator runs in its own environment's process (MACE's e3nn is not astray's, nor need a user's MLIP be).
    from astray.models.worker import WorkerPredictor

    return WorkerPredictor(path)


def _finetuned_predictor(path):
    from astray.models.finetune import FinetunedPredictor

    return FinetunedPredictor(path)


def _pretrained_predictions(path):
    from astray.models.pretrained import PretrainedPredictions

    return PretrainedPredictions(path)


def _check_pretrained(name: str, spec: dict, planning: Planning) -> None:
    """A known name or a factory, whose package imports where the jobs run."""
    from astray.models.pretrained import check_factory_module, resolve

    recipe = resolve(name, spec)
    if planning.packages_here:
        check_factory_module(name, recipe)


def _check_finetune(name: str, spec: dict, planning: Planning) -> None:
    """A potential astray can fine-tune, whose package imports where the jobs run."""
    from astray.models.pretrained import PRETRAINED, check_factory_module, check_finetunable

    check_finetunable(name, spec)
    if planning.packages_here:
        check_factory_module(name, PRETRAINED[spec["from"]])


def _check_external(name: str, spec: dict, planning: Planning) -> None:
    """The command template, and the environment where it exists already (astray/models/external.py)."""
    import sys

    from astray.config_schema import model_spec
    from astray.models.external import check, interpreter

    python = interpreter(spec, planning.mace_python) or Path(sys.executable)
    in_unbuilt_mace = model_spec(spec)["environment"] == "mace" and not planning.mace_built
    check(name, spec, python, environment_built_later=not planning.packages_here or in_unbuilt_mace)


def _schnet_size(spec: dict) -> float:
    """SchNet's parameter count, built from its spec (normalisation does not change it)."""
    from astray.models import build_model, count_parameters

    return count_parameters(build_model(spec, {"mean": 0.0, "std": 1.0, "atom_energies": {}}))


def _nequip_size(spec: dict) -> float:
    """NequIP's cost is its tensor products on every edge: layers x features^2 x (l_max + 1)^2."""
    return spec["num_layers"] * spec["num_features"] ** 2 * (spec["l_max"] + 1) ** 2


def _allegro_size(spec: dict) -> float:
    """Allegro's cost is per edge too: its scalar networks and its tensor products on every edge's tensors."""
    tensors = spec["num_tensor_features"] ** 2 * (spec["l_max"] + 1) ** 2
    return spec["num_layers"] * (spec["num_scalar_features"] ** 2 + tensors)


def _mace_size(spec: dict) -> float:
    """MACE's cost per atom: interactions x channels^2 x (L + 1)^2 x the symmetric contraction's body order."""
    return spec["num_interactions"] * spec["num_channels"] ** 2 * (spec["max_L"] + 1) ** 2 * spec["correlation"]


def _nequip_model_file(spec: dict) -> str:
    return "model.nequip.pt2" if spec["compile"] else "model.nequip.zip"


ARCHITECTURES = {
    architecture.name: architecture
    for architecture in (
        Architecture("schnet", lambda spec: "model.pt", _schnet_predictor, size=_schnet_size),
        Architecture("nequip", _nequip_model_file, _nequip_predictor, summary_file="summary.json", size=_nequip_size),
        # Trained, packaged and compiled by NequIP's tools like NequIP (astray/models/nequip.py).
        Architecture("allegro", _nequip_model_file, _nequip_predictor, summary_file="summary.json", size=_allegro_size),
        # mace_run_train in MACE's environment; its calculator's recipe is the file (astray/models/mace.py).
        Architecture("mace", lambda spec: "calculator.json", _worker_predictor, size=_mace_size),
        # Any command-line trainer and calculator the spec names, in its environment (astray/models/external.py);
        # its cost is unknown to astray: counted, not priced.
        Architecture("external", lambda spec: "calculator.json", _worker_predictor, check=_check_external),
        Architecture("finetune", lambda spec: "model.sevennet.pt", _finetuned_predictor, check=_check_finetune),
        Architecture(
            "pretrained",
            lambda spec: "predictions.json",
            _pretrained_predictions,
            trained=False,
            per_run=False,
            check=_check_pretrained,
        ),
    )
}


def architecture(spec: dict) -> Architecture:
    return ARCHITECTURES[spec["architecture"]]


def load_predictor(path, architecture_name: str):
    """The predictor of a model file of `architecture_name`. A predictor has `info` (architecture,
    n_parameters, charge_aware, best_epoch, ...), `energies(atoms_list)` (atomization energies, eV) and
    `forces(atoms_list)` (eV/Å, minus the gradient of the energy); evaluation needs nothing else of it."""
    return ARCHITECTURES[architecture_name].predictor(path)


def model_path(spec: dict, **wildcards) -> str:
    """The file of a run that evaluation reads (a pretrained rung's one file serves every run)."""
    entry = architecture(spec)
    folder = RUN_FOLDER if entry.per_run else PRETRAINED_FOLDER
    return str(Path(folder.format(**wildcards)) / entry.model_file(spec))


def summary_path(spec: dict, **wildcards) -> list[str]:
    """What evaluation reads beside the model file: a NequIP run's summary.json, nothing for the others."""
    entry = architecture(spec)
    return [str(Path(RUN_FOLDER.format(**wildcards)) / entry.summary_file)] if entry.summary_file else []
