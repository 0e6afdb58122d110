"""Scaling fits recover planted laws, their intervals hold the truth as often as they say with the campaign's
noise structure (nested sizes within a seed, spread across seeds), and they refuse what cannot be fitted."""

import itertools

import numpy as np
import pytest

from astray.evaluation.planted import SeedNoise, planted_joint_curves, planted_learning_curves
from astray.evaluation.scaling import (
    compute_optimal_allocation,
    fit_joint_scaling,
    fit_learning_curves,
    floor_identified,
    flops_model,
    joint_law,
    seed_interval,
)

DEFAULT_SIZES = np.array([32, 64, 128, 256, 512])  # config/config.yaml: 1.2 decades
WORKSTATION_SIZES = np.array([40, 128, 400, 1280, 4000, 12800])  # config/workstation.yaml: 2.5 decades
WORKSTATION_CAPACITIES = np.array([13_793, 68_033, 310_913])  # schnet_s, schnet_m, schnet_l
SEEDS = 3
# Coverage of a nominal 95% interval must come out within 5 points of it.
NOMINAL, TOLERANCE = 0.95, 0.05


def coverage(intervals, truth) -> float:
    low, high = np.asarray(intervals, dtype=float).T
    return float(np.mean((low <= truth) & (truth <= high)))


def percentile_bootstrap(per_seed) -> tuple[float, float]:
    """The interval the cube used to store: percentiles of the mean exponent over seeds drawn with
    replacement, here over every ordered draw, each as likely as the others (the bootstrap's exact limit)."""
    means = [np.mean([per_seed[i] for i in draw]) for draw in itertools.product(range(len(per_seed)), repeat=3)]
    return tuple(np.percentile(means, [2.5, 97.5]))


@pytest.mark.parametrize("noise", [SeedNoise(), SeedNoise(offset=0.15, walk=0.08, exponent=0.06)])
def test_the_t_interval_over_seeds_holds_a_planted_exponent_95_percent_of_the_time_and_a_bootstrap_does_not(noise):
    """The default campaign's grid: 5 sizes, 3 seeds, 1000 replications (coverage to ±0.7 points)."""
    rng = np.random.default_rng(0)
    campaigns = planted_learning_curves(rng, DEFAULT_SIZES, SEEDS, 6.0, 0.5, noise=noise, replications=1000)
    fits = [fit_learning_curves(DEFAULT_SIZES, runs) for runs in campaigns]
    t_intervals = [(fit["exponent_ci_low"], fit["exponent_ci_high"]) for fit in fits]
    assert coverage(t_intervals, 0.5) == pytest.approx(NOMINAL, abs=TOLERANCE)
    # Three seeds give the bootstrap ten distinct draws; its "95%" interval is about the seeds' range.
    bootstrap = [percentile_bootstrap(fit["exponent_per_seed"]) for fit in fits]
    assert coverage(bootstrap, 0.5) < 0.85
    # Unbiased: the mean over replications of the seed-mean exponent is the planted one.
    assert np.mean([fit["exponent"] for fit in fits]) == pytest.approx(0.5, abs=0.01)


def test_the_law_with_floor_and_its_intervals_hold_a_planted_floor_on_the_workstation_grid():
    """6 sizes over 2.5 decades identify a floor: a floor of a third of the error at the largest size."""
    rng = np.random.default_rng(1)
    floor = 0.5 * 6.0 * WORKSTATION_SIZES[-1] ** -0.5
    campaigns = planted_learning_curves(rng, WORKSTATION_SIZES, SEEDS, 6.0, 0.5, floor, replications=250)
    fits = [fit_learning_curves(WORKSTATION_SIZES, runs) for runs in campaigns]
    assert all(fit["floor_status"] == "fitted" for fit in fits)
    assert coverage([(f["floor_exponent_ci_low"], f["floor_exponent_ci_high"]) for f in fits], 0.5) == (
        pytest.approx(NOMINAL, abs=TOLERANCE)
    )
    assert coverage([(f["floor_ci_low"], f["floor_ci_high"]) for f in fits], floor) == (
        pytest.approx(NOMINAL, abs=TOLERANCE)
    )
    # The power law is fitted too, and it is another estimand: the log-log slope, flatter than b with a floor.
    assert np.mean([fit["exponent"] for fit in fits]) < 0.45


def test_a_floor_is_fitted_only_where_the_grid_identifies_one():
    rng = np.random.default_rng(2)
    runs = planted_learning_curves(rng, DEFAULT_SIZES, SEEDS, 6.0, 0.5, 0.1)[0]
    fit = fit_learning_curves(DEFAULT_SIZES, runs)
    assert np.isfinite(fit["exponent"]) and np.isfinite(fit["exponent_ci_low"])
    assert np.isnan(fit["floor"]) and np.isnan(fit["floor_exponent"])
    assert fit["floor_status"] == (
        "not fitted: 5 distinct values over 1.20 decades; a floor is identified from 4 over 2"
    )
    assert floor_identified(WORKSTATION_SIZES) == ""
    assert floor_identified(WORKSTATION_SIZES[:4]).startswith("not fitted: 4 distinct values over 1.51 decades")
    assert floor_identified(WORKSTATION_SIZES[::2]).startswith("not fitted: 3 distinct values over 2.00 decades")
    assert floor_identified([40, 400, 1280, 4000]) == ""  # 4 sizes over 2 decades
    # The joint law's floor follows the same rule in every variable: three capacities cannot identify one.
    assert floor_identified(WORKSTATION_SIZES, WORKSTATION_CAPACITIES).startswith("not fitted: 3 distinct")


def test_the_interval_is_mean_plus_minus_t_times_the_standard_error_over_seeds():
    interval = seed_interval([0.4, 0.5, 0.6])
    assert interval["mean"] == pytest.approx(0.5) and interval["stderr"] == pytest.approx(0.1 / np.sqrt(3))
    assert interval["ci_high"] - 0.5 == pytest.approx(4.302653 * 0.1 / np.sqrt(3), rel=1e-6)  # t(0.975, 2)
    assert np.isnan(seed_interval([0.5])["ci_low"]) and seed_interval([0.5])["mean"] == 0.5


def test_error_that_grows_with_data_has_a_negative_exponent_in_every_seed():
    """Not learning is a result too: the fit reports it rather than clipping it to zero."""
    runs = np.array([[2.21, 2.12, 1.99, 2.05, 2.56], [2.3, 2.2, 2.3, 2.4, 2.6], [2.0, 2.1, 2.1, 2.2, 2.5]])
    fit = fit_learning_curves(DEFAULT_SIZES, runs)
    slopes = [np.polyfit(np.log(DEFAULT_SIZES), np.log(row), 1)[0] for row in runs]
    assert fit["exponent_per_seed"] == pytest.approx(-np.array(slopes))
    assert fit["exponent"] < 0 and fit["exponent_ci_high"] < 0.05


def test_missing_runs_leave_a_seed_out_and_one_seed_has_no_interval():
    runs = np.array([[1.0, 0.7, 0.5, 0.36, 0.25], [np.nan, np.nan, 0.5, np.nan, np.nan]])
    fit = fit_learning_curves(DEFAULT_SIZES, runs)
    assert fit["seeds"] == 1 and fit["points"] == 5 and np.isnan(fit["exponent_per_seed"][1])
    assert np.isfinite(fit["exponent"]) and np.isnan(fit["exponent_ci_low"]) and np.isnan(fit["exponent_stderr"])


JOINT_LAW = {"capacity_amplitude": 30.0, "capacity_exponent": 0.35, "data_amplitude": 8.0, "data_exponent": 0.5}
# A cost of k·P·N: 400 FLOPs per parameter and molecule, times 100 epochs.
FLOPS = {"coefficient": 4e4, "parameter_exponent": 1.0, "size_exponent": 1.0}
BUDGETS = (1e13, 1e15)


def joint_points(capacities=WORKSTATION_CAPACITIES, sizes=WORKSTATION_SIZES):
    parameters, data = np.meshgrid(np.asarray(capacities, float), np.asarray(sizes, float), indexing="ij")
    return parameters.ravel(), data.ravel()


def test_the_joint_laws_intervals_and_its_allocation_hold_the_planted_values_on_the_workstation_grid():
    """3 capacities x 6 sizes, 3 seeds; a seed's random walk over sizes shared by its capacities."""
    rng = np.random.default_rng(3)
    parameters, sizes = joint_points()
    campaigns = planted_joint_curves(rng, WORKSTATION_CAPACITIES, WORKSTATION_SIZES, SEEDS, JOINT_LAW,
                                     replications=250)  # fmt: skip
    hits = {name: [] for name in ("capacity_exponent", "data_exponent", "parameters", "size", "error")}
    for runs in campaigns:
        fit, laws = fit_joint_scaling(parameters, sizes, runs.reshape(SEEDS, -1))
        for name in ("capacity_exponent", "data_exponent"):
            hits[name].append(fit[f"{name}_ci_low"] <= JOINT_LAW[name] <= fit[f"{name}_ci_high"])
        truth = compute_optimal_allocation(JOINT_LAW, FLOPS, BUDGETS[1])
        per_seed = [compute_optimal_allocation(law, FLOPS, BUDGETS[1]) for law in laws]
        for name in ("parameters", "size", "error"):
            interval = seed_interval(np.log([allocation[name] for allocation in per_seed]))
            hits[name].append(interval["ci_low"] <= np.log(truth[name]) <= interval["ci_high"])
    for name, hit in hits.items():
        assert np.mean(hit) == pytest.approx(NOMINAL, abs=TOLERANCE), name


def test_the_compute_optimal_allocation_is_the_constrained_minimum_and_scales_as_chinchillas():
    for flops in (FLOPS, {"coefficient": 3e3, "parameter_exponent": 0.9, "size_exponent": 1.2}):
        for budget in BUDGETS:
            allocation = compute_optimal_allocation(JOINT_LAW, flops, budget)
            k, u, v = flops.values()
            # Brute force along the constraint k P^u N^v = budget.
            parameters = np.geomspace(1e2, 1e10, 200_001)
            sizes = (budget / (k * parameters**u)) ** (1 / v)
            errors = joint_law(parameters, sizes, **JOINT_LAW)
            assert allocation["parameters"] == pytest.approx(parameters[np.argmin(errors)], rel=1e-3)
            assert allocation["error"] == pytest.approx(errors.min(), rel=1e-9)
            assert k * allocation["parameters"] ** u * allocation["size"] ** v == pytest.approx(budget)
    # With a cost P·N, P* grows as C^(beta/(alpha+beta)) and N* as C^(alpha/(alpha+beta)).
    low, high = (compute_optimal_allocation(JOINT_LAW, FLOPS, budget) for budget in BUDGETS)
    alpha, beta = JOINT_LAW["capacity_exponent"], JOINT_LAW["data_exponent"]
    assert np.log(high["parameters"] / low["parameters"]) / np.log(100) == pytest.approx(beta / (alpha + beta))
    assert np.log(high["size"] / low["size"]) / np.log(100) == pytest.approx(alpha / (alpha + beta))
    # Error that does not fall with parameters has no compute-optimal model size.
    assert np.isnan(compute_optimal_allocation({**JOINT_LAW, "capacity_exponent": -0.1}, FLOPS, 1e14)["parameters"])


def test_the_cost_model_recovers_flops_per_parameter_and_molecule():
    parameters, sizes = joint_points()
    epochs = 300 * sizes**-0.2  # larger sets stop earlier
    flops = 400 * parameters * sizes * epochs
    model = flops_model(parameters, sizes, flops)
    assert model["coefficient"] == pytest.approx(400 * 300) and model["parameter_exponent"] == pytest.approx(1.0)
    assert model["size_exponent"] == pytest.approx(0.8)
    assert np.isnan(flops_model(np.full(6, 1e4), WORKSTATION_SIZES, np.ones(6))["coefficient"])  # one capacity


def test_a_joint_exponent_below_zero_is_reported_and_flagged():
    """A capacity that makes the error grow (an over-parameterised net on little data) is a finding."""
    rng = np.random.default_rng(4)
    parameters, sizes = joint_points()
    law = {**JOINT_LAW, "capacity_amplitude": 0.02, "capacity_exponent": -0.3}
    runs = planted_joint_curves(rng, WORKSTATION_CAPACITIES, WORKSTATION_SIZES, SEEDS, law, SeedNoise(exponent=0.01))
    fit, _ = fit_joint_scaling(parameters, sizes, runs[0].reshape(SEEDS, -1))
    assert fit["capacity_exponent_ci_low"] <= -0.3 <= fit["capacity_exponent_ci_high"]
    assert fit["capacity_exponent"] < 0
    assert "mean exponent negative: error grows with parameter count" in fit["status"]
    assert fit["floor_status"].startswith("not fitted: 3 distinct values")


def test_the_joint_law_with_floor_is_fitted_where_both_grids_identify_it():
    rng = np.random.default_rng(5)
    capacities = np.geomspace(1e3, 1e6, 5)  # 5 capacities over 3 decades
    parameters, sizes = joint_points(capacities)
    law = {**JOINT_LAW, "floor": 0.05}
    runs = planted_joint_curves(rng, capacities, WORKSTATION_SIZES, SEEDS, law, SeedNoise(0.01, 0.01, 0.01, 0.01))
    fit, _ = fit_joint_scaling(parameters, sizes, runs[0].reshape(SEEDS, -1))
    assert fit["floor_status"] == "fitted"
    assert fit["floor"] == pytest.approx(0.05, abs=0.02) and fit["floor_ci_low"] <= 0.05 <= fit["floor_ci_high"]
    assert fit["floor_data_exponent"] == pytest.approx(0.5, abs=0.1)
    assert fit["floor_capacity_exponent"] == pytest.approx(0.35, abs=0.1)


def test_the_joint_law_needs_three_capacities_and_says_so():
    parameters, sizes = joint_points(WORKSTATION_CAPACITIES[:2])
    errors = joint_law(parameters, sizes, **JOINT_LAW)
    fit, laws = fit_joint_scaling(parameters, sizes, np.tile(errors, (SEEDS, 1)))
    assert np.isnan(fit["data_exponent"]) and laws == []
    assert fit["status"] == "not fitted: needs 3 capacities and 3 sizes with finite errors; has 2 and 6"
