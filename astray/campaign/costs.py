"""What a campaign will cost before it runs: CPU-hours of labeling, hours of training, disk.

Labeling cost per geometry follows a power law in its number of basis functions, one per method family,
t = seconds_at_100 * (n_basis / 100) ** exponent (a closed shell's restricted SCF with its stability
analysis), times a measured factor for geometries priced on the unrestricted path: open shells, and closed
shells whose restricted solution may be unstable (`astray.labels.states.may_break_spin_symmetry`). Training cost is
seconds per training geometry per epoch, a line in model size through two
measured capacities per architecture. Both are fitted to this project's own timings on the machine that
ran benchmarks/cost_model.py (it writes astray/campaign/cost_calibration.json; rerun it on your cluster's nodes).
They are estimates to decide whether a campaign fits an allocation, not promises: early stopping,
retries and node speed move them.
"""

import json
import math
from collections import Counter
from functools import cache
from pathlib import Path

from ase.formula import Formula

from astray.labels.levels import Level
from astray.labels.states import ATOM_MULTIPLICITY

CALIBRATION = Path(__file__).with_name("cost_calibration.json")


def load_calibration(path=CALIBRATION) -> dict:
    return json.loads(Path(path).read_text())


@cache
def basis_functions_of(element: str, basis: str) -> int:
    """Basis functions one atom of `element` brings (a molecule's count is the sum over its atoms)."""
    from pyscf import gto

    atom = gto.M(atom=[[element, (0.0, 0.0, 0.0)]], basis=basis, spin=ATOM_MULTIPLICITY[element] - 1, verbose=0)
    return atom.nao_nr()


def basis_functions(formula: str, basis: str) -> int:
    return sum(count * basis_functions_of(element, basis) for element, count in Formula(formula).count().items())


def fit_timing_law(n_basis, seconds) -> dict:
    """Least-squares line through log(seconds) against log(n_basis / 100): the labeling-time law
    t = seconds_at_100 * (n_basis / 100) ** exponent. A timing law, fitted in log space without a floor;
    the error laws of a campaign are `astray.evaluation.scaling.fit_power_law`."""
    xs = [math.log(n / 100) for n in n_basis]
    ys = [math.log(t) for t in seconds]
    x_mean, y_mean = sum(xs) / len(xs), sum(ys) / len(ys)
    exponent = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys)) / sum((x - x_mean) ** 2 for x in xs)
    return {
        "seconds_at_100": math.exp(y_mean - exponent * x_mean),
        "exponent": exponent,
        "n_basis_range": [min(n_basis), max(n_basis)],
    }


def label_seconds(formulas, unrestricted, level: Level, calibration: dict) -> float | None:
    """Single-core seconds to label geometries of these formulas at `level`; None where no law is known
    (FCI grows factorially, so no power law describes it). Geometries with an open shell or a possibly
    unstable restricted solution (`unrestricted`) are priced on the unrestricted path, with its
    broken-symmetry starts: a measured factor."""
    law = calibration["labels"].get(level.family)
    if law is None:
        return None
    total = 0.0
    for (formula, open_shell), count in Counter(zip(formulas, unrestricted)).items():
        seconds = law["seconds_at_100"] * (basis_functions(formula, level.basis) / 100) ** law["exponent"]
        total += count * seconds * (law["unrestricted_factor"] if open_shell else 1.0)
    return total


def model_size(spec: dict) -> float:
    """A model's size for the cost model, as its architecture defines it (astray.models.registry: SchNet's
    parameter count; NequIP's tensor-product work per edge)."""
    return _model_size(json.dumps(spec, sort_keys=True))


@cache
def _model_size(spec_json: str) -> float:
    # Cached by the spec's text: a campaign has hundreds of runs of a few specs, and building one is slow.
    from astray.models.registry import architecture

    spec = json.loads(spec_json)
    return architecture(spec).size(spec)


def along(points, size: float) -> float:
    """The line through two measured (size, value) points at `size`, never below the smaller value."""
    (x0, y0), (x1, y1) = sorted(points)
    value = y0 if x1 == x0 else y0 + (y1 - y0) * (size - x0) / (x1 - x0)
    return max(value, min(y0, y1))


def training_seconds(spec: dict, geometries_per_epoch: int, epochs: int, calibration: dict) -> float:
    """GPU seconds of one training run of at most `epochs` epochs (early stopping often ends sooner)."""
    reference = calibration["training"][spec["architecture"]]
    per_geometry_epoch = along(reference["points"], model_size(spec))
    return per_geometry_epoch * geometries_per_epoch * epochs + reference["seconds_per_run"]


def disk_bytes(atoms_labeled: int, atoms_in_datasets: int, specs, calibration: dict) -> int:
    """Bytes the results take: labels (chunk, progress and merged files), datasets, each training run's files."""
    disk = calibration["disk"]
    labels = atoms_labeled * disk["label_bytes_per_atom"]
    datasets = atoms_in_datasets * disk["dataset_bytes_per_atom"]
    models = sum(along(disk["model_bytes"][spec["architecture"]], model_size(spec)) for spec in specs)
    return int(labels + datasets + models)
