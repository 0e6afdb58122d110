"""Scaling fits: error against training-set size N, against parameter count P, and the joint law L(N, P),
with intervals that say what the campaign's seeds know; and the compute-optimal (P, N) of the joint law.

Every law is fitted to each seed on its own. A seed's training sets are nested and share one
initialisation, so its errors at different sizes are correlated and its points are not independent
draws; seeds are. Each reported number is the mean over seeds of the per-seed fits' numbers (amplitudes:
the geometric mean), and its interval the Student-t interval over them, mean ± t(0.975, S-1)·sd/√S
(t = 4.30 for three seeds, 12.7 for two): exact where per-seed estimates are normal, and checked where
they are not by planting laws with the campaign's noise structure (astray.evaluation.planted;
tests/unit/test_scaling.py, benchmarks/scaling_intervals.py). A bootstrap over three seeds cannot give a
95% interval: it has ten distinct resamples, each seed alone is drawn with probability 1/27 > 2.5%, so its
percentile interval is about the range of the three seeds' exponents, which holds the truth 1 - 2/2^3 =
75% of the time (measured with the campaign's structure: 69%, where the t-interval holds it 95%).

Two laws, each with its own variables, so no number switches between estimands:
- the power law a·x^-b, always: least squares of log error on log x per seed (errors are multiplicative:
  a seed that is 5% worse is 5% worse at every size). A negative b is error that grows with x, a finding,
  never clamped.
- the law with a floor, a·x^-b + c, only where the grid identifies a floor (`floor_identified`, one rule for
  the 1-D and the joint law); elsewhere its variables are NaN and the status says why.
"""

import numpy as np
import xarray as xr
from scipy import stats
from scipy.optimize import least_squares

CONFIDENCE = 0.95
# Exponents are bounded symmetrically: a negative one (error growing with data or parameters) is a result.
# A fit that reaches the bound is flagged in its status, not clipped silently.
EXPONENT_BOUND = 5.0
AT_BOUND = 0.98 * EXPONENT_BOUND
# A floor is fitted only on a grid of at least this many distinct values spanning this many decades, in
# every variable of the law. Measured with benchmarks/scaling_intervals.py (planted a·N^-0.5 + c, three
# seeds, the campaign's noise structure and twice it, 400 replications each): the floor law's t-interval of
# b holds the truth in 93-97% of replications on every grid tried, floor or none; what the grid decides is
# the floor itself. For a small floor (a tenth of the error at the largest size) on the default campaign's
# 5 sizes over 1.2 decades its interval holds c in 90-92% and its median error is 51-99% of c (a floor of
# 0.3: 23-38%); over 1.5 decades 91-92%, 42-78%; over 2 decades with 4 sizes 92-95%, 31-54% (0.3: 12-23%),
# with 5 sizes or 6 over 2.5 decades the same. Four sizes are the fewest a three-parameter fit leaves a
# degree of freedom with.
FLOOR_MINIMUM_DISTINCT = 4
FLOOR_MINIMUM_DECADES = 2.0


def seed_interval(values) -> dict:
    """Mean over seeds of per-seed estimates, its standard error and the two-sided Student-t interval; the
    spread fields are NaN with fewer than two finite estimates."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    result = {"mean": np.nan, "stderr": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if len(values) == 0:
        return result
    result["mean"] = float(values.mean())
    if len(values) >= 2:
        stderr = float(values.std(ddof=1) / np.sqrt(len(values)))
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1)) * stderr
        result.update(stderr=stderr, ci_low=result["mean"] - half, ci_high=result["mean"] + half)
    return result


def floor_identified(*grids) -> str:
    """'' where every grid (the x values of each variable of a law) can identify a floor; otherwise why not."""
    for grid in grids:
        values = np.unique(np.asarray(grid, dtype=float))
        values = values[np.isfinite(values) & (values > 0)]
        decades = float(np.log10(values.max() / values.min())) if len(values) else 0.0
        if len(values) < FLOOR_MINIMUM_DISTINCT or decades < FLOOR_MINIMUM_DECADES - 1e-9:
            return (
                f"not fitted: {len(values)} distinct values over {decades:.2f} decades; a floor is identified "
                f"from {FLOOR_MINIMUM_DISTINCT} over {FLOOR_MINIMUM_DECADES:g}"
            )
    return ""


def fit_power_law(x, error) -> dict:
    """a·x^-b by least squares of log error on log x, for one seed's runs; NaN with fewer than two distinct x."""
    x, error = _usable(x, error)
    if len(np.unique(x)) < 2:
        return {"amplitude": np.nan, "exponent": np.nan}
    slope, intercept = np.polyfit(np.log(x), np.log(error), 1)
    return {"amplitude": float(np.exp(intercept)), "exponent": float(-slope)}


def fit_floor_law(x, error) -> dict:
    """a·x^-b + c (c >= 0, |b| <= 5) by least squares in log error, for one seed's runs; NaN with fewer
    than four points (three parameters and one degree of freedom)."""
    x, error = _usable(x, error)
    result = {"amplitude": np.nan, "exponent": np.nan, "floor": np.nan}
    if len(x) < 4 or len(np.unique(x)) < 4:
        return result
    # x in units of its geometric mean, so that the amplitude and the exponent are not correlated by the
    # scale of x (sizes in hundreds, parameter counts in hundreds of thousands).
    reference = float(np.exp(np.mean(np.log(x))))
    scaled, log_error = np.log(x / reference), np.log(error)

    def residuals(p):
        return np.log(np.exp(p[0] - p[1] * scaled) + p[2]) - log_error

    def jacobian(p):
        term = np.exp(p[0] - p[1] * scaled)
        total = term + p[2]
        return np.column_stack([term / total, -term * scaled / total, 1.0 / total])

    # Starts from the floor at 0, a third and four fifths of the smallest error: the surface has a
    # valley along which the floor trades off against the exponent, and one start can stall in it.
    best = None
    for share in (0.0, 0.33, 0.8):
        floor = share * error.min()
        slope, intercept = np.polyfit(scaled, np.log(error - floor), 1)
        start = [intercept, float(np.clip(-slope, -AT_BOUND, AT_BOUND)), floor]
        fit = least_squares(residuals, start, jac=jacobian,
                            bounds=([-np.inf, -EXPONENT_BOUND, 0.0], [np.inf, EXPONENT_BOUND, np.inf]))  # fmt: skip
        if best is None or fit.cost < best.cost:
            best = fit
    log_amplitude, exponent, floor = best.x
    return {"amplitude": float(np.exp(log_amplitude) * reference**exponent), "exponent": float(exponent),
            "floor": float(floor)}  # fmt: skip


def _usable(x, error):
    x, error = np.asarray(x, dtype=float), np.asarray(error, dtype=float)
    keep = np.isfinite(error) & (error > 0) & np.isfinite(x) & (x > 0)
    return x[keep], error[keep]


def _geometric_mean(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.exp(np.log(values).mean())) if len(values) else np.nan


INTERVAL_PARTS = ("", "_stderr", "_ci_low", "_ci_high")


def _interval_fields(*names) -> tuple:
    return tuple(f"{name}{part}" for name in names for part in INTERVAL_PARTS)


CURVE_FIELDS = (*_interval_fields("exponent"), "amplitude", "points", "seeds",
                *_interval_fields("floor_exponent"), "floor_amplitude", *_interval_fields("floor"))  # fmt: skip


def fit_learning_curves(x, runs) -> dict:
    """Both laws fitted to every seed: `runs` has one row per seed and one column per x (NaN for a run that
    is missing). Returns CURVE_FIELDS, `floor_status`, and `exponent_per_seed` (one per row)."""
    x, runs = np.asarray(x, dtype=float), np.atleast_2d(np.asarray(runs, dtype=float))
    pure = [fit_power_law(x, row) for row in runs]
    per_seed = np.array([fit["exponent"] for fit in pure])
    fitted = np.isfinite(per_seed)
    result = dict.fromkeys(CURVE_FIELDS, np.nan)
    result.update(_named(seed_interval(per_seed), "exponent"))
    result["amplitude"] = _geometric_mean([fit["amplitude"] for fit in pure])
    result["points"] = float(np.sum(np.isfinite(runs[fitted]) & (runs[fitted] > 0)))
    result["seeds"] = float(fitted.sum())
    result["exponent_per_seed"] = per_seed
    why_not = floor_identified(x[np.isfinite(runs).any(axis=0)])
    if not why_not:
        floors = [fit_floor_law(x, row) for row in runs]
        exponents = np.array([fit["exponent"] for fit in floors])
        result.update(_named(seed_interval(exponents), "floor_exponent"))
        result.update(_named(seed_interval([fit["floor"] for fit in floors]), "floor"))
        result["floor_amplitude"] = _geometric_mean([fit["amplitude"] for fit in floors])
        why_not = _fitted_status(exponents, "exponent")
    result["floor_status"] = why_not
    return result


def _named(interval: dict, name: str) -> dict:
    """seed_interval's fields under a variable's names: mean -> name, stderr -> name_stderr, ..."""
    return {name if key == "mean" else f"{name}_{key}": value for key, value in interval.items()}


def _fitted_status(exponents, what: str) -> str:
    exponents = np.asarray(exponents, dtype=float)
    if not np.isfinite(exponents).any():
        return "not fitted: too few runs in every seed"
    notes = ["fitted"]
    at_bound = int(np.sum(np.abs(exponents) > AT_BOUND))
    if at_bound:
        notes.append(f"{what} at its bound ±{EXPONENT_BOUND:g} in {at_bound} seed(s): the law does not describe them")
    return "; ".join(notes)


# The joint law's two power laws need three distinct values of each variable (a power law and its
# curvature against the other term); its floor follows floor_identified like the 1-D law's.
JOINT_MINIMUM_DISTINCT = 3
JOINT_LAW_PARAMETERS = ("capacity_amplitude", "capacity_exponent", "data_amplitude", "data_exponent", "floor")


def joint_law(parameters, sizes, capacity_amplitude, capacity_exponent, data_amplitude, data_exponent, floor=0.0):
    """L(N, P) = floor + A1·P^-alpha + A2·N^-beta."""
    return (
        floor
        + capacity_amplitude * np.power(parameters, -capacity_exponent)
        + data_amplitude * np.power(sizes, -data_exponent)
    )


def fit_joint_law(parameters, sizes, error, with_floor: bool = False) -> dict:
    """L(N, P) for one seed's runs (one value per model and size, NaN where missing), by least squares in
    log error with P and N in units of their geometric means (P spans 10^4-10^6 and N 10^1-10^4: in raw
    units the amplitudes would differ by the exponents' powers of those scales and the problem would be
    ill-conditioned). Exponents bounded to ±5. JOINT_LAW_PARAMETERS, NaN where the seed has fewer than
    JOINT_MINIMUM_DISTINCT distinct values of either; floor 0 without `with_floor`."""
    parameters, sizes, error = (np.asarray(v, dtype=float) for v in (parameters, sizes, error))
    keep = np.isfinite(error) & (error > 0) & (parameters > 0) & (sizes > 0)
    parameters, sizes, error = parameters[keep], sizes[keep], error[keep]
    result = dict.fromkeys(JOINT_LAW_PARAMETERS, np.nan)
    count = 5 if with_floor else 4
    if min(len(np.unique(parameters)), len(np.unique(sizes))) < JOINT_MINIMUM_DISTINCT or len(error) <= count:
        return result
    p_ref, n_ref = np.exp(np.log(parameters).mean()), np.exp(np.log(sizes).mean())
    log_p, log_n, log_error = np.log(parameters / p_ref), np.log(sizes / n_ref), np.log(error)

    def residuals(q):
        floor = q[4] if with_floor else 0.0
        return np.log(np.exp(q[0] - q[1] * log_p) + np.exp(q[2] - q[3] * log_n) + floor) - log_error

    lower = [-np.inf, -EXPONENT_BOUND, -np.inf, -EXPONENT_BOUND] + ([0.0] if with_floor else [])
    upper = [np.inf, EXPONENT_BOUND, np.inf, EXPONENT_BOUND] + ([np.inf] if with_floor else [])
    best = None
    # A few starts: the two terms can swap roles (either one can carry the level), so one start may find
    # the wrong valley. Each term starts at half the typical error, the floor at a third of the smallest.
    half = np.log(0.5 * np.exp(log_error.mean()))
    for alpha, beta in ((0.3, 0.3), (1.0, 0.3), (0.3, 1.0)):
        start = [half, alpha, half, beta] + ([error.min() / 3] if with_floor else [])
        fit = least_squares(residuals, start, bounds=(lower, upper))
        if best is None or fit.cost < best.cost:
            best = fit
    q = best.x
    return {
        "capacity_amplitude": float(np.exp(q[0]) * p_ref ** q[1]),
        "capacity_exponent": float(q[1]),
        "data_amplitude": float(np.exp(q[2]) * n_ref ** q[3]),
        "data_exponent": float(q[3]),
        "floor": float(q[4]) if with_floor else 0.0,
    }


JOINT_FIELDS = (
    *_interval_fields("capacity_exponent", "data_exponent"), "capacity_amplitude", "data_amplitude",
    *_interval_fields("floor_capacity_exponent", "floor_data_exponent"), "floor_capacity_amplitude",
    "floor_data_amplitude", *_interval_fields("floor"), "points", "seeds",
)  # fmt: skip


def fit_joint_scaling(parameters, sizes, runs) -> tuple[dict, list]:
    """The joint law fitted to every seed: `runs` has one row per seed and one column per (P, N) point.
    Returns (JOINT_FIELDS with `status` and `floor_status`, each seed's law without floor for
    compute_optimal_allocation)."""
    runs = np.atleast_2d(np.asarray(runs, dtype=float))
    parameters, sizes = np.asarray(parameters, dtype=float), np.asarray(sizes, dtype=float)
    result = dict.fromkeys(JOINT_FIELDS, np.nan)
    seen = np.isfinite(runs).any(axis=0)
    capacities, data_sizes = len(np.unique(parameters[seen])), len(np.unique(sizes[seen]))
    if min(capacities, data_sizes) < JOINT_MINIMUM_DISTINCT:
        why = (f"not fitted: needs {JOINT_MINIMUM_DISTINCT} capacities and {JOINT_MINIMUM_DISTINCT} sizes with "
               f"finite errors; has {capacities} and {data_sizes}")  # fmt: skip
        return {**result, "status": why, "floor_status": why}, []
    laws = [fit_joint_law(parameters, sizes, row) for row in runs]
    fitted = [law for law in laws if np.isfinite(law["data_exponent"])]
    result.update(_joint_summary(laws, ""))
    result["points"] = float(sum(np.sum(np.isfinite(row) & (row > 0)) for row, law in zip(runs, laws)
                                 if np.isfinite(law["data_exponent"])))  # fmt: skip
    result["seeds"] = float(len(fitted))
    result["status"] = _joint_status(laws)
    why_not = floor_identified(parameters[seen], sizes[seen])
    if not why_not:
        floored = [fit_joint_law(parameters, sizes, row, with_floor=True) for row in runs]
        result.update(_joint_summary(floored, "floor_"))
        result.update(_named(seed_interval([law["floor"] for law in floored]), "floor"))
        why_not = _joint_status(floored)
    result["floor_status"] = why_not
    return result, fitted


def _joint_summary(laws: list, prefix: str) -> dict:
    summary = {}
    for name in ("capacity_exponent", "data_exponent"):
        summary.update(_named(seed_interval([law[name] for law in laws]), f"{prefix}{name}"))
    for name in ("capacity_amplitude", "data_amplitude"):
        summary[f"{prefix}{name}"] = _geometric_mean([law[name] for law in laws])
    return summary


def _joint_status(laws: list) -> str:
    """'fitted', with what a reader must know: an exponent at its bound, or one that is negative (error
    that grows with parameters or data: a finding, kept as it is)."""
    alpha = np.array([law["capacity_exponent"] for law in laws], dtype=float)
    beta = np.array([law["data_exponent"] for law in laws], dtype=float)
    if not np.isfinite(beta).any():
        return "not fitted: too few runs in every seed"
    notes = [_fitted_status(alpha, "capacity exponent"), _fitted_status(beta, "data exponent").removeprefix("fitted")]
    for values, what in ((alpha, "parameter count"), (beta, "training-set size")):
        if np.nanmean(values) < 0:
            notes.append(f"mean exponent negative: error grows with {what}")
    return "; ".join(note.strip("; ") for note in notes if note.strip("; "))


def flops_model(parameters, sizes, flops) -> dict:
    """Training FLOPs of a run as k·P^u·N^v, by least squares of log FLOPs on log P and log N over runs;
    epochs fall or grow with N under early stopping, and u and v absorb that. NaN without two distinct
    values of each."""
    parameters, sizes, flops = (np.asarray(v, dtype=float).ravel() for v in (parameters, sizes, flops))
    keep = np.isfinite(flops) & (flops > 0) & (parameters > 0) & (sizes > 0)
    result = {"coefficient": np.nan, "parameter_exponent": np.nan, "size_exponent": np.nan}
    if min(len(np.unique(parameters[keep])), len(np.unique(sizes[keep]))) < 2:
        return result
    design = np.column_stack([np.ones(keep.sum()), np.log(parameters[keep]), np.log(sizes[keep])])
    (log_k, u, v), *_ = np.linalg.lstsq(design, np.log(flops[keep]), rcond=None)
    return {"coefficient": float(np.exp(log_k)), "parameter_exponent": float(u), "size_exponent": float(v)}


def compute_optimal_allocation(law: dict, flops: dict, budget: float) -> dict:
    """The (P, N) that minimise L(N, P) = A1·P^-alpha + A2·N^-beta (+ floor) at training compute
    k·P^u·N^v = budget, and the error the law predicts there (Chinchilla's allocation, with this campaign's
    measured cost of a run in place of 6·P·D).

    On the constraint N = (C/(k P^u))^(1/v), so L(P) = A1 P^-alpha + A2 (C/k)^(-beta/v) P^(u beta/v), whose
    one minimum is P* = [alpha A1 v / (u beta A2) · (C/k)^(beta/v)]^(1/(alpha + u beta/v)): P* grows as
    C^(beta/(v alpha + u beta)), C^(beta/(alpha+beta)) when the cost is P·N. Without positive exponents
    there is no such minimum (spending more on P or N never helps): NaN."""
    alpha, beta = law["capacity_exponent"], law["data_exponent"]
    k, u, v = flops["coefficient"], flops["parameter_exponent"], flops["size_exponent"]
    nan = {"parameters": np.nan, "size": np.nan, "error": np.nan}
    if not all(np.isfinite([alpha, beta, k, u, v])) or min(alpha, beta, u, v) <= 0:
        return nan
    ratio = budget / k
    log_p = (np.log(alpha * law["capacity_amplitude"] * v / (u * beta * law["data_amplitude"]))
             + beta / v * np.log(ratio)) / (alpha + u * beta / v)  # fmt: skip
    log_n = (np.log(ratio) - u * log_p) / v
    parameters, size = float(np.exp(log_p)), float(np.exp(log_n))
    return {"parameters": parameters, "size": size, "error": float(joint_law(parameters, size, **law))}


def scaling_targets(cube: xr.Dataset) -> dict:
    """The errors whose scaling is fitted, each with dims (model, kind, seed, size): holdout MAEs, then each
    probe's MAE against the label method (what a model trained on those labels can learn: the fits to read
    first), then against the other references that exist. Against the exact curve the error has a floor,
    the label level's own distance to it (`reference_probe_mae`), so a pure power law there is misspecified."""
    # The equilibrium part of the test set is in distribution for every kind; the whole set is not for the
    # equilibrium kind, whose models never saw a distorted geometry.
    targets = {"test_mae": cube.test_mae, "test_mae_equilibrium": cube.test_mae_equilibrium}
    references = sorted(cube.reference.values, key=lambda reference: reference != "label_method")
    for reference in references:
        for probe in cube.probe.values:
            error = cube.probe_mae.sel(probe=probe, reference=reference, drop=True)
            if np.isfinite(error.values).any():
                targets[f"probe_mae/{probe}/{reference}"] = error
    return targets


def target_errors(cube: xr.Dataset, target: str) -> xr.DataArray:
    """The errors one scaling target names (`scaling_targets`' keys), from a cube or any selection of it."""
    if target.startswith("probe_mae/"):
        _, probe, reference = target.split("/")
        return cube.probe_mae.sel(probe=probe, reference=reference)
    return cube[target]


def data_scaling(cube: xr.Dataset) -> xr.Dataset:
    """Fits of error against training-set size, per model, kind and target."""
    targets = scaling_targets(cube)
    fits = {}
    for model in cube.model.values:
        for kind in cube.kind.values:
            for name, error in targets.items():
                runs = error.sel(model=model, kind=kind).transpose("seed", "size").values
                fits[model, kind, name] = fit_learning_curves(cube["size"].values, runs)
    coords = {"model": cube.model.values, "kind": cube.kind.values, "target": list(targets)}
    return _curve_dataset("scaling", fits, coords, cube.seed.values, "size")


def capacity_scaling(cube: xr.Dataset) -> xr.Dataset:
    """Fits of error against parameter count across the models of one architecture, per kind, size and
    target."""
    targets = scaling_targets(cube)
    architectures = sorted(set(cube.model_architecture.values))
    fits = {}
    for architecture in architectures:
        models = cube.model.values[cube.model_architecture.values == architecture]
        parameters = cube.n_parameters.sel(model=models).values
        for kind in cube.kind.values:
            for size in cube["size"].values:
                for name, error in targets.items():
                    runs = error.sel(model=models, kind=kind, size=size).transpose("seed", "model").values
                    fits[architecture, kind, size, name] = fit_learning_curves(parameters, runs)
    coords = {"architecture": architectures, "kind": cube.kind.values, "size": cube["size"].values,
              "target": list(targets)}  # fmt: skip
    return _curve_dataset("capacity_scaling", fits, coords, cube.seed.values, "parameters")


def joint_scaling(cube: xr.Dataset, compute_budgets=()) -> xr.Dataset:
    """The joint law over parameter count and training-set size per architecture, kind and target, fitted
    to each seed across every model of the architecture and every size; the cost of a run as k·P^u·N^v
    from train_flops; and at each compute budget (FLOPs of one training run) the compute-optimal (P, N)
    and the error the law predicts there."""
    targets = scaling_targets(cube)
    architectures = sorted(set(cube.model_architecture.values))
    budgets = np.asarray(compute_budgets, dtype=float)
    # A cube of evaluations made before FLOPs were counted has none: no cost model, no allocation.
    train_flops = cube.train_flops if "train_flops" in cube else xr.full_like(cube.test_mae, np.nan)
    fits, allocations, costs = {}, {}, {}
    for architecture in architectures:
        models = cube.model.values[cube.model_architecture.values == architecture]
        for kind in cube.kind.values:
            parameters, sizes, flops = _run_grid(cube, train_flops, models, kind)
            cost = costs[architecture, kind] = flops_model(np.tile(parameters, len(flops)),
                                                           np.tile(sizes, len(flops)), flops)  # fmt: skip
            for name, error in targets.items():
                fit, laws = fit_joint_scaling(parameters, sizes, _run_grid(cube, error, models, kind)[2])
                fits[architecture, kind, name] = fit
                for budget in budgets:
                    allocations[architecture, kind, name, budget] = _allocation(fit, laws, cost, budget,
                                                                                parameters, sizes)  # fmt: skip
    coords = {"architecture": architectures, "kind": cube.kind.values, "target": list(targets)}
    parts = [_joint_dataset(fits, coords), _flops_dataset(costs, coords)]
    if len(budgets):
        parts.append(_allocation_dataset(allocations, {**coords, "compute_budget": budgets}))
    return xr.merge(parts)


def _run_grid(cube: xr.Dataset, values: xr.DataArray, models, kind):
    """(P, N) of every (model, size) point and the values of each seed's runs there, one row per seed."""
    runs = values.sel(model=models, kind=kind).transpose("seed", "model", "size").values
    parameters = np.repeat(cube.n_parameters.sel(model=models).values.astype(float), cube.sizes["size"])
    sizes = np.tile(cube["size"].values.astype(float), len(models))
    return parameters, sizes, runs.reshape(runs.shape[0], -1)


ALLOCATION_FIELDS = tuple(f"{name}{part}" for name in ("parameters", "size", "error")
                          for part in ("", "_ci_low", "_ci_high"))  # fmt: skip


def _allocation(fit: dict, laws: list, flops: dict, budget: float, parameters, sizes) -> dict:
    """Each seed's compute-optimal allocation from its own law; the geometric mean over seeds and the
    t-interval of the logarithm (the allocation is a ratio scale: a factor of 2 either way is the same
    uncertainty), and a status saying whether it lies inside the grid or why there is none."""
    result = dict.fromkeys(ALLOCATION_FIELDS, np.nan)
    if not fit["status"].startswith("fitted"):
        return {**result, "status": "no joint law: " + fit["status"]}
    if not np.isfinite(flops["coefficient"]):
        return {**result, "status": "no cost model: train_flops needs two capacities and two sizes with FLOPs counted"}
    per_seed = [compute_optimal_allocation(law, flops, budget) for law in laws]
    if not all(np.isfinite(allocation["parameters"]) for allocation in per_seed):
        return {
            **result,
            "status": "no optimum: a seed's exponents (or the cost model's) are not all positive, so "
            "spending more on P or on N does not lower its error",
        }
    for name in ("parameters", "size", "error"):
        interval = seed_interval(np.log([allocation[name] for allocation in per_seed]))
        result[name] = float(np.exp(interval["mean"]))
        result[f"{name}_ci_low"], result[f"{name}_ci_high"] = np.exp(interval["ci_low"]), np.exp(interval["ci_high"])
    outside = [
        f"{symbol}* = {result[name]:.3g} outside the grid's {low:.3g}-{high:.3g}"
        for name, symbol, low, high in (("parameters", "P", parameters.min(), parameters.max()),
                                        ("size", "N", sizes.min(), sizes.max()))
        if not low <= result[name] <= high
    ]  # fmt: skip
    result["status"] = "extrapolated: " + "; ".join(outside) if outside else "inside the grid"
    return result


def _stack(fits: dict, coords: dict, field: str, extra: int | None = None) -> np.ndarray:
    """One field of fits keyed by coordinate tuples, as an array over the coordinates (and `extra` more)."""
    shape = [len(values) for values in coords.values()] + ([extra] if extra else [])
    index = [{value: i for i, value in enumerate(values)} for values in coords.values()]
    first = next(iter(fits.values()))[field] if fits else np.nan
    array = np.full(shape, "" if isinstance(first, str) else np.nan, dtype=object if isinstance(first, str) else float)
    for key, fit in fits.items():
        array[tuple(lookup[k] for lookup, k in zip(index, key))] = fit[field]
    return array.astype(str) if isinstance(first, str) else array


def _dataset(prefix: str, fits: dict, coords: dict, attrs: dict, seeds=None) -> xr.Dataset:
    dims = list(coords)
    variables = {}
    for field in attrs:
        if field.endswith("per_seed"):
            variables[f"{prefix}{field}"] = ([*dims, "seed"], _stack(fits, coords, field, len(seeds)))
        else:
            variables[f"{prefix}{field}"] = (dims, _stack(fits, coords, field))
    ds = xr.Dataset(variables, coords={**coords, **({"seed": seeds} if seeds is not None else {})})
    for field, field_attrs in attrs.items():
        ds[f"{prefix}{field}"].attrs = field_attrs
    ds["target"].attrs = {
        "long_name": "fitted error",
        "description": "test_mae, test_mae_equilibrium, or probe_mae/<probe>/<reference>, the label method "
        "first; against the exact curve a probe's error has the label level's floor (reference_probe_mae)",
    }
    return ds


T_INTERVAL = (
    "mean ± t(0.975, S-1)·stderr over the S seeds' own fits (t = 4.30 for three seeds): the seeds are the "
    "independent replicates, the sizes within a seed nested and correlated; its coverage is checked on laws "
    "planted with the campaign's structure (tests/unit/test_scaling.py). NaN with fewer than two seeds"
)


def _interval_attrs(name: str, symbol: str, units: str, law: str) -> dict:
    return {
        name: {"units": units, "long_name": f"{symbol} of {law}, mean over seeds",
               "description": f"mean of the per-seed fits' {symbol}"},
        f"{name}_stderr": {"units": units, "long_name": f"standard error of {symbol} over seeds",
                           "description": "standard deviation of the per-seed values over the square root of "
                           "their number; NaN with fewer than two seeds"},
        f"{name}_ci_low": {"units": units, "long_name": f"lower end of the 95% t-interval of {symbol} over "
                           "per-seed fits", "description": T_INTERVAL},
        f"{name}_ci_high": {"units": units, "long_name": f"upper end of the 95% t-interval of {symbol} over "
                            "per-seed fits", "description": T_INTERVAL},
    }  # fmt: skip


def _curve_dataset(prefix: str, fits: dict, coords: dict, seeds, against: str) -> xr.Dataset:
    symbol, described = ("N", "training-set size") if against == "size" else ("P", "parameter count")
    pure, floored = f"error = a·{symbol}^-b", f"error = a·{symbol}^-b + c"
    floor_rule = (
        f"fitted only where the grid has {FLOOR_MINIMUM_DISTINCT} distinct {described}s over "
        f"{FLOOR_MINIMUM_DECADES:g} decades (on fewer its floor is not pinned down: astray/evaluation/scaling.py)"
    )
    attrs = {
        **_interval_attrs("exponent", "exponent b", "1", f"the power law {pure}"),
        "amplitude": {"units": "eV", "long_name": f"amplitude a of the power law {pure}, geometric mean over seeds",
                      "description": f"the error at {symbol} = 1 of each seed's fit, averaged in its logarithm like "
                      "the exponent's intercept"},
        "points": {"units": "1", "long_name": "runs the power-law fits used",
                   "description": "finite positive errors of the seeds that were fitted"},
        "seeds": {"units": "1", "long_name": "seeds with a power-law fit",
                  "description": f"seeds with runs at two or more distinct {described}s; the interval needs two"},
        "exponent_per_seed": {"units": "1", "long_name": f"exponent b of each seed's power law {pure}",
                              "description": f"least squares of log error on log {symbol} over the seed's runs"},
        **_interval_attrs("floor_exponent", "exponent b", "1", f"the law with floor {floored}"),
        "floor_amplitude": {"units": "eV", "long_name": f"amplitude a of the law with floor {floored}, geometric "
                            "mean over seeds", "description": floor_rule},
        **_interval_attrs("floor", "floor c", "eV", f"the law with floor {floored}"),
        "floor_status": {"units": "1", "long_name": "whether the law with floor was fitted, or why not",
                         "description": floor_rule},
    }  # fmt: skip
    attrs["exponent"]["description"] = (
        f"power law in the {described}, by least squares of log error on log {symbol} for each seed; the mean "
        "of the per-seed exponents (negative: error that grows, a finding). Fitted wherever a seed has two "
        "distinct values, whether or not the error has a floor (then it is the log-log slope over the grid)"
    )
    for name in ("floor_exponent", "floor"):
        attrs[name]["description"] = f"{floor_rule}; least squares in log error for each seed, c >= 0, |b| <= 5"
    return _dataset(f"{prefix}_", fits, coords, attrs, seeds)


def _joint_dataset(fits: dict, coords: dict) -> xr.Dataset:
    pure, floored = "L = A1·P^-alpha + A2·N^-beta", "L = A0 + A1·P^-alpha + A2·N^-beta"
    attrs = {}
    for prefix, law in (("", f"the joint law {pure}"), ("floor_", f"the joint law with floor {floored}")):
        attrs.update(_interval_attrs(f"{prefix}capacity_exponent", "alpha (parameter count)", "1", law))
        attrs.update(_interval_attrs(f"{prefix}data_exponent", "beta (training-set size)", "1", law))
        attrs[f"{prefix}capacity_amplitude"] = {"units": "eV", "long_name": f"A1 of {law} (P in parameters), "
                                                "geometric mean over seeds"}  # fmt: skip
        attrs[f"{prefix}data_amplitude"] = {"units": "eV", "long_name": f"A2 of {law} (N in geometries), "
                                            "geometric mean over seeds"}  # fmt: skip
    attrs.update(_interval_attrs("floor", "floor A0", "eV", f"the joint law with floor {floored}"))
    attrs["points"] = {
        "units": "1",
        "long_name": "runs the joint fits without floor used",
        "description": "finite positive errors of the seeds that were fitted",
    }
    attrs["seeds"] = {
        "units": "1",
        "long_name": "seeds with a joint fit",
        "description": f"seeds with {JOINT_MINIMUM_DISTINCT} capacities and sizes; the interval needs two",
    }
    attrs["status"] = {"units": "1", "long_name": "whether the joint law was fitted, or why not",
                       "description": f"needs {JOINT_MINIMUM_DISTINCT} capacities of one architecture and "
                       f"{JOINT_MINIMUM_DISTINCT} sizes; notes an exponent at its bound (±{EXPONENT_BOUND:g}) "
                       "and a negative mean exponent (error growing with P or N, a finding)"}  # fmt: skip
    attrs["floor_status"] = {"units": "1", "long_name": "whether the joint law with floor was fitted, or why not",
                             "description": f"fitted only where parameter counts and sizes both have "
                             f"{FLOOR_MINIMUM_DISTINCT} distinct values over {FLOOR_MINIMUM_DECADES:g} decades, "
                             "the 1-D fits' rule"}  # fmt: skip
    for name, value in attrs.items():
        if name not in ("points", "seeds", "status", "floor_status"):
            value.setdefault("description", "")
            value["description"] = (value["description"] + "; " if value["description"] else "") + (
                "least squares in log error for each seed, P and N in units of their geometric means, "
                f"exponents bounded to ±{EXPONENT_BOUND:g} (not to >= 0)"
            )
    return _dataset("joint_scaling_", fits, coords, attrs)


def _flops_dataset(costs: dict, coords: dict) -> xr.Dataset:
    coords = {name: coords[name] for name in ("architecture", "kind")}
    described = "cost model train_flops = k·P^u·N^v, least squares of log train_flops over the runs"
    attrs = {
        "coefficient": {"units": "1", "long_name": f"k of the {described}",
                        "description": "NaN without two capacities and two sizes with FLOPs counted"},
        "parameter_exponent": {"units": "1", "long_name": f"u of the {described}",
                               "description": "1 if a run's FLOPs grow in proportion to its parameters"},
        "size_exponent": {"units": "1", "long_name": f"v of the {described}",
                          "description": "1 if every run took as many epochs; early stopping moves it"},
    }  # fmt: skip
    ds = xr.Dataset({f"train_flops_{name}": (list(coords), _stack(costs, coords, name)) for name in attrs},
                    coords=coords)  # fmt: skip
    for name, value in attrs.items():
        ds[f"train_flops_{name}"].attrs = value
    return ds


def _allocation_dataset(allocations: dict, coords: dict) -> xr.Dataset:
    rule = (
        "minimum of the joint law without floor at train_flops = budget "
        "(astray.evaluation.scaling.compute_optimal_allocation), for each seed's law; the geometric mean over seeds"
    )
    interval = "exp of the 95% t-interval of the logarithm over the seeds' allocations; NaN with fewer than two"
    attrs = {}
    for name, units, what in (("parameters", "1", "compute-optimal parameter count P*"),
                              ("size", "1", "compute-optimal training-set size N*"),
                              ("error", "eV", "error the joint law predicts at (P*, N*)")):  # fmt: skip
        attrs[name] = {"units": units, "long_name": what, "description": rule}
        attrs[f"{name}_ci_low"] = {"units": units, "long_name": f"lower end of the 95% interval of the {what}",
                                   "description": interval}  # fmt: skip
        attrs[f"{name}_ci_high"] = {"units": units, "long_name": f"upper end of the 95% interval of the {what}",
                                    "description": interval}  # fmt: skip
    attrs["status"] = {
        "units": "1",
        "long_name": "whether the allocation lies inside the grid, or why there is none",
        "description": "inside the grid; extrapolated (P* or N* beyond the fitted capacities or "
        "sizes, named); or why there is no allocation (no joint law, no cost model, no optimum)",
    }
    ds = _dataset("compute_optimal_", allocations, coords, attrs)
    ds["compute_budget"].attrs = {"units": "1", "long_name": "training compute budget (FLOPs of one run)",
                                  "description": "scaling.compute_budgets of the config"}  # fmt: skip
    return ds
