"""Scaling fits recover known laws, report their uncertainty, and refuse what cannot be fitted."""

import numpy as np
import pytest

from astray.scaling import bootstrap_exponent, fit_joint_law, fit_power_law, joint_law, power_law


def test_a_power_law_with_floor_is_recovered_from_noisy_seeds():
    rng = np.random.default_rng(0)
    sizes = np.repeat([10, 30, 100, 300, 1000, 3000], 3)  # three seeds per size
    errors = power_law(sizes, 5.0, 0.6, 0.05) * rng.normal(1.0, 0.03, sizes.size)
    fit = fit_power_law(sizes, errors)
    assert fit["exponent"] == pytest.approx(0.6, abs=3 * fit["exponent_stderr"])
    assert 0 < fit["exponent_stderr"] < 0.1
    assert fit["floor"] == pytest.approx(0.05, abs=0.02) and fit["points"] == 18


def test_three_sizes_fit_a_plain_power_law():
    fit = fit_power_law([7, 14, 28], power_law(np.array([7, 14, 28]), 2.0, 0.5))
    assert fit["exponent"] == pytest.approx(0.5) and fit["floor"] == 0.0


def test_error_that_grows_with_data_has_a_negative_exponent():
    """Not learning is a result too: the fit reports it rather than clipping it to zero."""
    fit = fit_power_law([7, 14, 28], [1.0, 1.3, 1.7])
    assert fit["exponent"] < 0


def test_missing_runs_are_skipped_and_too_few_points_give_nan():
    fit = fit_power_law([7, 14, 28, 56], [1.0, np.nan, 0.5, np.nan])
    assert fit["points"] == 2 and np.isnan(fit["exponent"])


def test_bootstrap_over_seeds_holds_the_fit_and_widens_with_the_spread_of_seeds():
    rng = np.random.default_rng(1)
    sizes = np.array([16, 32, 64, 128, 256])

    def seeds(noise):
        return np.array([power_law(sizes, 3.0, 0.5) * rng.normal(1.0, noise, sizes.size) for _ in range(5)])

    assert bootstrap_exponent(sizes, seeds(0.0)) == pytest.approx((0.5, 0.5), abs=1e-6)
    intervals = {}
    for noise in (0.02, 0.2):
        runs = seeds(noise)
        low, high = intervals[noise] = bootstrap_exponent(sizes, runs)
        fitted = fit_power_law(np.broadcast_to(sizes, runs.shape).ravel(), runs.ravel())["exponent"]
        assert low < fitted < high
    assert np.diff(intervals[0.02]) < np.diff(intervals[0.2])
    assert np.isnan(bootstrap_exponent(sizes, seeds(0.02)[:1])).all()  # one seed: no spread to resample


def test_the_bootstrap_is_reproducible():
    runs = np.array([[1.0, 0.7, 0.5, 0.36], [1.1, 0.72, 0.52, 0.35], [0.9, 0.69, 0.49, 0.37]])
    assert bootstrap_exponent([10, 20, 40, 80], runs) == bootstrap_exponent([10, 20, 40, 80], runs)


def joint_grid(capacities, sizes, seeds=3):
    parameters, data = np.meshgrid(np.asarray(capacities, float), np.asarray(sizes, float), indexing="ij")
    return np.repeat(parameters.ravel(), seeds), np.repeat(data.ravel(), seeds)


def test_the_joint_law_recovers_both_exponents_from_noisy_seeds():
    rng = np.random.default_rng(0)
    parameters, sizes = joint_grid([1e4, 4e4, 1.6e5, 6.4e5], [32, 64, 128, 256, 512, 1024])
    errors = joint_law((parameters, sizes), 0.05, 30.0, 0.4, 8.0, 0.6) * rng.normal(1.0, 0.02, sizes.size)
    fit, status = fit_joint_law(parameters, sizes, errors)
    assert status == "fitted" and fit["points"] == sizes.size
    assert fit["data_exponent"] == pytest.approx(0.6, abs=3 * fit["data_exponent_stderr"])
    assert fit["capacity_exponent"] == pytest.approx(0.4, abs=3 * fit["capacity_exponent_stderr"])
    assert fit["data_exponent_stderr"] < 0.1


def test_the_joint_law_needs_three_capacities_and_says_so():
    parameters, sizes = joint_grid([1e4, 4e4], [32, 64, 128, 256])
    fit, status = fit_joint_law(parameters, sizes, joint_law((parameters, sizes), 0.05, 30.0, 0.4, 8.0, 0.6))
    assert np.isnan(fit["data_exponent"]) and np.isnan(fit["capacity_exponent"])
    assert status == "needs at least 3 capacities and 3 sizes with finite errors; has 2 and 4"


def test_errors_that_fall_then_rise_get_the_log_log_trend_not_an_exponent_at_its_bound():
    """H2 error of a model that gets worse at its largest size: a floor would fit it only with b = -5."""
    sizes = np.repeat([32, 64, 128, 256, 512], 3)
    errors = np.repeat([2.21, 2.12, 1.99, 2.05, 2.56], 3)
    fit = fit_power_law(sizes, errors)
    slope = np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    # The plain power law, fitted to the errors themselves, follows the log-log line's rising trend.
    assert fit["floor"] == 0.0 and fit["exponent"] == pytest.approx(-slope, abs=0.01)
    assert -0.1 < fit["exponent"] < 0 and 0 < fit["exponent_stderr"] < 0.05


def test_a_floor_the_data_do_not_need_is_not_fitted():
    """A pure power law over 1.2 decades with 5% scatter: a floor would only trade off against the exponent
    (its standard error triples); the information criterion keeps the plain law and its tight exponent."""
    rng = np.random.default_rng(1)
    sizes = np.repeat([32, 64, 128, 256, 512], 3)
    errors = power_law(sizes, 7.0, 0.55) * rng.normal(1.0, 0.05, sizes.size)
    fit = fit_power_law(sizes, errors)
    assert fit["floor"] == 0.0
    assert fit["exponent"] == pytest.approx(0.55, abs=3 * fit["exponent_stderr"]) and fit["exponent_stderr"] < 0.05
