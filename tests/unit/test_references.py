import numpy as np
import pytest

from astray.labels import Level, isolated_atom_energies
from astray.references import PROBES, coulomb_curve, exact_curve, h2_fci_curve, label_method_curve
from astray.units import EV_TO_KCAL_PER_MOL, HARTREE_TO_EV


def test_fci_h2_at_5_angstrom_is_two_hydrogen_atoms():
    (energy,) = h2_fci_curve([5.0], "cc-pvdz")
    assert abs(energy) < 1e-3  # eV; the bond is gone and FCI is size-consistent


def test_fci_h2_well_depth_and_position_are_physical():
    distances = np.array([0.6, 0.7, 0.74, 0.78, 0.9])
    curve = h2_fci_curve(distances, "cc-pvtz")
    assert distances[np.argmin(curve)] == 0.74
    well_depth = -curve.min() * EV_TO_KCAL_PER_MOL
    assert 107.0 < well_depth < 109.5  # exact: 109.5 kcal/mol; a finite basis can only underbind


def test_two_protons_follow_coulomb_exactly():
    distances = np.array([0.1, 0.52917721092, 1.0, 4.0])
    curve = coulomb_curve(distances)
    assert curve[1] == pytest.approx(HARTREE_TO_EV)  # 1 Hartree at 1 Bohr
    assert np.allclose(curve * distances, curve[0] * distances[0])  # E * r is constant
    assert np.array_equal(exact_curve(PROBES["H2_2plus"], distances, "cc-pvdz"), curve)


def test_label_method_on_bare_protons_is_coulomb_through_pyscf():
    level = Level("hf", "sto-3g")
    atoms = isolated_atom_energies(["H"], level)
    distances = [0.5, 1.0, 2.0]
    assert np.allclose(label_method_curve(PROBES["H2_2plus"], distances, level, atoms), coulomb_curve(distances))
