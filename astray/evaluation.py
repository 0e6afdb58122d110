"""Evaluate one trained model: probe curves and holdout errors, in the cube's units (eV)."""

import numpy as np

from astray.datasets import atomization_energy
from astray.references import PROBES, probe_geometry
from astray.training import load_model, predict_energies


def evaluate_checkpoint(checkpoint_path, test_atoms, atom_energies: dict, distances, probes):
    """Returns (predictions per probe, metrics of this training run, facts about the model)."""
    model, meta = load_model(checkpoint_path)
    predictions = {
        # A model without a charge input sees H2_2plus only as its geometry: that it cannot tell two protons
        # from H2 is itself the finding, recorded as charge_aware = 0.
        name: predict_energies(model, [probe_geometry(PROBES[name], r) for r in distances])
        for name in probes
    }
    metrics = {**holdout_errors(model, test_atoms, atom_energies), "best_epoch": meta["best_epoch"]}
    model_info = {"n_parameters": meta["n_parameters"], "charge_aware": int(meta["charge_aware"])}
    return predictions, metrics, model_info


def holdout_errors(model, test_atoms, atom_energies: dict) -> dict:
    truth = np.array([atomization_energy(a, atom_energies) for a in test_atoms])
    error = predict_energies(model, test_atoms) - truth
    equilibrium = np.array([a.info["origin"] == "equilibrium" for a in test_atoms])
    return {
        "test_mae": float(np.abs(error).mean()),
        "test_rmse": float(np.sqrt((error**2).mean())),
        "test_mae_equilibrium": float(np.abs(error[equilibrium]).mean()) if equilibrium.any() else np.nan,
    }
