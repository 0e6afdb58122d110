"""Curve physics: the exact curves score as what they are, and defects are counted."""

import numpy as np
import pytest

from astray.curve_metrics import curve_physics, window_errors
from astray.references import PROBES, coulomb_curve, exact_curve

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
    assert errors["wall"] == 1.0 and errors["well"] == 0.0 and errors["tail"] == 0.0
