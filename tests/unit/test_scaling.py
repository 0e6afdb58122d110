"""Scaling fits recover known laws, report their uncertainty, and refuse what cannot be fitted."""

import numpy as np
import pytest

from astray.scaling import fit_power_law, power_law


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
