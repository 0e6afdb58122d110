import numpy as np
import pytest

from astray.evaluation.probes import (
    PROBES,
    coulomb_curve,
    curve,
    exact_curve,
    exact_reference_name,
    fci_curve,
    fci_reference_name,
    fragment_shift,
    probe_references,
)
from astray.labels.labeling import Level, isolated_atom_energies
from astray.units import EV_TO_KCAL_PER_MOL, HARTREE_TO_EV

FCI_SVP = Level("fci", "cc-pvdz")


def test_fci_h2_at_6_angstrom_is_two_hydrogen_atoms():
    (energy,) = curve(PROBES["H2"], [6.0], FCI_SVP)
    assert abs(energy) < 1e-3  # eV; the bond is gone and FCI is size-consistent


def test_fci_h2_well_depth_and_position_are_physical():
    distances = np.array([0.6, 0.7, 0.74, 0.78, 0.9])
    energies = fci_curve(PROBES["H2"], distances, "cc-pvtz")
    assert distances[np.argmin(energies)] == 0.74
    well_depth = -energies.min()
    assert 107.0 < well_depth * EV_TO_KCAL_PER_MOL < 109.5  # a finite basis can only underbind
    assert np.all(energies > exact_curve(PROBES["H2"], distances))  # FCI in a basis is variational


def test_every_reference_minimum_comes_from_its_curve_not_the_grid():
    """On a grid with points at 0.70 and 0.80 Å only, r_e still comes out to 1e-5 Å: exact 0.74142 Å and
    D_e 4.74773 eV (Pachucki), FCI/cc-pVDZ longer and shallower, RHF/STO-3G at 1.346 bohr (Szabo &
    Ostlund's 0.712 Å)."""
    distances = [0.5, 0.7, 0.8, 1.2, 3.0]
    curves, minima = probe_references(PROBES["H2"], distances, Level("hf", "sto-3g"), "cc-pvdz")
    assert minima["exact"] == pytest.approx((0.741421, 4.747732), abs=2e-6)
    (fci_r, fci_d), (hf_r, _) = minima["fci"], minima["label_method"]
    assert 0.741421 < fci_r < 0.77 and 4.4 < fci_d < 4.747732
    assert hf_r == pytest.approx(0.7123, abs=5e-4)
    # The minimum lies on the curve: the method's energy there is -D_e.
    assert curve(PROBES["H2"], [fci_r], Level("fci", "cc-pvdz"))[0] == pytest.approx(-fci_d, abs=1e-9)
    assert set(curves) == {"exact", "fci", "label_method"}
    _, unbound = probe_references(PROBES["H2_2plus"], distances, Level("hf", "sto-3g"), "cc-pvdz")
    assert all(np.isnan(value).all() for value in unbound.values())


def test_two_protons_follow_coulomb_exactly():
    distances = np.array([0.1, 0.52917721092, 1.0, 4.0])
    energies = coulomb_curve(distances)
    assert energies[1] == pytest.approx(HARTREE_TO_EV)  # 1 Hartree at 1 Bohr
    assert np.allclose(energies * distances, energies[0] * distances[0])  # E * r is constant
    assert np.array_equal(exact_curve(PROBES["H2_2plus"], distances), energies)
    assert np.array_equal(fci_curve(PROBES["H2_2plus"], distances, "cc-pvdz"), energies)


def test_label_method_on_bare_protons_is_coulomb_through_pyscf():
    assert np.allclose(
        curve(PROBES["H2_2plus"], [0.5, 1.0, 2.0], Level("hf", "sto-3g")), coulomb_curve([0.5, 1.0, 2.0])
    )


def test_one_electron_h2_plus_is_bound_by_its_known_well_depth():
    """H2+ dissociates to H + H+; its exact D_e is 2.79 eV at 1.06 Å. One electron: FCI = HF in any basis,
    and cc-pVTZ comes within 0.01 eV of the exact curve."""
    distances = np.array([0.9, 1.0, 1.06, 1.12, 1.2, 6.0])
    exact = exact_curve(PROBES["H2_plus"], distances)
    assert distances[np.argmin(exact)] == 1.06
    assert -exact.min() == pytest.approx(PROBES["H2_plus"].limit_well_depth, abs=0.005)
    fci = fci_curve(PROBES["H2_plus"], distances, "cc-pvtz")
    assert np.allclose(curve(PROBES["H2_plus"], distances, Level("hf", "cc-pvtz")), fci, atol=1e-8)
    assert np.all(fci > exact) and np.allclose(fci, exact, atol=0.01)


def test_fragment_shift_puts_atomization_energies_on_each_probes_scale():
    level = Level("hf", "sto-3g")
    atoms = isolated_atom_energies(["H", "F"], level)
    assert fragment_shift(PROBES["H2"], level, atoms) == pytest.approx(0.0, abs=1e-9)
    assert fragment_shift(PROBES["HF"], level, atoms) == pytest.approx(0.0, abs=1e-9)
    # Two bare protons lie 2 |E(H)| above two H atoms: the shift is twice the H atom's energy.
    assert fragment_shift(PROBES["H2_2plus"], level, atoms) == pytest.approx(2 * atoms["H"])


def test_probes_without_an_exact_curve_or_an_affordable_fci_say_so():
    assert exact_reference_name(PROBES["H2"]) == "Born-Oppenheimer, Pachucki 2010"
    assert exact_reference_name(PROBES["LiH"]) is None
    assert np.isnan(exact_curve(PROBES["LiH"], [1.5, 1.6])).all()
    assert fci_reference_name(PROBES["LiH"], "cc-pvdz") == "FCI/cc-pvdz"
    assert fci_reference_name(PROBES["N2"], "cc-pvtz") is None
    assert np.isnan(fci_curve(PROBES["N2"], [1.1, 1.2], "cc-pvtz")).all()
