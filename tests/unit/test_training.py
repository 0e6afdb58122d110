import numpy as np
import pytest
import torch
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

import astray.models.schnet
from astray.config_schema import model_spec
from astray.models import build_model
from astray.models.packing import PackedMolecules
from astray.models.schnet import DenseRadiusGraph, load_model, predict_energies, predict_forces
from astray.models.schnet_training import train

NEUTRAL_SINGLET = {"charge": 0, "multiplicity": 1}  # the electronic state every source tags

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
        (i, j) for i in range(9) for j in range(9) if i != j and batch[i] == batch[j] and (pos[i] - pos[j]).norm() < 2.0
    }
    assert set(map(tuple, edge_index.t().tolist())) == expected
    for (i, j), weight in zip(edge_index.t().tolist(), edge_weight):
        assert weight == pytest.approx((pos[i] - pos[j]).norm().item())


def morse_dimers(distances):
    """H2-like dimers labeled with a Morse curve: a smooth target a small SchNet can learn."""
    dimers = []
    for r in distances:
        atoms = Atoms("H2", positions=[(0, 0, 0), (0, 0, r)])
        atoms.info.update(geometry_id=f"H2@{r:.3f}", origin="equilibrium", charge=0, multiplicity=1)
        atoms.calc = SinglePointCalculator(atoms, energy=4.7 * ((1 - np.exp(-1.9 * (r - 0.74))) ** 2 - 1))
        dimers.append(atoms)
    return dimers


def test_training_learns_and_checkpoint_rebuilds_the_same_model(tmp_path):
    train_set = morse_dimers(np.linspace(0.5, 2.5, 40))
    validation = morse_dimers(np.linspace(0.55, 2.45, 7))
    history = train(train_set, validation, ATOM_ENERGIES, SPEC, TRAINING, seed=0, output=tmp_path / "model.pt")
    assert history[-1]["val_mae_eV"] < 0.5 * history[0]["val_mae_eV"]

    model, meta = load_model(tmp_path / "model.pt")
    # The spec as trained, with the schema's defaults it was completed with.
    assert meta["spec"] == model_spec(SPEC) and meta["species"] == ["H"] and meta["charge_aware"] is False
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
    history = train(
        data, data[:4], ATOM_ENERGIES, SPEC, settings, seed=0, output=tmp_path / "m.pt", log=messages.append
    )
    assert messages[0].startswith("resuming from epoch 5")
    assert [h["epoch"] for h in history] == list(range(1, 13))
    assert (tmp_path / "m.pt").exists() and not (tmp_path / "resume.pt").exists()
    # Resumed, not merely restarted: every epoch's validation error is the uninterrupted run's, to the bit.
    whole = train(data, data[:4], ATOM_ENERGIES, SPEC, settings, seed=0, output=tmp_path / "whole" / "m.pt")
    assert [h["val_mae_eV"] for h in history] == [h["val_mae_eV"] for h in whole]


def test_pairwise_forward_is_torch_geometrics_schnet(tmp_path):
    """The training path (precomputed pairs, one filter per pair) computes the same energies and forces as
    torch-geometric's own forward on the dense radius graph."""
    molecules = [
        *morse_dimers([0.7, 1.1]),
        Atoms("H2O", positions=[(0, 0, 0), (0.76, 0.59, 0), (-0.76, 0.59, 0)], info=NEUTRAL_SINGLET),
    ]
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
    (tmp_path / "args.pkl").write_bytes(
        pickle.dumps((data, data[:4], ATOM_ENERGIES, SPEC, settings, 0, tmp_path / "m.pt"))
    )
    script = (
        "import pickle, sys; from astray.models.schnet_training import train; "
        "train(*pickle.load(open(sys.argv[1], 'rb')), log=lambda m: None)"
    )
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


def emt_molecules(count: int, seed: int = 0):
    """Rattled organic molecules of 6-9 atoms (30-ish pairs each within 5 Å) labeled by ASE's EMT: a cheap
    smooth energy with enough pairs per batch for the filter grid to pay."""
    from ase.build import molecule
    from ase.calculators.emt import EMT

    rng = np.random.default_rng(seed)
    names = ["CH3OH", "C2H4", "CH3CHO", "CH3CH2OH", "H3CNH2", "HCOOCH3"]
    molecules = []
    for index in range(count):
        atoms = molecule(names[index % len(names)])
        atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
        atoms.info.update(geometry_id=f"m{index}", origin="rattled", **NEUTRAL_SINGLET)
        atoms.calc = EMT()
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy())
        molecules.append(atoms)
    return molecules


PAPER_LIKE = {"architecture": "schnet", "hidden_channels": 32, "num_filters": 32, "num_interactions": 3,
              "num_gaussians": 50, "cutoff": 5.0}  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tabulated_filters_are_the_direct_filters_to_float32_rounding(seed, monkeypatch):
    """Filters interpolated from a grid a tenth of the Gaussians' spacing apart err, against float64
    arithmetic, as little as filters computed at every pair in float32 do (up to the factor by which two
    roundings differ), for weights grown far from their initial values too. A coarser grid (one point per
    Gaussian) errs visibly more, so the test can tell."""
    molecules = emt_molecules(24, seed)
    torch.manual_seed(seed)
    model = build_model(PAPER_LIKE, {"mean": -1.0, "std": 2.0}).eval()
    with torch.no_grad():  # weights grown as training grows them, and sharper filters with them
        for parameter in model.parameters():
            parameter.mul_(2.0)
    batch = PackedMolecules(molecules, [0.0] * len(molecules), cutoff=5.0).batch(torch.arange(len(molecules)))
    energies = lambda **options: model(batch.z, batch.pos, batch.batch, batch.pairs, **options).double()  # noqa: E731
    with torch.no_grad():
        exact = model.double()(batch.z, batch.pos.double(), batch.batch, batch.pairs)
        model.float()
        rounding = (energies() - exact).abs().max()
        tabulated = (energies(tabulate_filters=True) - exact).abs().max()
        monkeypatch.setattr(astray.models.schnet, "FILTER_GRID_POINTS_PER_GAUSSIAN", 1)
        coarse = (energies(tabulate_filters=True) - exact).abs().max()
    # Two independent roundings differ by a factor of up to ~2.5 here; four-point interpolation errs 20x.
    assert tabulated < 4 * rounding
    assert coarse > 100 * rounding


def test_training_with_tabulated_filters_matches_direct_training(tmp_path, monkeypatch):
    """Energy-only training with the filter grid reaches the validation error of direct training, and its
    checkpoint records the grid and the largest energy difference it made on the validation set."""
    molecules = emt_molecules(40)
    # One batch of 32 molecules per epoch: ~720 pairs, more than the grid's ~500 points, so it tabulates.
    settings = {**TRAINING, "max_epochs": 15, "patience": 15, "batch_size": 32}
    tabulated_passes = []
    tabulate = astray.models.schnet.GraphSchNet._tabulated_filters
    monkeypatch.setattr(astray.models.schnet.GraphSchNet, "_tabulated_filters",
                        lambda model, distance: tabulated_passes.append(1) or tabulate(model, distance))  # fmt: skip
    checkpoints = {}
    for tabulate_filters in (True, False):
        output = tmp_path / f"tabulate_{tabulate_filters}.pt"
        options = {**settings, "tabulate_filters": tabulate_filters}
        train(molecules[:32], molecules[32:], {"H": 0.0, "C": 0.0, "N": 0.0, "O": 0.0}, PAPER_LIKE, options,
              seed=0, output=output, log=lambda *_: None)  # fmt: skip
        checkpoints[tabulate_filters] = torch.load(output, weights_only=False)
        # 15 training steps and 15 validation passes, one to measure the difference, one to count FLOPs.
        assert len(tabulated_passes) == 32
    record = checkpoints[True]["filter_tabulation"]
    assert record["grid_spacing_A"] == pytest.approx(5.0 / 49 / 10)
    assert 0 <= record["max_deviation_on_validation_eV"] < 1e-4
    assert checkpoints[False]["filter_tabulation"] is None
    assert checkpoints[True]["best_val_mae_eV"] == pytest.approx(checkpoints[False]["best_val_mae_eV"], rel=1e-3)


def test_schnet_is_built_in_float32_whatever_default_another_library_left():
    """Loading a NequIP model sets torch's default dtype to float64 for the whole process (this test suite
    does that before the SchNet tests, and so may a user's notebook); a SchNet built afterwards still matches
    its float32 data, and tabulates, since a sparse product, unlike the direct filters, does not promote
    float32 to float64."""
    molecules = emt_molecules(24)
    batch = PackedMolecules(molecules, [0.0] * len(molecules), cutoff=5.0).batch(torch.arange(len(molecules)))
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        model = build_model(PAPER_LIKE, {"mean": -1.0, "std": 2.0})
        assert torch.get_default_dtype() == torch.float64, "the caller's default is left as it was"
    finally:
        torch.set_default_dtype(previous)
    assert {parameter.dtype for parameter in model.parameters()} == {torch.float32}
    with torch.no_grad():
        energies = model(batch.z, batch.pos, batch.batch, batch.pairs, tabulate_filters=True)
    assert energies.dtype == torch.float32 and torch.isfinite(energies).all()


def test_an_epoch_counts_twice_the_flops_on_twice_the_molecules(tmp_path):
    """The training cost in the checkpoint is counted, not estimated: the same molecules twice over cost
    exactly twice the FLOPs per epoch, and the wall time is the epochs' own."""
    dimers = morse_dimers(np.linspace(0.5, 2.5, 16))
    settings = {**TRAINING, "max_epochs": 3, "patience": 3, "batch_size": 16, "tabulate_filters": False}
    records = {}
    for copies in (1, 2):
        output = tmp_path / f"copies{copies}.pt"
        train(dimers * copies, dimers[:4], ATOM_ENERGIES, SPEC, settings, seed=0, output=output, log=lambda *_: None)
        records[copies] = torch.load(output, weights_only=False)
    assert records[1]["flops_per_epoch"] > 0
    assert records[2]["flops_per_epoch"] == 2 * records[1]["flops_per_epoch"]
    assert records[1]["epochs"] == 3 and 0 < records[1]["training_seconds"] < 60


def test_the_flop_count_is_torchs_own_and_works_under_force_training():
    """MatmulFlops counts what torch's FlopCounterMode counts, and also where the loss takes
    torch.autograd.grad of the energy (force training), which FlopCounterMode's module hooks refuse."""
    from torch.utils.flop_counter import FlopCounterMode

    from astray.models.schnet_training import MatmulFlops

    network = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    x = torch.randn(32, 8)
    with FlopCounterMode(display=False) as reference, torch.no_grad():
        network(x)
    with MatmulFlops() as ours, torch.no_grad():
        network(x)
    assert ours.total == reference.get_total_flops() == 2 * 32 * (8 * 16 + 16 * 1)
    positions = x.clone().requires_grad_(True)
    with MatmulFlops() as forces:
        energy = network(positions).sum()
        (gradient,) = torch.autograd.grad(energy, positions, create_graph=True)
        (energy + gradient.pow(2).sum()).backward()
    assert forces.total > 3 * ours.total  # forward, the force pass and its backward through both


def test_energy_and_force_training_runs_and_its_forces_obey_newtons_third_law(tmp_path):
    """A SchNet trained on energies and forces (force_weight > 0) of Morse dimers: the run completes with its
    FLOPs counted (more per epoch than energy alone), and each dimer's two predicted forces cancel."""
    dimers = morse_dimers(np.linspace(0.6, 2.0, 12))
    for atoms in dimers:
        r = atoms.get_distance(0, 1)
        slope = 4.7 * 2 * (1 - np.exp(-1.9 * (r - 0.74))) * 1.9 * np.exp(-1.9 * (r - 0.74))  # dE/dr
        forces = np.array([[0, 0, slope], [0, 0, -slope]])
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy(), forces=forces)
    records = {}
    for weight in (0.0, 1.0):
        settings = {**TRAINING, "max_epochs": 4, "force_weight": weight, "tabulate_filters": False}
        output = tmp_path / f"weight{weight}.pt"
        train(dimers, dimers[:4], ATOM_ENERGIES, SPEC, settings, seed=0, output=output, log=lambda *_: None)
        records[weight] = torch.load(output, weights_only=False)
    assert records[1.0]["force_weight"] == 1.0
    assert records[1.0]["flops_per_epoch"] > records[0.0]["flops_per_epoch"] > 0
    model, _ = load_model(tmp_path / "weight1.0.pt")
    predicted = np.array(predict_forces(model, dimers[:3]))
    assert np.abs(predicted.sum(axis=1)).max() < 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_auto_trains_on_cuda_where_a_gpu_is_present_and_the_checkpoint_loads_on_the_cpu(tmp_path):
    """training.device auto picks CUDA where there is one; the checkpoint it writes is read back on the CPU,
    where evaluation runs, and scores the validation set as the GPU run did when it kept that model."""
    from astray.models.loop import select_device

    assert select_device("auto").type == "cuda"
    dimers = morse_dimers(np.linspace(0.6, 2.0, 12))
    settings = {**TRAINING, "max_epochs": 5, "device": "auto", "tabulate_filters": False}
    train(dimers, dimers[:4], ATOM_ENERGIES, SPEC, settings, seed=0, output=tmp_path / "gpu.pt", log=lambda *_: None)
    model, info = load_model(tmp_path / "gpu.pt")
    truth = np.array([atoms.get_potential_energy() for atoms in dimers[:4]])
    assert np.abs(predict_energies(model, dimers[:4]) - truth).mean() == pytest.approx(
        info["best_val_mae_eV"], abs=1e-4
    )


@pytest.mark.parametrize(
    "hidden, filters, interactions, gaussians", [(64, 64, 3, 50), (32, 32, 2, 50), (128, 96, 6, 25)]
)
def test_a_schnets_parameter_count_is_its_architectures(hidden, filters, interactions, gaussians):
    """Counted from SchNet's layers (Schütt et al.; torch-geometric's layout), not from the code's own sum:
    a 100-row embedding; per interaction a filter network (gaussians -> filters -> filters, with biases), the
    continuous-filter convolution in (no bias) and out, and an atom-wise layer; a two-layer readout."""
    spec = {"architecture": "schnet", "hidden_channels": hidden, "num_filters": filters,
            "num_interactions": interactions, "num_gaussians": gaussians, "cutoff": 5.0}  # fmt: skip
    per_interaction = (gaussians * filters + filters) + (filters * filters + filters) + hidden * filters
    per_interaction += (filters * hidden + hidden) + (hidden * hidden + hidden)
    readout = (hidden * (hidden // 2) + hidden // 2) + (hidden // 2 + 1)
    expected = 100 * hidden + interactions * per_interaction + readout
    model = build_model(model_spec(spec), {"mean": 0.0, "std": 1.0})
    assert sum(p.numel() for p in model.parameters()) == expected


def test_flushing_subnormals_changes_no_energy_or_gradient_of_a_training_step():
    """train() flushes float32 subnormals to zero (astray.models.schnet_training.flush_subnormals): the Gaussian
    features of the filter grid do hold subnormals (so the flush has work to do), and a tabulated training step's
    energies and every parameter gradient are bit for bit those computed with subnormals kept."""
    from astray.models.schnet_training import flush_subnormals

    molecules = emt_molecules(24)
    torch.manual_seed(0)
    model = build_model(PAPER_LIKE, {"mean": -1.0, "std": 2.0})
    batch = PackedMolecules(molecules, [0.0] * len(molecules), cutoff=5.0).batch(torch.arange(len(molecules)))
    grid = torch.arange(model.filter_grid_size, dtype=torch.float32) * model.filter_grid_spacing

    def step():
        model.zero_grad()
        energies = model(batch.z, batch.pos, batch.batch, batch.pairs, tabulate_filters=True)
        energies.square().sum().backward()
        features = model.distance_expansion(grid)
        subnormal = int(((features > 0) & (features < torch.finfo(torch.float32).tiny)).sum())
        return energies.detach().clone(), [p.grad.clone() for p in model.parameters()], subnormal

    try:
        torch.set_flush_denormal(False)
        kept, kept_gradients, subnormals = step()
        flush_subnormals()
        flushed, flushed_gradients, none_left = step()
    finally:
        flush_subnormals()  # as train() leaves the process
    assert subnormals > 100 and none_left == 0
    assert torch.equal(kept, flushed)
    assert all(torch.equal(a, b) for a, b in zip(kept_gradients, flushed_gradients))
