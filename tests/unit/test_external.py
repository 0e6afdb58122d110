"""An MLIP astray has no code for, as a rung: MACE's own command line written as an external spec's template,
trained for real in MACE's environment and evaluated through the calculator it names; its output kept for
the trainer's own restart, and cleared when the command changes; specs that cannot run refused by name."""

import json
import sys

import numpy as np
import pytest
from ase import Atoms
from test_mace import energy_only, python  # noqa: F401  (the MACE environment fixture)
from test_nequip import ATOM_ENERGIES, molecules

from astray.io import write_json
from astray.models import external
from astray.models.registry import load_predictor

# mace_run_train as a user would write it, knowing nothing of astray's MACE module: MACE reads the sets'
# keys, takes the free atoms' energies as its E0s, and restarts from its own checkpoints.
MACE_COMMAND = (
    "{bin}/mace_run_train --name=model --seed={seed} --train_file={train} --valid_file={validation} "
    "--energy_key={energy_key} --forces_key={forces_key} --atomic_numbers={atomic_numbers} "
    "--E0s={isolated_atoms} --model=MACE --num_channels=8 --max_L=0 --r_max=4.0 --correlation=2 "
    "--loss=weighted --forces_weight={force_weight} --batch_size=2 --max_num_epochs={max_epochs} "
    "--lr={learning_rate} --device={device} --default_dtype=float64 --restart_latest --save_cpu"
)
SPEC = {
    "architecture": "external",
    "environment": "mace",
    "train_command": MACE_COMMAND,
    "model_file": "model.model",
    "calculator": "mace.calculators:MACECalculator",
    "calculator_kwargs": {"model_paths": "{model}", "device": "cpu", "default_dtype": "float64"},
}
TRAINING = {"max_epochs": 3, "patience": 50, "batch_size": 4, "learning_rate": 0.01, "device": "cpu"}


def test_template_fills_every_placeholder_into_one_word_each():
    values = external.template_values(SPEC, TRAINING, "/env/bin/python", 4, ["H", "O"], ("t x.extxyz", "v.extxyz"),
                                      "/run/output", 3, False, 2, "cpu")  # fmt: skip
    words = external.command(SPEC, values)
    flags = dict(w.removeprefix("--").split("=", 1) for w in words[1:] if "=" in w)
    assert words[0] == "/env/bin/mace_run_train" and flags["train_file"] == "t x.extxyz"  # a space stays in its word
    assert flags["E0s"] == "{1: 0.0, 8: 0.0}" and flags["atomic_numbers"] == "[1, 8]"
    assert flags["forces_weight"] == "0.0" and flags["seed"] == "4" and flags["max_num_epochs"] == "3"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"train_command": "trainer --data {training_set}"},
            "models.m.train_command: unknown placeholder {training_set}",
        ),
        ({"train_command": "trainer --quote 'open"}, "models.m.train_command: No closing quotation"),
        ({"model_file": "../elsewhere.pt"}, "models.m.model_file: ../elsewhere.pt must be a path inside {output}"),
        ({"train_command": "no-such-trainer {train}"}, "models.m.train_command: no-such-trainer is not a program"),
        ({"calculator": "no_such_mlip.calculators:Calculator"}, "cannot import 'no_such_mlip.calculators'"),
        ({"environment": "/nowhere/bin/python"}, "models.m.environment: no interpreter at /nowhere/bin/python"),
    ],
)
def test_a_spec_that_cannot_run_is_refused_by_its_key(change, message):
    spec = {**SPEC, "environment": "astray", "train_command": "{python} -m trainer {train}",
            "calculator": "ase.calculators.emt:EMT", **change}  # fmt: skip
    interpreter = external.interpreter(spec, "unused") or sys.executable
    with pytest.raises(external.ExternalModelError, match=message.replace("{", r"\{").replace("(", r"\(")):
        external.check("m", spec, interpreter, environment_built_later=False)


def test_mace_by_its_command_line_trains_and_predicts_with_free_atoms_at_zero(python, tmp_path):  # noqa: F811
    data = energy_only(molecules(4))
    run = tmp_path / "run"
    fresh = []
    model = external.train(data, data[:3], ATOM_ENERGIES, SPEC, TRAINING, 0, run / "external", python, log=fresh.append)
    assert any("Cannot find checkpoint with tag 'model_run-0'" in m for m in fresh)  # MACE's word for a fresh start
    assert model == run / "external" / "output" / "model.model" and model.exists()
    write_json(run / "calculator.json", external.recipe(SPEC, python, len(data), 1.0))
    predictor = load_predictor(run / "calculator.json", "external")
    assert predictor.info["model_family"] == "external:mace" and predictor.info["n_parameters"] > 1000
    apart = Atoms("H2", positions=[(0, 0, 0), (0, 0, 8.0)])
    energies = predictor.energies([Atoms("H"), Atoms("O"), apart, data[2]])
    # E0s from {isolated_atoms}: a free atom, or two beyond the cutoff, is zero on astray's scale.
    assert np.allclose(energies[:3], 0.0, atol=1e-9) and abs(energies[3]) > 1e-3
    # Run again unchanged (as a retried job is): the output is kept and mace_run_train continues from its
    # own last checkpoint, appending to its results instead of starting them over.
    output, again = run / "external" / "output", []
    results = (output / "results/model_run-0_train.txt").read_text()
    external.train(data, data[:3], ATOM_ENERGIES, SPEC, TRAINING, 0, run / "external", python, log=again.append)
    assert not any("Cannot find checkpoint" in m for m in again) and any("Loading checkpoint" in m for m in again)
    assert (output / "results/model_run-0_train.txt").read_text().startswith(results)
    # Another seed is another run: what the first left is cleared, not resumed (MACE names its files by seed).
    external.train(data, data[:3], ATOM_ENERGIES, SPEC, TRAINING, 1, run / "external", python, log=lambda m: None)
    assert "--seed=1" in json.loads((run / "external" / "command.json").read_text())
    left = [path.name for path in output.rglob("*")]
    assert "model_run-1_train.txt" in left and not [name for name in left if "run-0" in name]


def test_a_command_that_leaves_no_model_names_what_it_left(tmp_path):
    spec = {**SPEC, "environment": "astray", "train_command": "{python} -c \"open('notes.txt', 'w')\""}
    data = energy_only(molecules(2))
    with pytest.raises(external.ExternalModelError, match=r"left no model.model .* it left: notes.txt"):
        external.train(data, data[:2], ATOM_ENERGIES, spec, TRAINING, 0, tmp_path / "external", sys.executable)
