"""Does a model know what it does not know, and does it soften? From the runs the cube already holds.

Committee: the seeds of one (model, kind, size) are a committee of independently initialised models trained
on independently ordered nested sets. Its spread (the standard deviation over members) is the uncertainty a
user would get from it; its mean is the committee's prediction. Calibration asks whether the spread tells
large errors from small ones (rank correlation over the test set) and whether errors fall within one and two
spreads as often as a Gaussian's would (68% and 95%). With three members the spread is itself noisy: read
the fractions as coarse.

Softening: on a distorted test geometry, how much of the label's energy change from its molecule's
equilibrium geometry the model reproduces, as the least-squares slope through the origin of the predicted
change against the labels' change over every distorted test geometry (below 1: softer than the labels).

Pretrained models as they ship are one model whatever the seed: no committee, NaN.
"""

import numpy as np
import xarray as xr
from scipy.stats import spearmanr

from astray.evaluation.curve_metrics import WINDOWS, window_errors

# The fraction of a Gaussian's draws within one and two standard deviations.
GAUSSIAN_WITHIN = {1: 0.6827, 2: 0.9545}


def uncertainty_fields(cube) -> xr.Dataset:
    """Committee spread and calibration on the test set and the probes, and the softening slope."""
    fields = xr.Dataset()
    if "test_predicted_energy" not in cube:
        return fields
    # A model without an alignment record is one astray trained.
    trained = cube.energy_alignment == "none" if "energy_alignment" in cube else True
    if cube.sizes["seed"] >= 2:
        fields = fields.merge(_committee_on_the_test_set(cube).where(trained))
        fields = fields.merge(_committee_on_the_probes(cube).where(trained))
    fields["softening_slope"] = softening_slope(cube)
    return fields


def _committee_on_the_test_set(cube) -> xr.Dataset:
    predicted = cube.test_predicted_energy
    spread = predicted.std("seed", ddof=1)
    error = np.abs(predicted.mean("seed") - cube.test_reference_energy)
    return xr.Dataset(
        {
            "committee_test_spread": spread,
            "committee_test_error": error,
            "committee_spread_error_spearman": _spearman(spread, error),
            **{f"committee_within_{k}_spread": (error <= k * spread).mean("test_geometry") for k in GAUSSIAN_WITHIN},
        }
    )


def _spearman(spread, error) -> xr.DataArray:
    """Rank correlation of spread and |error| over the test geometries, per committee."""
    return xr.apply_ufunc(
        lambda s, e: spearmanr(s, e).statistic if np.ptp(s) > 0 and np.ptp(e) > 0 else np.nan,
        spread, error, input_core_dims=[["test_geometry"], ["test_geometry"]], vectorize=True,
    )  # fmt: skip


def _committee_on_the_probes(cube) -> xr.Dataset:
    """The spread along each probe curve, and averaged over each distance window (as the window errors are),
    beside the committee mean's error there."""
    spread = cube.predicted_energy.std("seed", ddof=1)
    mean = cube.predicted_energy.mean("seed")
    exact = cube.reference_energy.sel(reference="exact", drop=True)
    windows = xr.concat([_window_average(spread.sel(probe=probe), cube) for probe in cube.probe.values], cube.probe)
    return xr.Dataset(
        {
            "committee_probe_spread": spread,
            "committee_probe_window_spread": windows,
            "committee_probe_error": np.abs(mean - exact),
        }
    )


def _window_average(curves, cube) -> xr.DataArray:
    """Each curve (over distance) averaged within each window of its probe."""
    scale = float(cube.length_scale.sel(probe=curves.probe))
    distance = cube.distance.values

    def by_window(values):
        return np.array(list(window_errors(distance, values, np.zeros_like(values), scale).values()))

    averaged = xr.apply_ufunc(by_window, curves, input_core_dims=[["distance"]], output_core_dims=[["window"]],
                              vectorize=True)  # fmt: skip
    return averaged.assign_coords(window=list(WINDOWS))


def softening_slope(cube) -> xr.DataArray:
    """Per run: Σ Δpredicted·Δlabel / Σ Δlabel² over the distorted test geometries whose molecule's
    equilibrium geometry is in the test set, Δ being the energy change from that equilibrium geometry."""
    if "test_molecule" not in cube.coords:
        return xr.full_like(cube.test_mae, np.nan)
    molecules = cube.test_molecule.values
    origins = cube.test_origin.values
    equilibrium = {m: i for i, (m, o) in enumerate(zip(molecules, origins)) if o == "equilibrium"}
    pairs = [
        (i, equilibrium[m])
        for i, (m, o) in enumerate(zip(molecules, origins))
        if o != "equilibrium" and m in equilibrium
    ]
    if not pairs:
        return xr.full_like(cube.test_mae, np.nan)
    distorted, reference = (np.array(column) for column in zip(*pairs))
    labels = cube.test_reference_energy.values
    label_change = labels[distorted] - labels[reference]
    predicted = cube.test_predicted_energy
    change = predicted.isel(test_geometry=distorted) - predicted.isel(test_geometry=reference).values
    weights = xr.DataArray(label_change, dims="test_geometry")
    return (change * weights).sum("test_geometry", skipna=False) / float((label_change**2).sum())
