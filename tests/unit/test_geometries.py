import numpy as np
import pytest
from ase.collections import g2

from astray.geometries import (
    BOND_SCALED,
    EQUILIBRIUM,
    bond_scaled_copies,
    bonds,
    build_pool,
    g2_molecules,
    min_interatomic_distance,
    scale_bond,
)

POOL_CONFIG = {
    "elements": ["H", "C", "N", "O", "F"],
    "min_atoms": 2,
    "max_atoms": 4,
    "molecules": [],
    "include_probe": False,
    "bond_scaling": {"factors": [0.85, 1.5]},
    "min_distance": 0.5,
}


def test_filter_keeps_only_allowed_elements_and_sizes():
    molecules = g2_molecules(["H", "C", "O"], min_atoms=2, max_atoms=4)
    assert molecules
    for atoms in molecules:
        assert set(atoms.get_chemical_symbols()) <= {"H", "C", "O"}
        assert 2 <= len(atoms) <= 4


def test_probe_h2_is_left_out_unless_asked_for():
    names = {a.info["molecule"] for a in g2_molecules(["H"], max_atoms=2)}
    assert "H2" not in names
    names = {a.info["molecule"] for a in g2_molecules(["H"], max_atoms=2, include_probe=True)}
    assert names == {"H2"}


def test_radicals_carry_their_ground_state_multiplicity():
    by_name = {a.info["molecule"]: a for a in g2_molecules(["H", "C", "N", "O"], names=["CH3", "O2", "H2O"])}
    assert by_name["CH3"].info["multiplicity"] == 2
    assert by_name["O2"].info["multiplicity"] == 3
    assert by_name["H2O"].info["multiplicity"] == 1


def test_unknown_molecule_name_is_a_clear_error():
    with pytest.raises(ValueError, match="geometries.molecules: 'H2Oo'"):
        g2_molecules(["H", "O"], names=["H2Oo"])


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
    water = g2_molecules(["H", "O"], names=["H2O"])[0]
    copies = bond_scaled_copies(water, [0.2, 1.0], min_distance=0.5)
    assert all(min_interatomic_distance(c) >= 0.5 for c in copies)
    assert len(copies) == len(bonds(water))  # only the factor-1.0 copies survive


def test_pool_is_deterministic_and_records_origin():
    first, second = build_pool(POOL_CONFIG), build_pool(POOL_CONFIG)
    assert [a.info["geometry_id"] for a in first] == [a.info["geometry_id"] for a in second]
    assert len({a.info["geometry_id"] for a in first}) == len(first)
    assert {a.info["origin"] for a in first} == {EQUILIBRIUM, BOND_SCALED}
    assert not any(sorted(a.get_chemical_symbols()) == ["H", "H"] for a in first)
