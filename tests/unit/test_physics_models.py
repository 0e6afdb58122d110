"""Charge-aware and Coulomb-anchored SchNet: the physics they have by construction, for any weights."""

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from astray.evaluation.probes import PROBES, coulomb_curve, probe_geometry
from astray.models import build_model
from astray.models.schnet import load_model, predict_energies, predict_forces
from astray.models.schnet_training import train

SPEC = {"architecture": "schnet", "hidden_channels": 16, "num_filters": 16, "num_interactions": 2,
        "num_gaussians": 16, "cutoff": 4.0}  # fmt: skip
ATOM_ENERGIES = {"H": -13.6, "He": -77.9, "O": -2035.0}
DISTANCES = np.array([0.3, 0.5, 0.74, 1.0, 2.0, 3.5, 6.0])


def anchored(seed: int, perturbed: bool = True):
    torch.manual_seed(seed)
    model = build_model(
        {**SPEC, "physics_prior": "coulomb"}, {"mean": -3.0, "std": 2.0, "atom_energies": ATOM_ENERGIES}
    )
    if perturbed:  # weights far from any trained or initial state
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter))
    return model.eval()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_anchored_model_gives_two_protons_exactly_coulomb_for_any_weights(seed):
    model = anchored(seed)
    protons = [probe_geometry(PROBES["H2_2plus"], r) for r in DISTANCES]
    # Atomization energy relative to two neutral H atoms, moved to the protons' scale by the fragment
    # shift (2 E_H - 0), as evaluation does.
    on_fragment_scale = predict_energies(model, protons) + 2 * ATOM_ENERGIES["H"]
    assert np.allclose(on_fragment_scale, coulomb_curve(DISTANCES), rtol=1e-6)
    forces = predict_forces(model, protons)
    exact = coulomb_curve(DISTANCES) / DISTANCES  # |F| = Z1 Z2 / r^2, repulsive
    assert np.allclose([f[1, 2] for f in forces], exact, rtol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_anchored_model_has_a_repulsive_wall_on_h2_before_training(seed):
    """With electrons the network's output, smooth and finite at r = 0, is added to the exact repulsion,
    which diverges: at initialisation the wall is already there, where a plain SchNet has none."""
    short = np.array([0.02, 0.05, 0.1, 0.2])
    energies = predict_energies(anchored(seed, perturbed=False), [probe_geometry(PROBES["H2"], r) for r in short])
    assert (np.diff(energies) < 0).all()
    assert energies[0] - energies[-1] == pytest.approx(coulomb_curve(short[0]) - coulomb_curve(short[-1]), rel=0.2)


def test_charge_aware_model_tells_charges_and_spins_apart():
    torch.manual_seed(0)
    model = build_model({**SPEC, "charge_aware": True}, {"mean": 0.0, "std": 1.0}).eval()
    geometry = probe_geometry(PROBES["H2"], 0.9)
    variants = []
    for charge, multiplicity in [(0, 1), (1, 2), (2, 1), (0, 3)]:
        atoms = geometry.copy()
        atoms.info.update(charge=charge, multiplicity=multiplicity)
        variants.append(atoms)
    energies = predict_energies(model, variants)
    assert len(set(np.round(energies, 6))) == 4

    plain = build_model(SPEC, {"mean": 0.0, "std": 1.0}).eval()
    assert len(set(np.round(predict_energies(plain, variants), 6))) == 1


def test_anchored_model_trains_and_rebuilds_from_its_checkpoint(tmp_path):
    """Training targets are atomization energies; the network learns them less the nuclear repulsion."""
    data = []
    for r in np.linspace(0.6, 2.5, 20):
        for symbols, charge, multiplicity, reference in [
            ("H2", 0, 1, 2 * ATOM_ENERGIES["H"]),
            ("HeH", 1, 1, ATOM_ENERGIES["He"] + ATOM_ENERGIES["H"]),
        ]:
            atoms = Atoms(symbols, positions=[(0, 0, 0), (0, 0, r)])
            atoms.info.update(geometry_id=f"{symbols}@{r:.3f}", origin="equilibrium", charge=charge,
                              multiplicity=multiplicity)  # fmt: skip
            atoms.calc = SinglePointCalculator(
                atoms, energy=reference + 4.7 * ((1 - np.exp(-1.9 * (r - 0.8))) ** 2 - 1)
            )
            data.append(atoms)
    spec = {**SPEC, "physics_prior": "coulomb"}
    training = {"max_epochs": 40, "patience": 40, "batch_size": 8, "learning_rate": 0.005, "device": "cpu"}
    history = train(
        data, data[::5], ATOM_ENERGIES, spec, training, seed=0, output=tmp_path / "m.pt", log=lambda m: None
    )
    assert history[-1]["val_mae_eV"] < history[0]["val_mae_eV"]
    model, meta = load_model(tmp_path / "m.pt")
    assert meta["charge_aware"] is True and meta["physics_prior"] == "coulomb"
    protons = [probe_geometry(PROBES["H2_2plus"], r) for r in DISTANCES]
    assert np.allclose(predict_energies(model, protons) + 2 * ATOM_ENERGIES["H"], coulomb_curve(DISTANCES), rtol=1e-6)


def free_atoms(symbols):
    from astray.labels.states import ATOM_MULTIPLICITY

    return [Atoms(s, info={"charge": 0, "multiplicity": ATOM_MULTIPLICITY[s], "geometry_id": s}) for s in symbols]


def perturbed_model(spec, seed):
    torch.manual_seed(seed)
    model = build_model(spec, {"mean": -3.0, "std": 2.0, "atom_energies": ATOM_ENERGIES})
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter))
    return model.eval()


@pytest.mark.parametrize("variant", [{}, {"charge_aware": True}, {"physics_prior": "coulomb"}])
@pytest.mark.parametrize("seed", [0, 1])
def test_free_atoms_have_zero_atomization_energy_for_any_weights(variant, seed):
    """Every SchNet variant: a free neutral atom in its ground state is zero, whatever the weights (to the
    float32 rounding of the ~100 eV per-atom outputs that weights this far from training give)."""
    model = perturbed_model({**SPEC, **variant}, seed)
    energies = predict_energies(model, free_atoms(["H", "O", "He"]))
    np.testing.assert_allclose(energies, 0.0, atol=1e-4)


@pytest.mark.parametrize("seed", [0, 1])
def test_plain_schnet_h2_is_two_free_atoms_beyond_its_cutoff(seed):
    """Beyond the cutoff no atom sees the other: H2 at 4.5 and 6 Å is exactly zero, not twice a shift."""
    model = perturbed_model(SPEC, seed)
    beyond = [probe_geometry(PROBES["H2"], r) for r in (4.5, 6.0)]
    within = [probe_geometry(PROBES["H2"], r) for r in (0.74, 2.0)]
    np.testing.assert_allclose(predict_energies(model, beyond), 0.0, atol=1e-5)
    assert np.abs(predict_energies(model, within)).min() > 1e-3


def test_mean_shift_keeps_torch_geometrics_free_atom_energy():
    """`isolated_atoms: mean_shift` is torch-geometric's SchNet: a free atom carries the per-atom shift."""
    model = perturbed_model({**SPEC, "isolated_atoms": "mean_shift"}, 0)
    assert np.abs(predict_energies(model, free_atoms(["H", "O"]))).min() > 1e-2
