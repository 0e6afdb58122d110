"""Fine-tuning SevenNet-0 on HF/STO-3G atomization energies: it learns them, reads them back on the
reference it was trained on, and a run killed with SIGKILL resumes, through the epoch loop SchNet's training
shares (a resumed run ends where an uninterrupted one does)."""

import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from ase.build import molecule
from ase.calculators.singlepoint import SinglePointCalculator

from astray.evaluation.evaluate import holdout_errors
from astray.evaluation.probes import PROBES, probe_geometry
from astray.labels.labeling import Level, label_geometry
from astray.labels.states import ATOM_MULTIPLICITY
from astray.models.finetune import FinetunedPredictor, finetune
from astray.models.pretrained import PretrainedModelError, check_finetunable


class Preempted(Exception):
    """Stands in for a SLURM time limit: the job dies between two epochs."""


LEVEL = Level("hf", "sto-3g")
SPEC = {"architecture": "finetune", "from": "7net-0", "learning_rate": 1e-3}
TRAINING = {"max_epochs": 12, "patience": 100, "batch_size": 2, "learning_rate": 0.005, "device": "cpu"}


@pytest.fixture(scope="module")
def labeled():
    """Eight small molecules with real HF/STO-3G energies (eV), and the free atoms' energies at that level."""
    from ase import Atoms

    molecules = []
    for name in ("H2O", "NH3", "CH4", "HF", "CO", "HCN", "C2H2", "H2CO"):
        atoms = molecule(name)
        atoms.info.update(geometry_id=name, origin="equilibrium", charge=0, multiplicity=1)
        atoms.calc = SinglePointCalculator(atoms, energy=label_geometry(atoms, LEVEL, forces=False)["energy"])
        molecules.append(atoms)
    free_atoms = {s: Atoms(s, info={"charge": 0, "multiplicity": ATOM_MULTIPLICITY[s]}) for s in "HCNOF"}
    atom_energies = {s: label_geometry(atom, LEVEL, forces=False)["energy"] for s, atom in free_atoms.items()}
    return molecules, atom_energies


def test_fine_tuning_fits_the_campaigns_energies_far_better_than_the_pretrained_model(labeled, tmp_path):
    molecules, atom_energies = labeled
    output = tmp_path / "m.sevennet.pt"
    history = finetune(
        molecules[:6], molecules[6:], atom_energies, SPEC, TRAINING, seed=0, output=output, log=lambda m: None
    )
    tuned = FinetunedPredictor(output)
    # Before any step, SevenNet-0 (PBE) misses the HF/STO-3G atomization energies by what its own calculator
    # says (on its own free atoms: ~4 eV); the first epoch starts there, and twelve epochs on six molecules
    # fit them to well under a third of it.
    before = pretrained_rmse(molecules[:6], atom_energies)
    assert before > 1.0
    assert history[0]["train_rmse_eV"] == pytest.approx(before, rel=0.5)
    assert history[-1]["train_rmse_eV"] < before / 3
    # The saved weights are the best on validation, read back on the reference they were trained on.
    best = history[tuned.info["best_epoch"] - 1]["val_mae_eV"]
    assert holdout_errors(tuned, molecules[6:], atom_energies)["test_mae"] == pytest.approx(best, rel=1e-4)
    assert tuned.info["n_parameters"] == 842_440 and tuned.info["model_family"] == "finetuned:7net-0"
    assert tuned.info["epochs"] == 12 and tuned.info["training_seconds"] > 0
    # Read on the pretrained model's free atoms: H2 is still a finite curve, two H atoms far apart near zero.
    h2 = tuned.energies([probe_geometry(PROBES["H2"], r) for r in (0.74, 6.0)])
    assert np.isfinite(h2).all() and abs(h2[1]) < 1.0


def pretrained_rmse(molecules, atom_energies) -> float:
    """RMSE (eV) of SevenNet-0 as it ships, through its ASE calculator and not the fine-tuning code, on the
    molecules' atomization energies, each side relative to its own free atoms."""
    from astray.conventions import atomization_energy
    from astray.models.pretrained import PRETRAINED, CalculatorModel

    model = CalculatorModel("sevennet", PRETRAINED["7net-0"])
    free = model.free_atom_energies(atom_energies)[0]
    errors = [
        model.total_energy(atoms) - sum(free[s] for s in atoms.get_chemical_symbols())
        - atomization_energy(atoms, atom_energies)
        for atoms in molecules
    ]  # fmt: skip
    return float(np.sqrt(np.mean(np.square(errors))))


def test_only_sevennet_single_fidelity_potentials_fine_tune():
    with pytest.raises(PretrainedModelError, match=r"models.ft.from: '7net-mf-0' cannot be fine-tuned"):
        check_finetunable("ft", {**SPEC, "from": "7net-mf-0"})


def test_fine_tuning_on_forces_fits_the_forces_that_energies_alone_leave(tmp_path):
    """With force_weight > 0 the loss holds the HF forces too: the same epochs fit the training molecules'
    forces closer than fine-tuning on their energies alone, and the history records the force error."""
    from ase import Atoms

    molecules = []
    for name in ("H2O", "NH3", "HF", "HCN"):
        atoms = molecule(name)
        atoms.positions += np.random.default_rng(len(atoms)).normal(scale=0.05, size=atoms.positions.shape)
        atoms.info.update(geometry_id=name, origin="rattled", charge=0, multiplicity=1)
        result = label_geometry(atoms, LEVEL, forces=True)
        atoms.calc = SinglePointCalculator(atoms, energy=result["energy"], forces=result["forces"])
        molecules.append(atoms)
    free = {s: Atoms(s, info={"charge": 0, "multiplicity": ATOM_MULTIPLICITY[s]}) for s in "HCNOF"}
    atom_energies = {s: label_geometry(atom, LEVEL, forces=False)["energy"] for s, atom in free.items()}
    force_mae = {}
    for weight in (0.0, 1.0):
        output = tmp_path / f"w{weight}" / "m.sevennet.pt"
        settings = {**TRAINING, "max_epochs": 8, "force_weight": weight}
        history = finetune(molecules, molecules[:2], atom_energies, SPEC, settings, 0, output, log=lambda m: None)
        force_mae[weight] = holdout_errors(FinetunedPredictor(output), molecules, atom_energies)["test_force_mae"]
        assert ("train_force_rmse_eV_per_A" in history[0]) == (weight > 0)
    assert force_mae[1.0] < 0.8 * force_mae[0.0]


def test_fine_tuning_killed_with_sigkill_resumes(labeled, tmp_path):
    molecules, atom_energies = labeled
    settings = {**TRAINING, "max_epochs": 16}
    output = tmp_path / "m.sevennet.pt"
    arguments = (molecules[:6], molecules[6:], atom_energies, SPEC, settings, 0, output)
    (tmp_path / "args.pkl").write_bytes(pickle.dumps(arguments))
    script = ("import pickle, sys; from astray.models.finetune import finetune; "
              "finetune(*pickle.load(open(sys.argv[1], 'rb')), log=lambda m: None)")  # fmt: skip
    job = subprocess.Popen([sys.executable, "-c", script, tmp_path / "args.pkl"])
    deadline = time.time() + 300
    while not (tmp_path / "resume.pt").exists():
        assert job.poll() is None and time.time() < deadline
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not output.exists()

    messages = []
    history = finetune(molecules[:6], molecules[6:], atom_energies, SPEC, settings, seed=0, output=output,
                       log=messages.append)  # fmt: skip
    assert messages[0].startswith("resuming from epoch")
    resumed_at = int(messages[0].split()[3])
    assert resumed_at >= 1 and [h["epoch"] for h in history] == list(range(1, 17))
    assert output.exists() and not (tmp_path / "resume.pt").exists()


def test_a_resumed_fine_tuning_ends_where_an_uninterrupted_one_does(labeled, tmp_path):
    """The loop's one resume scheme: model, optimizer, schedule, RNG and the shuffle all continue."""
    molecules, atom_energies = labeled
    arguments = (molecules[:6], molecules[6:], atom_energies, SPEC, TRAINING)

    def die_at_epoch_10(message):
        if message.startswith("epoch 10:"):
            raise Preempted

    whole = finetune(*arguments, seed=0, output=tmp_path / "whole" / "m.sevennet.pt", log=lambda m: None)
    with pytest.raises(Preempted):
        finetune(*arguments, seed=0, output=tmp_path / "cut" / "m.sevennet.pt", log=die_at_epoch_10)
    messages = []
    resumed = finetune(*arguments, seed=0, output=tmp_path / "cut" / "m.sevennet.pt", log=messages.append)
    # Killed as epoch 10 was logged, before its resume point: from the one every epoch leaves, the 9th.
    assert messages[0] == f"resuming from epoch 9 ({tmp_path / 'cut' / 'resume.pt'})"
    assert [h["val_mae_eV"] for h in resumed] == [h["val_mae_eV"] for h in whole]


def test_sevennet_is_built_in_a_process_a_nequip_model_left_at_float64():
    """nequip's global state sets torch's default dtype to float64 for the rest of the process; SevenNet-0,
    loaded after it (to fine-tune, or as it ships), is still built in its own float32 and predicts."""
    import torch

    from astray.models import default_dtype
    from astray.models.finetune import load_network
    from astray.models.pretrained import PRETRAINED, CalculatorModel

    with default_dtype(torch.float64):
        network = load_network("7net-0")
        model = CalculatorModel("sevennet", PRETRAINED["7net-0"])
        water = molecule("H2O")
        water.info.update(charge=0, multiplicity=1)
        energy = model.total_energy(water)
    assert next(network.parameters()).dtype == torch.float32
    assert -20 < energy < -10  # SevenNet-0's PBE total energy of water, about -14 eV


def calculator_that_sets_float64():
    """A factory that, like some calculators, sets torch's default dtype for its own inference."""
    import torch
    from ase.calculators.lj import LennardJones

    torch.set_default_dtype(torch.float64)
    return LennardJones()


def test_a_default_dtype_the_factory_sets_itself_is_kept():
    import torch

    from astray.models import default_dtype
    from astray.models.pretrained import build_calculator

    with default_dtype(torch.float32):
        build_calculator("lj64", {"factory": "test_finetune:calculator_that_sets_float64", "kwargs": {}})
        assert torch.get_default_dtype() == torch.float64
        build_calculator("lj", {"factory": "ase.calculators.lj:LennardJones", "kwargs": {}})
        assert torch.get_default_dtype() == torch.float64  # nothing set: the caller's default stands
