import numpy as np
import pytest
import torch
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from astray.models import build_model
from astray.models.schnet import DenseRadiusGraph
from astray.packing import PackedMolecules
from astray.training import load_model, predict_energies, train

SPEC = {
    "architecture": "schnet",
    "hidden_channels": 16,
    "num_filters": 16,
    "num_interactions": 2,
    "num_gaussians": 16,
    "cutoff": 4.0,
}
TRAINING = {"max_epochs": 60, "patience": 60, "batch_size": 8, "learning_rate": 0.005, "device": "cpu"}
ATOM_ENERGIES = {"H": 0.0}


def test_dense_radius_graph_matches_brute_force():
    generator = torch.Generator().manual_seed(0)
    pos = torch.rand(9, 3, generator=generator) * 4
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, 2])
    edge_index, edge_weight = DenseRadiusGraph(cutoff=2.0)(pos, batch)
    expected = {
        (i, j)
        for i in range(9)
        for j in range(9)
        if i != j and batch[i] == batch[j] and (pos[i] - pos[j]).norm() < 2.0
    }
    assert set(map(tuple, edge_index.t().tolist())) == expected
    for (i, j), weight in zip(edge_index.t().tolist(), edge_weight):
        assert weight == pytest.approx((pos[i] - pos[j]).norm().item())


def morse_dimers(distances):
    """H2-like dimers labeled with a Morse curve: a smooth target a small SchNet can learn."""
    dimers = []
    for r in distances:
        atoms = Atoms("H2", positions=[(0, 0, 0), (0, 0, r)])
        atoms.info.update(geometry_id=f"H2@{r:.3f}", origin="equilibrium")
        atoms.calc = SinglePointCalculator(atoms, energy=4.7 * ((1 - np.exp(-1.9 * (r - 0.74))) ** 2 - 1))
        dimers.append(atoms)
    return dimers


def test_training_learns_and_checkpoint_rebuilds_the_same_model(tmp_path):
    train_set = morse_dimers(np.linspace(0.5, 2.5, 40))
    validation = morse_dimers(np.linspace(0.55, 2.45, 7))
    history = train(train_set, validation, ATOM_ENERGIES, SPEC, TRAINING, seed=0, output=tmp_path / "model.pt")
    assert history[-1]["val_mae_eV"] < 0.5 * history[0]["val_mae_eV"]

    model, meta = load_model(tmp_path / "model.pt")
    assert meta["spec"] == SPEC and meta["species"] == ["H"] and meta["charge_aware"] is False
    predictions = predict_energies(model, validation)
    truth = np.array([a.get_potential_energy() for a in validation])
    assert np.abs(predictions - truth).mean() == pytest.approx(meta["best_val_mae_eV"], rel=1e-4)
    assert not (tmp_path / "resume.pt").exists()


def test_same_seed_gives_identical_weights_on_cpu(tmp_path):
    data = morse_dimers(np.linspace(0.5, 2.5, 16))
    short = {**TRAINING, "max_epochs": 5}
    for name in ("a", "b"):
        train(data, data[:4], ATOM_ENERGIES, SPEC, short, seed=7, output=tmp_path / f"{name}.pt", log=lambda *_: None)
    first, _ = load_model(tmp_path / "a.pt")
    second, _ = load_model(tmp_path / "b.pt")
    for p, q in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(p, q)


class Preempted(Exception):
    """Stands in for a SLURM time limit: the job dies between two epochs."""


def test_killed_training_resumes_from_its_last_checkpoint(tmp_path):
    data = morse_dimers(np.linspace(0.5, 2.5, 16))
    settings = {**TRAINING, "max_epochs": 12, "patience": 100, "checkpoint_every": 5}

    def die_at_epoch_10(message):
        if message.startswith("epoch 10:"):
            raise Preempted

    with pytest.raises(Preempted):
        train(data, data[:4], ATOM_ENERGIES, SPEC, settings, seed=0, output=tmp_path / "m.pt", log=die_at_epoch_10)
    assert (tmp_path / "resume.pt").exists() and not (tmp_path / "m.pt").exists()

    messages = []
    history = train(data, data[:4], ATOM_ENERGIES, SPEC, settings, seed=0, output=tmp_path / "m.pt", log=messages.append)
    assert messages[0].startswith("resuming from epoch 5")
    assert [h["epoch"] for h in history] == list(range(1, 13))
    assert (tmp_path / "m.pt").exists() and not (tmp_path / "resume.pt").exists()


def test_pairwise_forward_is_torch_geometrics_schnet(tmp_path):
    """The training path (precomputed pairs, one filter per pair) computes the same energies and forces as
    torch-geometric's own forward on the dense radius graph."""
    molecules = morse_dimers([0.7, 1.1]) + [Atoms("H2O", positions=[(0, 0, 0), (0.76, 0.59, 0), (-0.76, 0.59, 0)])]
    molecules[-1].calc = SinglePointCalculator(molecules[-1], energy=-10.0)
    model = build_model(SPEC, {"mean": -1.0, "std": 2.0})
    batch = PackedMolecules(molecules, [0.0] * 3, cutoff=SPEC["cutoff"]).batch(torch.tensor([2, 0, 1]))
    pos = batch.pos.clone().requires_grad_(True)
    pairwise = model(batch.z, pos, batch.batch, batch.pairs)
    (pairwise_forces,) = torch.autograd.grad(pairwise.sum(), pos)
    pos = batch.pos.clone().requires_grad_(True)
    reference = model(batch.z, pos, batch.batch)
    (reference_forces,) = torch.autograd.grad(reference.sum(), pos)
    assert torch.allclose(pairwise, reference, atol=1e-5)
    assert torch.allclose(pairwise_forces, reference_forces, atol=1e-5)
    assert batch.pairs.shape[1] == 1 + 1 + 3  # one pair per dimer, three in water (all within 4 Å)


def test_training_killed_with_sigkill_resumes(tmp_path):
    """A real kill -9 between checkpoints (no chance to clean up); the restart continues from resume.pt."""
    import pickle
    import signal
    import subprocess
    import sys
    import time

    data = morse_dimers(np.linspace(0.5, 2.5, 16))
    settings = {**TRAINING, "max_epochs": 800, "patience": 10000, "checkpoint_every": 3}
    (tmp_path / "args.pkl").write_bytes(pickle.dumps((data, data[:4], ATOM_ENERGIES, SPEC, settings, 0, tmp_path / "m.pt")))
    script = "import pickle, sys; from astray.training import train; train(*pickle.load(open(sys.argv[1], 'rb')), log=lambda m: None)"
    job = subprocess.Popen([sys.executable, "-c", script, tmp_path / "args.pkl"])
    deadline = time.time() + 120
    while not (tmp_path / "resume.pt").exists():
        assert job.poll() is None and time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.2)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not (tmp_path / "m.pt").exists()

    messages = []
    history = train(data, data[:4], ATOM_ENERGIES, SPEC, settings, 0, tmp_path / "m.pt", log=messages.append)
    assert messages[0].startswith("resuming from epoch")
    assert [h["epoch"] for h in history] == list(range(1, 801))
    assert (tmp_path / "m.pt").exists() and not (tmp_path / "resume.pt").exists()
