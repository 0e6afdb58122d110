"""Curve physics: the exact curves score as what they are, and defects are counted."""

import numpy as np
import pytest

from astray.evaluation.curve_metrics import WINDOWS, curve_physics, distance_average, window_errors
from astray.evaluation.probes import PROBES, coulomb_curve, exact_curve

GRID = np.array([0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.74, 0.8, 0.85, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0,
                 2.5, 3.0, 3.5, 4.0, 5.0, 6.0])  # fmt: skip


def morse(r, depth=4.75, r_e=0.741, a=1.94):
    return depth * ((1 - np.exp(-a * (r - r_e))) ** 2 - 1)


def test_exact_h2_has_one_minimum_one_force_flip_and_a_monotonic_wall():
    physics = curve_physics(GRID, exact_curve(PROBES["H2"], GRID))
    assert physics["n_minima"] == PROBES["H2"].expected_minima == 1
    assert physics["force_flips"] == PROBES["H2"].expected_force_flips == 1
    assert physics["repulsion_spearman"] == pytest.approx(-1.0) and physics["tortuosity"] == pytest.approx(1.0)
    # On a grid, r_e only to the parabola through three points; the true one is 0.741421 Å.
    assert physics["equilibrium_distance"] == pytest.approx(0.7414, abs=0.01)
    assert 4.74 < physics["well_depth"] < 4.747733  # eV: the lowest grid point lies above the exact minimum


def test_a_perfect_coulomb_curve_is_scored_as_perfect():
    """Benchmarks that expect one minimum and one flip of every diatomic mis-score exactly this curve."""
    physics = curve_physics(GRID, coulomb_curve(GRID))
    assert physics["n_minima"] == PROBES["H2_2plus"].expected_minima == 0
    assert physics["force_flips"] == PROBES["H2_2plus"].expected_force_flips == 0
    assert physics["repulsion_spearman"] == pytest.approx(-1.0) and physics["tortuosity"] == pytest.approx(1.0)
    assert np.isnan(physics["well_depth"]) and np.isnan(physics["equilibrium_distance"])


def test_a_spurious_second_well_is_counted():
    energies = morse(GRID) - np.exp(-(((GRID - 3.5) / 0.4) ** 2))  # a 1 eV artefact well at 3.5 Å
    physics = curve_physics(GRID, energies)
    assert physics["n_minima"] == 2 and physics["force_flips"] == 3 and physics["tortuosity"] > 1.1


def test_wiggles_below_the_floor_are_not_physics():
    rng = np.random.default_rng(0)
    physics = curve_physics(GRID, coulomb_curve(GRID) + rng.uniform(-1e-4, 1e-4, GRID.size))
    assert physics["n_minima"] == 0


def test_parabola_refines_the_minimum_between_grid_points():
    physics = curve_physics(GRID, morse(GRID, r_e=0.72))
    assert physics["equilibrium_distance"] == pytest.approx(0.72, abs=0.01)
    assert physics["well_depth"] == pytest.approx(4.75, abs=0.02)


def test_window_errors_split_the_curve_by_the_length_scale():
    predicted, reference = np.zeros(GRID.size), np.where(GRID < 0.85 * 0.741, 1.0, 0.0)
    errors = window_errors(GRID, predicted, reference, length_scale=0.741)
    # The error falls from 1 to 0 between the wall's last point (0.6 Å) and the well's first (0.65 Å).
    assert 0.9 < errors["wall"] < 1.0 and 0.0 < errors["well"] < 0.01
    assert errors["breaking"] == 0.0 and errors["tail"] == 0.0
    assert window_errors(GRID, predicted + 0.3, predicted, 0.741) == pytest.approx(dict.fromkeys(WINDOWS, 0.3))


def test_errors_are_averaged_over_distance_not_over_grid_points():
    """The grid is dense around H2's minimum: an error only beyond 2 Å covers 4 of its 5.7 Å but 6 of its 24
    points. Averaged over distance it weighs what it covers."""
    error = np.where(GRID > 2.0, 1.0, 0.0)
    assert np.mean(error) == pytest.approx(6 / 24)
    # Trapezoid: 0 up to 2 Å, rising to 1 between 2.0 and 2.5 Å, 1 from 2.5 to 6 Å.
    assert distance_average(GRID, error) == pytest.approx((0.25 + 3.5) / 5.7)


def test_the_windows_cover_the_grid_and_their_span_weighted_mean_is_the_whole_curves():
    error = np.abs(morse(GRID) - exact_curve(PROBES["H2"], GRID))
    scale = 0.741
    windows = window_errors(GRID, error, 0.0, scale)
    spans = [min(high * scale, GRID[-1]) - max(low * scale, GRID[0]) for low, high in WINDOWS.values()]
    assert sum(spans) == pytest.approx(GRID[-1] - GRID[0])  # contiguous: every distance in one window
    assert np.dot(list(windows.values()), spans) / sum(spans) == pytest.approx(distance_average(GRID, error))
    # H2 breaks between 1.5 and 3 r_e: 1.11-2.22 Å.
    assert (WINDOWS["breaking"][0] * scale, WINDOWS["breaking"][1] * scale) == pytest.approx((1.11, 2.22), abs=0.01)


def test_a_window_without_grid_points_has_no_error():
    errors = window_errors([0.4, 0.74, 1.0], np.ones(3), np.zeros(3), length_scale=0.741)
    assert np.isnan(errors["tail"]) and np.isnan(errors["breaking"]) and errors["well"] == 1.0
