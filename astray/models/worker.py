"""An ASE calculator that lives in another Python environment, asked through a worker process.

MACE pins an e3nn that astray's own environment cannot hold, so its calculator runs in its environment's
interpreter: `python worker.py RECIPE` builds the calculator a recipe names (calculator.json beside the model,
written by the training job) and answers requests on stdin, one JSON line each, with one JSON line on stdout.
This file is run there by its path, so its worker side imports only the standard library, numpy and ASE.

A recipe: {"python": interpreter, "calculator": "module:factory", "kwargs": {...}, "paths": [kwargs that are
paths relative to the recipe's folder], "info": what the predictor reports of the model}.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np


class WorkerPredictor:
    """A model behind astray's predictor interface (energies in eV, forces in eV/Å) whose calculator runs in
    the recipe's environment, one worker process for the predictor's life: the model is loaded once, and
    each call (all of a probe curve's geometries, or every molecule of an MD step) is one round trip."""

    def __init__(self, recipe_path):
        recipe_path = Path(recipe_path).resolve()
        recipe = json.loads(recipe_path.read_text())
        self.info = recipe["info"]
        self._process = subprocess.Popen([recipe["python"], str(Path(__file__).resolve()), str(recipe_path)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        if self.info.get("n_parameters") is None:
            counted = self._ask({"describe": True})["n_parameters"]
            self.info["n_parameters"] = math.nan if counted is None else counted

    def _ask(self, request: dict) -> dict:
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the calculator worker exited (code {self._process.wait()}); its error is above")
        return json.loads(answer)

    def energies_and_forces(self, atoms_list) -> tuple[np.ndarray, list[np.ndarray]]:
        molecules = [{"numbers": a.numbers.tolist(), "positions": a.positions.tolist()} for a in atoms_list]
        answer = self._ask({"molecules": molecules})
        energies = np.array([math.nan if e is None else e for e in answer["energies"]])
        forces = [
            np.full((len(a), 3), math.nan) if f is None else np.array(f) for a, f in zip(atoms_list, answer["forces"])
        ]
        return energies, forces

    def energies(self, atoms_list) -> np.ndarray:
        return self.energies_and_forces(atoms_list)[0]

    def forces(self, atoms_list) -> list[np.ndarray]:
        return self.energies_and_forces(atoms_list)[1]

    def __del__(self):
        process = getattr(self, "_process", None)
        if process and process.poll() is None:
            process.stdin.close()
            process.wait(timeout=60)


def calculator_of(recipe_path: Path):
    import importlib

    recipe = json.loads(recipe_path.read_text())
    module, _, name = recipe["calculator"].partition(":")
    factory = importlib.import_module(module)
    for part in name.split("."):
        factory = getattr(factory, part)
    kwargs = dict(recipe["kwargs"])
    for key in recipe.get("paths", []):
        kwargs[key] = str(recipe_path.parent / kwargs[key])
    return factory(**kwargs)


def parameter_count(calculator) -> int | None:
    """Trainable parameters of the calculator's torch models (MACE keeps them in `models`), None if it has none."""
    models = getattr(calculator, "models", None) or [getattr(calculator, "model", None)]
    counted = [sum(p.numel() for p in m.parameters()) for m in models if hasattr(m, "parameters")]
    return sum(counted) if counted else None


def serve(recipe_path: Path) -> None:
    from ase import Atoms

    answers = sys.stdout
    sys.stdout = sys.stderr  # what the calculator prints must not reach the answers
    calculator = calculator_of(recipe_path)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("describe"):
            answer = {"n_parameters": parameter_count(calculator)}
        else:
            answer = {"energies": [], "forces": []}
            for molecule in request["molecules"]:
                atoms = Atoms(numbers=molecule["numbers"], positions=molecule["positions"])
                atoms.calc = calculator
                try:
                    energy, forces = float(atoms.get_potential_energy()), atoms.get_forces()
                except Exception as error:  # one geometry the calculator cannot take is a NaN, not a dead worker
                    print(f"worker: {atoms.get_chemical_formula()}: {error}", file=sys.stderr)
                    energy, forces = None, None
                finite = energy is not None and math.isfinite(energy) and np.isfinite(forces).all()
                answer["energies"].append(energy if finite else None)
                answer["forces"].append(forces.tolist() if finite else None)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    # Run by its path, this file's folder leads sys.path, where astray's own mace.py would shadow MACE's package.
    sys.path.remove(str(Path(__file__).resolve().parent))
    serve(Path(sys.argv[1]))
