"""Distortions: bond scaling, rattling and normal-mode sampling, checked against geometry and statistics."""

import numpy as np
import pytest
from ase import units
from ase.collections import g2

from astray.bonding import bonds
from astray.geometries.distortions import (
    bond_scaled_copies,
    harmonic_hessian,
    min_interatomic_distance,
    normal_mode_copies,
    rattled_copies,
    scale_bond,
    vibrational_modes,
)
from astray.geometries.sources import collection_molecules


def molecule(name):
    return collection_molecules("g2", [name])[0]


def _bond_lengths(atoms):
    return {pair: atoms.get_distance(*pair) for pair in bonds(atoms)}


@pytest.mark.parametrize("factor", [0.8, 1.3, 1.7])
def test_scaling_an_acyclic_bond_changes_that_bond_only(factor):
    ethanol = g2["CH3CH2OH"]
    original = _bond_lengths(ethanol)
    symbols = ethanol.get_chemical_symbols()
    carbon_oxygen = next(p for p in original if {symbols[p[0]], symbols[p[1]]} == {"C", "O"})
    scaled = scale_bond(ethanol, *carbon_oxygen, factor)
    assert scaled.get_distance(*carbon_oxygen) == pytest.approx(factor * original[carbon_oxygen])
    for pair, length in original.items():
        if pair != carbon_oxygen:
            assert scaled.get_distance(*pair) == pytest.approx(length)


def test_scaling_a_ring_bond_moves_one_atom():
    ring = g2["C3H6_D3h"]
    carbons = [i for i, s in enumerate(ring.symbols) if s == "C"]
    i, j = carbons[0], carbons[1]
    scaled = scale_bond(ring, i, j, 1.2)
    assert scaled.get_distance(i, j) == pytest.approx(1.2 * ring.get_distance(i, j))
    moved = np.flatnonzero(np.abs(scaled.positions - ring.positions).sum(axis=1) > 1e-12)
    assert len(moved) == 1


def test_copies_closer_than_min_distance_are_dropped():
    water = molecule("H2O")
    copies = bond_scaled_copies(water, [0.2, 1.0], min_distance=0.5)
    assert all(min_interatomic_distance(c) >= 0.5 for c in copies)
    assert len(copies) == len(bonds(water))  # only the factor-1.0 copies survive


def test_element_pairs_restrict_which_bonds_are_scaled():
    methanol = molecule("CH3OH")  # one O-H bond among five
    [copy] = bond_scaled_copies(methanol, [1.3], 0.5, element_pairs=[["H", "O"]])
    i, j = (int(atom[1:]) for atom in copy.info["bond"].split("-"))
    assert {methanol[i].symbol, methanol[j].symbol} == {"O", "H"}
    assert copy.get_distance(i, j) == pytest.approx(1.3 * methanol.get_distance(i, j))


def test_rattling_has_the_requested_spread_and_is_reproducible():
    water = molecule("H2O")
    copies = rattled_copies(water, 400, sigma=0.05, seed=3, min_distance=0.5)
    displacements = np.array([c.positions - water.positions for c in copies])
    assert displacements.std() == pytest.approx(0.05, rel=0.05)
    again = rattled_copies(water, 400, sigma=0.05, seed=3, min_distance=0.5)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(copies, again))
    assert {c.info["origin"] for c in copies} == {"rattled"} and copies[7].info["geometry_id"] == "H2O:rattle7"


def test_rattling_that_always_collides_says_what_to_change():
    with pytest.raises(ValueError, match="lower sigma or temperature"):
        rattled_copies(molecule("H2O"), 1, sigma=0.05, seed=0, min_distance=5.0)


@pytest.mark.parametrize("name, vibrations", [("H2O", 3), ("CO2", 4), ("CH4", 9)])
def test_vibrations_exclude_translations_and_rotations(name, vibrations):
    atoms = molecule(name)
    wavenumbers, _ = vibrational_modes(atoms, harmonic_hessian(atoms))
    assert len(wavenumbers) == vibrations  # 3N-6, or 3N-5 for linear CO2
    assert wavenumbers.min() > 400 and wavenumbers.max() < 5000  # cm^-1: real molecular vibrations


def test_normal_mode_samples_obey_equipartition_and_do_not_move_the_centre_of_mass():
    """Each vibration holds k_B T / 2 of harmonic potential energy on average, and nothing else moves."""
    water, temperature = molecule("H2O"), 500.0
    hessian = harmonic_hessian(water)
    samples = normal_mode_copies(water, hessian, 3000, temperature, seed=0, min_distance=0.3)
    displacements = np.array([(s.positions - water.positions).ravel() for s in samples])
    potential = 0.5 * np.einsum("si,ij,sj->s", displacements, hessian, displacements)
    assert potential.mean() == pytest.approx(3 * units.kB * temperature / 2, rel=0.05)
    masses = water.get_masses()
    centre_shift = (displacements.reshape(len(samples), -1, 3) * masses[None, :, None]).sum(axis=1) / masses.sum()
    assert np.abs(centre_shift).max() < 1e-10


def test_normal_mode_placeholders_have_the_ids_of_the_real_draws():
    water = molecule("H2O")
    planned = normal_mode_copies(water, None, 3, 500.0, seed=0, min_distance=0.5)
    drawn = normal_mode_copies(water, harmonic_hessian(water), 3, 500.0, seed=0, min_distance=0.5)
    assert [a.info["geometry_id"] for a in planned] == [a.info["geometry_id"] for a in drawn]
    assert all(np.array_equal(a.positions, water.positions) for a in planned)
