"""Exact references: the H2 curve reproduces Pachucki's Born-Oppenheimer energies and their minimum, the
H2+ solver reproduces the literature's exact energies, and each curve's D_e and r_e come from the curve."""

import numpy as np
import pytest

from astray.evaluation.exact_curves import (
    H2_BORN_OPPENHEIMER,
    born_oppenheimer_interpolant,
    curve_minimum,
    h2_curve,
    h2_plus_curve,
    h2_plus_electronic_energy,
)
from astray.units import ANGSTROM_TO_BOHR, HARTREE_TO_EV

BOHR = 1 / ANGSTROM_TO_BOHR


def test_h2_curve_passes_through_every_tabulated_energy():
    r, energy = H2_BORN_OPPENHEIMER.T
    np.testing.assert_allclose(h2_curve(r * BOHR), (energy + 1) * HARTREE_TO_EV, rtol=0, atol=1e-12)


def test_h2_interpolation_between_table_points_is_far_below_any_model_error():
    """Half the table predicts the other half to 2e-5 hartree (0.5 meV); the whole table, with half the
    spacing, errs about 16 times less."""
    r, energy = H2_BORN_OPPENHEIMER.T
    kept = np.ones(len(r), bool)
    kept[1:-1:2] = False
    half_table = born_oppenheimer_interpolant(H2_BORN_OPPENHEIMER[kept])  # the interpolation h2_curve uses
    left_out = ~kept & (r >= 0.5) & (r <= 12)
    error = np.abs(half_table(r[left_out]) - energy[left_out])
    assert error.max() < 3e-5


def test_h2_minimum_is_pachuckis():
    """Pachucki (2010): E(1.4011 bohr) = -1.1744759314002 hartree; Kolos & Wolniewicz (1964): D_e 38292.7
    cm^-1 from a less complete wave function."""
    r_e, d_e = curve_minimum(h2_curve)
    assert r_e * ANGSTROM_TO_BOHR == pytest.approx(1.4011, abs=5e-5)
    assert -d_e / HARTREE_TO_EV - 1 == pytest.approx(-1.1744759314002, abs=1e-9)
    assert d_e / HARTREE_TO_EV * 219474.6313632 == pytest.approx(38292.7, abs=0.5)


def test_h2_dissociates_to_two_atoms_with_the_dispersion_tail():
    far = h2_curve([15.0, 30.0])
    assert -1e-4 < far[0] < 0 and -1e-6 < far[1] < 0  # -C6/R^6 attraction, vanishing
    assert np.isnan(h2_curve([0.04]))[0]  # below the table: no made-up number


@pytest.mark.parametrize(
    "bohr, electronic, digits",
    [
        (2.0, -1.1026342144949, 13),  # Madsen & Peek (1971); Wind (1965)
        (10.0, -0.600578728943926, 15),  # Fernandez & Garcia (2021)
        (0.1, -1.978242071, 9),  # the same table, toward He+'s -2 hartree
    ],
)
def test_h2_plus_solver_reproduces_the_exact_energies(bohr, electronic, digits):
    assert h2_plus_electronic_energy(bohr) == pytest.approx(electronic, abs=max(0.5 * 10.0**-digits, 2e-13))


def test_h2_plus_minimum_is_the_literatures():
    """R_e = 1.99719332 bohr, E = -0.60263461910654 hartree (Fernandez & Garcia 2021, Riccati-Pade)."""
    r_e, d_e = curve_minimum(h2_plus_curve, (0.8, 1.3))
    assert r_e * ANGSTROM_TO_BOHR == pytest.approx(1.99719332, abs=3e-7)
    assert -d_e / HARTREE_TO_EV - 0.5 == pytest.approx(-0.60263461910654, abs=1e-12)
