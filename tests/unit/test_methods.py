"""Every PySCF method family gives physically sensible labels, with forces exactly where gradients exist."""

import numpy as np
import pytest
from ase import Atoms

from astray.labels.engines import pyscf_engine
from astray.labels.labeling import Level, calculate
from astray.units import HARTREE_TO_EV


def h2(distance):
    return Atoms(
        "H2",
        positions=[(0, 0, 0), (0, 0, distance)],
        info={"geometry_id": f"H2@{distance}", "charge": 0, "multiplicity": 1},
    )


def water():
    return Atoms(
        "OH2",
        positions=[(0, 0, 0.12), (0, 0.76, -0.47), (0, -0.72, -0.49)],
        info={"geometry_id": "H2O", "charge": 0, "multiplicity": 1},
    )


def energy(atoms, method, basis="cc-pvdz", **options):
    return calculate(atoms, Level(method, basis, **options), forces=False)[0]["energy"]


@pytest.mark.parametrize("distance", [0.74, 2.5])
def test_ccsd_is_exact_for_two_electrons(distance):
    """CCSD, CCSD(T) and FCI coincide for two electrons, stretched (UHF reference) or not."""
    fci = energy(h2(distance), "fci")
    assert energy(h2(distance), "ccsd") == pytest.approx(fci, abs=1e-6)
    assert energy(h2(distance), "ccsd(t)") == pytest.approx(fci, abs=1e-6)


def test_correlation_lowers_the_energy_in_the_expected_order():
    hf, mp2, ccsd_t = (energy(water(), method, "6-31g") for method in ("hf", "mp2", "ccsd(t)"))
    correlation = (mp2 - hf) / HARTREE_TO_EV
    assert -0.20 < correlation < -0.05  # MP2 recovers ~0.1-0.2 Eh of water's correlation in 6-31G
    assert ccsd_t < hf and abs(ccsd_t - mp2) / HARTREE_TO_EV < 0.02


def test_mp2_forces_match_finite_differences():
    forces = np.array(calculate(water(), Level("mp2", "6-31g"))[0]["forces"])
    step = 1e-3
    shifted = []
    for sign in (1, -1):
        displaced = water()
        displaced.positions[1, 1] += sign * step
        shifted.append(energy(displaced, "mp2", "6-31g"))
    assert forces[1, 1] == pytest.approx(-(shifted[0] - shifted[1]) / (2 * step), abs=2e-3)


def test_fci_keeps_the_requested_spin_of_an_open_shell():
    oxygen = Atoms("O", info={"charge": 0, "multiplicity": 3, "geometry_id": "O atom"})
    record, _ = calculate(oxygen, Level("fci", "sto-3g"))
    assert record["s2"] == pytest.approx(2.0, abs=1e-6) and record["forces"] is None


def test_d3bj_adds_an_attractive_dispersion_energy():
    dimer = Atoms(
        "He2", positions=[(0, 0, 0), (0, 0, 3.0)], info={"geometry_id": "He2", "charge": 0, "multiplicity": 1}
    )
    plain = energy(dimer, "b3lyp", "def2-svp")
    dispersion = energy(dimer, "b3lyp-d3bj", "def2-svp") - plain
    assert -0.02 < dispersion < 0  # a few meV of attraction near the helium dimer's distance


def test_density_fitting_is_close_to_exact_integrals_but_not_equal():
    exact = energy(water(), "hf", "def2-svp")
    fitted = energy(water(), "hf", "def2-svp", density_fit=True)
    assert 0 < abs(exact - fitted) / HARTREE_TO_EV < 1e-4


@pytest.mark.parametrize(
    "method, density_fit, forces",
    [("hf", False, True), ("pbe", True, True), ("mp2", False, True), ("mp2", True, False),
     ("ccsd", False, True), ("ccsd(t)", False, False), ("fci", False, False)],
)  # fmt: skip
def test_records_say_whether_forces_exist(method, density_fit, forces):
    level = Level(method, "sto-3g", density_fit=density_fit)
    assert pyscf_engine.has_forces(level) is forces
    record, _ = calculate(h2(0.74), level)
    assert (record["forces"] is not None) is forces
