"""Committee calibration and softening, on planted predictions whose answers are known by construction."""

import numpy as np
import pytest
import xarray as xr

from astray.evaluation.uncertainty import GAUSSIAN_WITHIN, _committee_on_the_test_set, softening_slope

RNG = np.random.default_rng(0)


def committee(labels, members, origins=None, molecules=None) -> xr.Dataset:
    """A cube's holdout part for one model, kind and size: members is (seed, test_geometry)."""
    geometries = [f"g{i}" for i in range(len(labels))]
    coords = {"test_geometry": geometries, "test_origin": ("test_geometry", origins or ["equilibrium"] * len(labels))}
    if molecules is not None:
        coords["test_molecule"] = ("test_geometry", molecules)
    dims = ("model", "kind", "seed", "size", "test_geometry")
    run = {"model": ["m"], "kind": ["k"], "size": [8]}
    predicted = xr.DataArray(np.asarray(members)[None, None, :, None, :], dims=dims, coords={**run, **coords})
    return xr.Dataset(
        {
            "test_predicted_energy": predicted,
            "test_reference_energy": ("test_geometry", np.asarray(labels)),
            "test_mae": predicted.isel(test_geometry=0, drop=True) * np.nan,
        },
        coords=coords,
    )


def test_identical_members_have_no_spread():
    labels = RNG.normal(size=50)
    members = np.tile(labels + 0.3, (3, 1))
    fields = _committee_on_the_test_set(committee(labels, members))
    assert fields.committee_test_spread.max().item() < 1e-12
    assert fields.committee_test_error.mean().item() == pytest.approx(0.3)
    assert fields.committee_within_1_spread.item() == 0.0  # every error is outside a zero spread


def test_a_calibrated_committee_scores_as_a_gaussian_and_an_overconfident_one_is_caught():
    """Members and the label are draws around one value with a per-geometry width: the spread is calibrated
    (errors within one and two spreads about 68% and 95% of the time) and tells wide geometries from narrow
    ones. Shrinking every member's deviation fivefold plants overconfidence, which the fractions reveal."""
    geometries, seeds = 4000, 60
    width = RNG.uniform(0.05, 1.0, geometries)
    centre = RNG.normal(size=geometries)
    labels = centre + width * RNG.normal(size=geometries)
    members = centre + width * RNG.normal(size=(seeds, geometries))
    calibrated = _committee_on_the_test_set(committee(labels, members))
    # The committee mean errs by sqrt(1 + 1/seeds) spreads: within one, P(|Z| < 0.992) = 0.679.
    for k, expected in GAUSSIAN_WITHIN.items():
        assert calibrated[f"committee_within_{k}_spread"].item() == pytest.approx(expected, abs=0.025)
    assert calibrated.committee_spread_error_spearman.item() > 0.4
    overconfident = centre + (members - centre) / 5
    caught = _committee_on_the_test_set(committee(labels, overconfident))
    assert caught.committee_within_1_spread.item() < 0.25 and caught.committee_within_2_spread.item() < 0.45


def test_softening_is_the_share_of_the_labels_energy_change_a_model_reproduces():
    """Three molecules, each an equilibrium geometry and two distorted ones: a model that reproduces half of
    every label's change from equilibrium (whatever its offset) has slope 0.5; one that doubles it, 2."""
    molecules = [m for m in ("a", "b", "c") for _ in range(3)]
    origins = ["equilibrium", "bond_scaled", "bond_scaled"] * 3
    labels = np.array([-10.0, -8.0, -5.0, -20.0, -19.0, -15.0, -7.0, -6.5, -3.0])
    equilibrium = np.repeat(labels[::3], 3)
    for factor in (0.5, 2.0):
        predicted = equilibrium + 0.7 + factor * (labels - equilibrium)
        cube = committee(labels, predicted[None, :], origins, molecules)
        assert softening_slope(cube).item() == pytest.approx(factor)
