"""Scaling fits: error against training-set size (and against parameter count) as a power law plus floor,
error = a · x^(-b) + c, fitted to every seed's point so the uncertainty reflects the spread over seeds.

With four or more distinct x both forms are fitted, and the floor is kept only where the data support it:
where its small-sample Akaike information criterion (AICc) is lower than the plain power law's, and the
fit is not degenerate. With fewer than four distinct x a floor cannot be told apart from the exponent, so
it is fixed at zero. The cube's floor is then 0: the plain power law was fitted. Beside the fit's standard error, a 95%
interval of the data-scaling exponent comes from a bootstrap over seeds: each seed's learning curve is one
draw, since its sizes share one training order and one initialisation.
"""

import warnings

import numpy as np
import xarray as xr
from scipy.optimize import OptimizeWarning, curve_fit

FIT_FIELDS = ("exponent", "exponent_stderr", "amplitude", "floor", "points")
BOOTSTRAP_FIELDS = ("exponent_ci_low", "exponent_ci_high")
# Resamples of the seeds per fit, and the generator's seed: the same cube gives the same interval.
BOOTSTRAP_RESAMPLES = 200
BOOTSTRAP_SEED = 0


def power_law(x, amplitude, exponent, floor=0.0):
    return amplitude * np.power(x, -exponent) + floor


EXPONENT_BOUND = 5.0


def fit_power_law(x, error, allow_floor: bool = True) -> dict:
    """Fit `error` (one value per run, NaN for missing runs) against `x`; NaN fields when it cannot be fitted.

    A floor is kept only where it improves the fit by more than its extra parameter costs (lower AICc).
    One that fits only by driving the exponent to its bound (errors that fall, then rise again: the floor
    takes the level, a vanishing amplitude times N^5 the rise) or by leaving the power law nothing to do
    (flat errors: the floor is all of it) describes no power law either. Such data get the plain power
    law, whose exponent follows the trend of the log-log line.
    """
    x, error = np.asarray(x, dtype=float), np.asarray(error, dtype=float)
    keep = np.isfinite(error) & (error > 0) & np.isfinite(x) & (x > 0)
    x, error = x[keep], error[keep]
    distinct = len(np.unique(x))
    result = dict.fromkeys(FIT_FIELDS, np.nan)
    result["points"] = float(len(x))
    if distinct < 2 or len(x) < 3:
        return result
    with_floor = allow_floor and distinct >= 4
    # Start from the straight line in log-log coordinates, which is the exact answer without a floor.
    slope, intercept = np.polyfit(np.log(x), np.log(error), 1)
    start = [np.exp(intercept), -slope] + ([0.0] if with_floor else [])
    bounds = (
        [0.0, -EXPONENT_BOUND] + ([0.0] if with_floor else []),
        [np.inf, EXPONENT_BOUND] + ([np.inf] if with_floor else []),
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)  # an undetermined covariance is reported as NaN
            values, covariance = curve_fit(power_law, x, error, p0=start, bounds=bounds, maxfev=20000)
    except (RuntimeError, ValueError):
        return result
    if with_floor:
        plain = fit_power_law(x, error, allow_floor=False)
        at_bound = abs(values[1]) > 0.98 * EXPONENT_BOUND
        powerless = values[0] * x.min() ** -values[1] < 0.01 * values[2]
        if at_bound or powerless or _aicc(x, error, values) >= _aicc(x, error, [plain["amplitude"], plain["exponent"]]):
            return plain
    result.update(amplitude=values[0], exponent=values[1], floor=values[2] if with_floor else 0.0)
    result["exponent_stderr"] = float(np.sqrt(covariance[1, 1])) if np.isfinite(covariance[1, 1]) else np.nan
    return result


def _aicc(x, error, parameters) -> float:
    """Small-sample Akaike information criterion of a least-squares fit with these parameters."""
    n, k = len(x), len(parameters)
    residual = float(np.sum((error - power_law(x, *parameters)) ** 2))
    if n - k - 1 <= 0 or residual <= 0:
        return -np.inf if residual <= 0 else np.inf
    return n * np.log(residual / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def bootstrap_exponent(sizes, runs) -> tuple[float, float]:
    """2.5th and 97.5th percentiles of the exponent over fits to seeds drawn with replacement; `runs` has
    one row per seed, one column per size. NaN with fewer than two seeds that have a finite curve."""
    runs = np.asarray(runs, dtype=float)
    seeds = [row for row in runs if np.isfinite(row).sum() >= 2]
    if len(seeds) < 2:
        return np.nan, np.nan
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    # A draw is a multiset of seeds, and the fit does not depend on their order: three seeds give only ten
    # distinct draws among the 200, so each is fitted once (the same interval, a twentieth of the fits).
    fitted = {}
    exponents = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        draw = tuple(sorted(rng.integers(len(seeds), size=len(seeds))))
        if draw not in fitted:
            drawn = np.array([seeds[i] for i in draw])
            fitted[draw] = fit_power_law(np.broadcast_to(sizes, drawn.shape).ravel(), drawn.ravel())["exponent"]
        exponents.append(fitted[draw])
    exponents = np.array(exponents)[np.isfinite(exponents)]
    if len(exponents) < BOOTSTRAP_RESAMPLES // 2:
        return np.nan, np.nan
    low, high = np.percentile(exponents, [2.5, 97.5])
    return float(low), float(high)


def scaling_targets(cube: xr.Dataset) -> dict:
    """The errors whose scaling is fitted, each with dims (model, kind, seed, size): holdout MAE and every
    probe's MAE against every reference that exists."""
    # The equilibrium part of the test set is in distribution for every kind; the whole set is not for the
    # equilibrium kind, whose models never saw a distorted geometry.
    targets = {"test_mae": cube.test_mae, "test_mae_equilibrium": cube.test_mae_equilibrium}
    for probe in cube.probe.values:
        for reference in cube.reference.values:
            error = cube.probe_mae.sel(probe=probe, reference=reference, drop=True)
            if np.isfinite(error.values).any():
                targets[f"probe_mae/{probe}/{reference}"] = error
    return targets


def data_scaling(cube: xr.Dataset) -> xr.Dataset:
    """Fits of error against training-set size, per model and dataset kind."""
    targets = scaling_targets(cube)
    fields = FIT_FIELDS + BOOTSTRAP_FIELDS
    values = np.full((cube.sizes["model"], cube.sizes["kind"], len(targets), len(fields)), np.nan)
    for i, model in enumerate(cube.model.values):
        for j, kind in enumerate(cube.kind.values):
            for k, error in enumerate(targets.values()):
                runs = error.sel(model=model, kind=kind).transpose("seed", "size")
                sizes = np.broadcast_to(cube["size"].values, runs.shape)
                fit = fit_power_law(sizes.ravel(), runs.values.ravel())
                values[i, j, k] = [*fit.values(), *bootstrap_exponent(cube["size"].values, runs.values)]
    return _fit_dataset(values, {"model": cube.model.values, "kind": cube.kind.values}, list(targets), "size")


def capacity_scaling(cube: xr.Dataset) -> xr.Dataset:
    """Fits of error against parameter count across the models of one architecture, per kind and size."""
    targets = scaling_targets(cube)
    architectures = sorted(set(cube.model_architecture.values))
    shape = (len(architectures), cube.sizes["kind"], cube.sizes["size"], len(targets), len(FIT_FIELDS))
    values = np.full(shape, np.nan)
    for a, architecture in enumerate(architectures):
        models = cube.model.values[cube.model_architecture.values == architecture]
        parameters = cube.n_parameters.sel(model=models).values
        for j, kind in enumerate(cube.kind.values):
            for s, size in enumerate(cube["size"].values):
                for k, error in enumerate(targets.values()):
                    runs = error.sel(model=models, kind=kind, size=size).transpose("seed", "model")
                    counts = np.broadcast_to(parameters, runs.shape)
                    values[a, j, s, k] = list(fit_power_law(counts.ravel(), runs.values.ravel()).values())
    coords = {"architecture": architectures, "kind": cube.kind.values, "size": cube["size"].values}
    return _fit_dataset(values, coords, list(targets), "parameters")


JOINT_FIELDS = (
    "floor",
    "capacity_amplitude",
    "capacity_exponent",
    "data_amplitude",
    "data_exponent",
    "capacity_exponent_stderr",
    "data_exponent_stderr",
    "points",
)
# The joint law has five parameters; below three distinct values of N or of P the two exponents are not
# told apart from the amplitudes and the floor.
JOINT_MINIMUM_DISTINCT = 3


def joint_law(np_points, floor, capacity_amplitude, capacity_exponent, data_amplitude, data_exponent):
    parameters, sizes = np_points
    return floor + capacity_amplitude * parameters**-capacity_exponent + data_amplitude * sizes**-data_exponent


def fit_joint_law(parameters, sizes, error) -> tuple[dict, str]:
    """L(N, P) = A0 + A1 P^-alpha + A2 N^-beta fitted to every run (one value per run, NaN for missing ones);
    returns (fields, why): NaN fields and the reason where the grid cannot support the fit."""
    parameters, sizes, error = (np.asarray(v, dtype=float) for v in (parameters, sizes, error))
    keep = np.isfinite(error) & (error > 0) & (parameters > 0) & (sizes > 0)
    parameters, sizes, error = parameters[keep], sizes[keep], error[keep]
    result = dict.fromkeys(JOINT_FIELDS, np.nan)
    result["points"] = float(len(error))
    capacities, data_sizes = len(np.unique(parameters)), len(np.unique(sizes))
    if capacities < JOINT_MINIMUM_DISTINCT or data_sizes < JOINT_MINIMUM_DISTINCT:
        return result, (
            f"needs at least {JOINT_MINIMUM_DISTINCT} capacities and {JOINT_MINIMUM_DISTINCT} sizes "
            f"with finite errors; has {capacities} and {data_sizes}"
        )
    # Start from the one-variable power laws through the largest model's and the largest size's runs.
    data_start = fit_power_law(sizes[parameters == parameters.max()], error[parameters == parameters.max()])
    capacity_start = fit_power_law(parameters[sizes == sizes.max()], error[sizes == sizes.max()])
    start = [
        0.5 * error.min(),
        np.nan_to_num(capacity_start["amplitude"], nan=error.mean()),
        float(np.clip(np.nan_to_num(capacity_start["exponent"], nan=0.3), 0.01, 4.9)),
        np.nan_to_num(data_start["amplitude"], nan=error.mean()),
        float(np.clip(np.nan_to_num(data_start["exponent"], nan=0.3), 0.01, 4.9)),
    ]
    bounds = ([0.0, 0.0, 0.0, 0.0, 0.0], [np.inf, np.inf, 5.0, np.inf, 5.0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            values, covariance = curve_fit(joint_law, (parameters, sizes), error, p0=start, bounds=bounds,
                                           maxfev=50000)  # fmt: skip
    except (RuntimeError, ValueError) as failure:
        return result, f"the fit did not converge: {failure}"
    errors = np.sqrt(np.diag(covariance))
    result.update(dict(zip(JOINT_FIELDS[:5], values)))
    result["capacity_exponent_stderr"], result["data_exponent_stderr"] = errors[2], errors[4]
    return result, "fitted"


def joint_scaling(cube: xr.Dataset) -> xr.Dataset:
    """The joint law over data size and parameter count, per architecture, kind and target, across every
    model of the architecture, size and seed; `joint_scaling_status` says why a fit is NaN."""
    targets = scaling_targets(cube)
    architectures = sorted(set(cube.model_architecture.values))
    values = np.full((len(architectures), cube.sizes["kind"], len(targets), len(JOINT_FIELDS)), np.nan)
    status = np.full((len(architectures), cube.sizes["kind"], len(targets)), "", dtype=object)
    for a, architecture in enumerate(architectures):
        models = cube.model.values[cube.model_architecture.values == architecture]
        for j, kind in enumerate(cube.kind.values):
            for k, error in enumerate(targets.values()):
                runs = error.sel(model=models, kind=kind)
                parameters = cube.n_parameters.sel(model=models).broadcast_like(runs)
                sizes = runs["size"].broadcast_like(runs)
                fit, why = fit_joint_law(parameters.values.ravel(), sizes.values.ravel(), runs.values.ravel())
                values[a, j, k], status[a, j, k] = list(fit.values()), why
    dims = ("architecture", "kind", "target")
    coords = {"architecture": architectures, "kind": cube.kind.values, "target": list(targets)}
    ds = xr.Dataset({f"joint_scaling_{f}": (dims, values[..., c]) for c, f in enumerate(JOINT_FIELDS)}, coords=coords)
    ds["joint_scaling_status"] = (dims, status.astype(str))
    law = "error = A0 + A1 P^-alpha + A2 N^-beta"
    attrs = {
        "floor": ("eV", f"irreducible error A0 of {law}"),
        "capacity_amplitude": ("eV", "amplitude A1 of the parameter-count term"),
        "capacity_exponent": ("1", "exponent alpha of the parameter count P"),
        "data_amplitude": ("eV", "amplitude A2 of the training-set-size term"),
        "data_exponent": ("1", "exponent beta of the training-set size N"),
        "capacity_exponent_stderr": ("1", "standard error of alpha"),
        "data_exponent_stderr": ("1", "standard error of beta"),
        "points": ("1", "runs the joint fit used"),
    }
    for field, (units, long_name) in attrs.items():
        ds[f"joint_scaling_{field}"].attrs = {
            "units": units,
            "long_name": long_name,
            "description": f"{law}, fitted to every run of an architecture's models, exponents bounded to [0, 5]",
        }
    ds["joint_scaling_status"].attrs = {"units": "1", "long_name": "whether the joint law was fitted, or why not"}
    return ds


def _fit_dataset(values, coords: dict, targets: list, against: str) -> xr.Dataset:
    prefix = "scaling" if against == "size" else "capacity_scaling"
    dims = [*coords, "target"]
    fields = FIT_FIELDS + (BOOTSTRAP_FIELDS if values.shape[-1] > len(FIT_FIELDS) else ())
    ds = xr.Dataset(
        {f"{prefix}_{field}": (dims, values[..., column]) for column, field in enumerate(fields)},
        coords={**coords, "target": targets},
    )
    symbol, described = ("N", "training-set size") if against == "size" else ("P", "parameter count")
    law = f"error = a {symbol}^-b + c"
    attrs = {
        "exponent": {"units": "1", "long_name": f"exponent b of {law}",
                     "description": f"power law in the {described}, fitted to every seed's run"},
        "exponent_stderr": {"units": "1", "long_name": "standard error of the exponent b"},
        "amplitude": {"units": "eV", "long_name": f"amplitude a of {law}"},
        "floor": {"units": "eV", "long_name": "error floor c (0: the plain power law, where a floor is not supported "
                  "by the data: fewer than 4 sizes, a higher AICc, or a degenerate fit)"},
        "points": {"units": "1", "long_name": "runs the fit used"},
        "exponent_ci_low": {"units": "1", "long_name": "lower end of the 95% bootstrap interval of b",
                            "description": f"2.5th percentile over {BOOTSTRAP_RESAMPLES} fits to seeds drawn "
                            "with replacement; NaN with fewer than two seeds"},
        "exponent_ci_high": {"units": "1", "long_name": "upper end of the 95% bootstrap interval of b",
                             "description": f"97.5th percentile over {BOOTSTRAP_RESAMPLES} fits to seeds drawn "
                             "with replacement; NaN with fewer than two seeds"},
    }  # fmt: skip
    for field in fields:
        ds[f"{prefix}_{field}"].attrs = attrs[field]
    ds["target"].attrs = {
        "long_name": "fitted error",
        "description": "test_mae, test_mae_equilibrium, or probe_mae/<probe>/<reference>",
    }
    return ds
