import numpy as np
import pytest

from astray.labels import Level, isolated_atom_energies
from astray.references import PROBES, coulomb_curve, curve, exact_curve, exact_reference_name, fragment_shift
from astray.units import EV_TO_KCAL_PER_MOL, HARTREE_TO_EV

FCI_SVP = Level("fci", "cc-pvdz")


def test_fci_h2_at_6_angstrom_is_two_hydrogen_atoms():
    (energy,) = curve(PROBES["H2"], [6.0], FCI_SVP)
    assert abs(energy) < 1e-3  # eV; the bond is gone and FCI is size-consistent


def test_fci_h2_well_depth_and_position_are_physical():
    distances = np.array([0.6, 0.7, 0.74, 0.78, 0.9])
    energies = exact_curve(PROBES["H2"], distances, "cc-pvtz")
    assert distances[np.argmin(energies)] == 0.74
    well_depth = -energies.min()
    assert 107.0 < well_depth * EV_TO_KCAL_PER_MOL < 109.5  # a finite basis can only underbind
    assert well_depth < PROBES["H2"].limit_well_depth == pytest.approx(109.5 / EV_TO_KCAL_PER_MOL, abs=1e-3)


def test_two_protons_follow_coulomb_exactly():
    distances = np.array([0.1, 0.52917721092, 1.0, 4.0])
    energies = coulomb_curve(distances)
    assert energies[1] == pytest.approx(HARTREE_TO_EV)  # 1 Hartree at 1 Bohr
    assert np.allclose(energies * distances, energies[0] * distances[0])  # E * r is constant
    assert np.array_equal(exact_curve(PROBES["H2_2plus"], distances, "cc-pvdz"), energies)


def test_label_method_on_bare_protons_is_coulomb_through_pyscf():
    assert np.allclose(curve(PROBES["H2_2plus"], [0.5, 1.0, 2.0], Level("hf", "sto-3g")), coulomb_curve([0.5, 1.0, 2.0]))


def test_one_electron_h2_plus_is_bound_by_its_known_well_depth():
    """H2+ dissociates to H + H+; its exact D_e is 2.79 eV at 1.06 Å (one electron: FCI = HF, both exact)."""
    distances = np.array([0.9, 1.0, 1.06, 1.12, 1.2, 6.0])
    exact = exact_curve(PROBES["H2_plus"], distances, "cc-pvtz")
    assert distances[np.argmin(exact)] == 1.06
    assert -exact.min() == pytest.approx(PROBES["H2_plus"].limit_well_depth, abs=0.05)
    assert np.allclose(curve(PROBES["H2_plus"], distances, Level("hf", "cc-pvtz")), exact, atol=1e-8)


def test_fragment_shift_puts_atomization_energies_on_each_probes_scale():
    level = Level("hf", "sto-3g")
    atoms = isolated_atom_energies(["H", "F"], level)
    assert fragment_shift(PROBES["H2"], level, atoms) == pytest.approx(0.0, abs=1e-9)
    assert fragment_shift(PROBES["HF"], level, atoms) == pytest.approx(0.0, abs=1e-9)
    # Two bare protons lie 2 |E(H)| above two H atoms: the shift is twice the H atom's energy.
    assert fragment_shift(PROBES["H2_2plus"], level, atoms) == pytest.approx(2 * atoms["H"])


def test_probes_without_an_affordable_exact_method_say_so():
    assert exact_reference_name(PROBES["LiH"], "cc-pvdz") == "FCI/cc-pvdz"
    assert exact_reference_name(PROBES["N2"], "cc-pvtz") is None
    assert np.isnan(exact_curve(PROBES["N2"], [1.1, 1.2], "cc-pvtz")).all()
