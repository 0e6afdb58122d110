"""Evaluate one trained model: probe curves, their physics, and holdout errors, in eV and Å."""

import numpy as np
from ase import Atoms

from astray.conventions import atomization_energy
from astray.evaluation.probes import PROBES, probe_geometry
from astray.labels.states import ATOM_MULTIPLICITY


def evaluate_model(model, test_atoms, atom_energies: dict, distances, fragment_shifts: dict, train_atoms=()):
    """`model`: a predictor (astray.models.registry.load_predictor). Returns (predictions per probe, metrics of
    this training run, facts about the model, per probe why the model could not predict it ("" where it
    could), and the holdout energies geometry by geometry).

    Predictions are on each probe's fragment scale: the model's atomization energy plus the probe's
    fragment shift (`astray.evaluation.probes.fragment_shift`), so they compare with the reference curves.
    A pretrained model's holdout errors are taken after its per-element alignment to `train_atoms`
    (`astray.models.pretrained`); its probes are not aligned, they count from its own free atoms.
    """
    aligned = model.aligned_to(train_atoms, atom_energies) if hasattr(model, "aligned_to") else model
    predictions = {
        # Probe geometries carry their charge and multiplicity; a model without a charge input sees a charged
        # probe only as its geometry: that it cannot tell two protons from H2 is itself the finding, recorded
        # as charge_aware = 0.
        name: model.energies([probe_geometry(PROBES[name], r) for r in distances]) + shift
        for name, shift in fragment_shifts.items()
    }
    holdout = holdout_energies(aligned, test_atoms, atom_energies)
    metrics = {
        **holdout_errors(aligned, test_atoms, atom_energies, holdout),
        "best_epoch": model.info["best_epoch"],
        "free_atom_energy_max": free_atom_energy_max(model, atom_energies),
        **training_cost(model.info),
    }
    model_info = {
        "n_parameters": model.info["n_parameters"],
        "charge_aware": int(model.info["charge_aware"]),
        # astray's charge-aware SchNet embeds charge and multiplicity together.
        "spin_aware": int(model.info.get("spin_aware", model.info["charge_aware"])),
        "physics_prior": model.info["physics_prior"],
        "model_architecture": model_family(model.info),
        "training_data": model.info.get("training_data", CAMPAIGN_TRAINING_DATA),
        "energy_alignment": model.info.get("energy_alignment", "none"),
    }
    unavailable = getattr(model, "probe_unavailable", {})
    probe_unavailable = {name: unavailable.get(name, "") for name in fragment_shifts}
    return predictions, metrics, model_info, probe_unavailable, holdout


CAMPAIGN_TRAINING_DATA = "this campaign's training set of the run (kind, seed, size), at the label level"


def model_family(info: dict) -> str:
    """The architecture, marked with the physics built in (schnet, schnet+charge, schnet+coulomb): capacity
    fits run within one family, so an anchored SchNet is never fitted as a rung of the plain ladder. Each
    pretrained model is a family of its own (pretrained:7net-0)."""
    if "model_family" in info:
        return info["model_family"]
    if info["physics_prior"] != "none":
        return f"{info['spec']['architecture']}+{info['physics_prior']}"
    return info["spec"]["architecture"] + ("+charge" if info["charge_aware"] else "")


def free_atom_energy_max(model, atom_energies: dict) -> float:
    """Largest |predicted atomization energy| (eV) of a free neutral atom in its ground state, over the
    campaign's elements: exactly 0 for a model that knows where zero is, the per-atom shift otherwise."""
    atoms = [
        Atoms(symbol, info={"charge": 0, "multiplicity": ATOM_MULTIPLICITY[symbol], "geometry_id": f"{symbol} atom"})
        for symbol in sorted(atom_energies)
    ]
    return float(np.abs(model.energies(atoms)).max())


def training_cost(info: dict) -> dict:
    """Wall seconds, epochs and FLOPs of the training run, NaN where the trainer does not report them."""
    epochs = info.get("epochs", np.nan)
    flops_per_epoch = info.get("flops_per_epoch", np.nan)
    return {
        "train_seconds": info.get("training_seconds", np.nan),
        "train_epochs": epochs,
        "train_flops_per_epoch": flops_per_epoch,
        "train_flops": flops_per_epoch * epochs,
    }


def holdout_energies(model, test_atoms, atom_energies: dict) -> dict:
    """Per test geometry: its id and origin, and its reference and predicted atomization energies (eV),
    what a parity plot shows."""
    return {
        "test_geometry": [a.info["geometry_id"] for a in test_atoms],
        "test_origin": [a.info["origin"] for a in test_atoms],
        "test_molecule": [a.info.get("molecule", a.info["geometry_id"]) for a in test_atoms],
        "test_reference_energy": np.array([atomization_energy(a, atom_energies) for a in test_atoms]),
        "test_predicted_energy": np.asarray(model.energies(test_atoms), dtype=float),
    }


def holdout_errors(model, test_atoms, atom_energies: dict, energies: dict | None = None) -> dict:
    """Energy errors on the test set (from `energies`, holdout_energies' result, where given) and the
    force error."""
    energies = energies or holdout_energies(model, test_atoms, atom_energies)
    error = energies["test_predicted_energy"] - energies["test_reference_energy"]
    equilibrium = np.array([origin == "equilibrium" for origin in energies["test_origin"]])
    return {
        "test_mae": float(np.abs(error).mean()),
        "test_rmse": float(np.sqrt((error**2).mean())),
        "test_mae_equilibrium": float(np.abs(error[equilibrium]).mean()) if equilibrium.any() else np.nan,
        "test_force_mae": force_mae(model, test_atoms),
    }


def force_mae(model, test_atoms) -> float:
    """Mean absolute force-component error (eV/Å) over the test geometries that carry forces."""
    with_forces = [a for a in test_atoms if "forces" in a.calc.results]
    if not with_forces:
        return np.nan
    predicted = np.concatenate(model.forces(with_forces))
    truth = np.concatenate([a.get_forces() for a in with_forces])
    return float(np.abs(predicted - truth).mean())
