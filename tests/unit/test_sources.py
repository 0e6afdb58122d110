"""Sources of molecules: ASE collections, the user's xyz/extxyz/QM9 files, the ion catalogue and scans."""

from pathlib import Path

import pytest
from ase import Atoms
from ase.io import write

from astray.geometries.sources import (
    IONS,
    GeometrySourceError,
    collection_molecules,
    file_molecules,
    ion_molecules,
    parse_qm9,
    scan_geometries,
)

QM9 = Path(__file__).resolve().parents[1] / "data" / "qm9"


def test_g2_radicals_carry_their_ground_state_multiplicity():
    by_name = {a.info["molecule"]: a for a in collection_molecules("g2", ["CH3", "O2", "H2O"])}
    assert [by_name[name].info["multiplicity"] for name in ("CH3", "O2", "H2O")] == [2, 3, 1]
    assert {a.info["source"] for a in by_name.values()} == {"ase:g2"}


def test_unknown_collection_name_is_a_clear_error():
    with pytest.raises(GeometrySourceError, match=r"geometries.sources.ase.names: \['H2Oo'\]"):
        collection_molecules("g2", ["H2Oo"])


def test_qm9_files_are_read_as_the_download_ships_them():
    molecules = file_molecules([str(QM9)])
    assert [a.info["molecule"] for a in molecules] == ["gdb_1", "gdb_2", "gdb_3"]
    assert [a.get_chemical_formula() for a in molecules] == ["CH4", "H3N", "H2O"]
    water = molecules[2]
    assert water.get_distance(0, 1) == pytest.approx(0.9617, abs=1e-3)  # Å, an O-H bond
    assert water.info["smiles"] == "O" and water.info["qm9_index"] == 3
    assert all(a.info["charge"] == 0 and a.info["multiplicity"] == 1 for a in molecules)


def test_qm9_numbers_in_mathematicas_exponent_notation_are_read():
    """QM9 writes small coordinates as `2.1997*^-6` (molecule 212 is the first such file)."""
    text = (QM9 / "dsgdb9nsd_000001.xyz").read_text().replace("-0.0126981359", "2.1997*^-6")
    assert parse_qm9(text, "methane.xyz").positions[0, 0] == pytest.approx(2.1997e-6)


def test_max_molecules_takes_the_first_in_path_order():
    assert [a.info["molecule"] for a in file_molecules([str(QM9 / "*.xyz")], max_molecules=2)] == ["gdb_1", "gdb_2"]


def test_extxyz_frames_keep_their_charge_spin_and_names(tmp_path):
    cation = Atoms("OH3", positions=[(0, 0, 0), (0.93, 0, -0.29), (-0.47, 0.81, -0.29), (-0.47, -0.81, -0.29)])
    cation.info.update(charge=1, multiplicity=1, molecule="hydronium")
    radical = Atoms("OH", positions=[(0, 0, 0), (0, 0, 0.97)])
    write(tmp_path / "mixed.extxyz", [cation, radical], format="extxyz")
    first, second = file_molecules([str(tmp_path / "mixed.extxyz")])
    assert (first.info["molecule"], first.info["charge"], first.info["multiplicity"]) == ("hydronium", 1, 1)
    # No spin given: the lowest the electron count allows (9 electrons: a doublet).
    assert (second.info["molecule"], second.info["charge"], second.info["multiplicity"]) == ("mixed_1", 0, 2)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        ("3\ncomment\nO 0 0 0\nH 0 0 1\n", "not valid xyz/extxyz"),  # truncated: two of three atoms
        ("2\ncomment\nO 0 0 nan\nH 0 0 1\n", "NaN or infinite"),
        # A dummy atom, and unknown symbols, are no element: refused by name, not filtered away unnamed.
        ("3\ncomment\nO 0 0 0\nH 0 0 1\nX 0 1 0\n", "atom 2 is 'X', a dummy atom"),
        ("2\ncomment\nO 0 0 0\nQq 0 0 1\n", "not valid xyz/extxyz"),
        # A coordinate far outside the molecule (here 1.0e5 Å), not a molecule with a stray atom.
        ("3\ncomment\nO 0 0 0\nH 0 0 0.96\nH 0 100000.0 0\n", "atom 2 \\(H\\) is 1e\\+05 Å from every other atom"),
        ("3\ngdb 7\t1\t2\nC 0 0 0 0\nH 0 0 1 0\n", "not a valid QM9 file"),
    ],
)
def test_bad_files_are_named_with_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.xyz"
    path.write_text(content)
    with pytest.raises(GeometrySourceError, match=f"{path}.*{message}"):
        file_molecules([str(path)])


def test_a_pattern_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(GeometrySourceError, match="matches no xyz"):
        file_molecules([str(tmp_path / "missing" / "*.xyz")])


def test_catalogue_ions_have_their_charge_and_a_closed_shell_when_possible():
    ions = {a.info["molecule"]: a for a in ion_molecules(list(IONS))}
    assert ions["H3O+"].info["charge"] == 1 and ions["OH-"].info["charge"] == -1
    assert ions["H2+"].info["multiplicity"] == 2  # one electron
    assert all(a.info["multiplicity"] == 1 for name, a in ions.items() if name != "H2+")
    assert ions["NH4+"].get_distance(0, 1) == pytest.approx(1.021, abs=1e-3)
    assert ions["H3+"].get_distance(0, 1) == pytest.approx(ions["H3+"].get_distance(1, 2), abs=1e-3)
    with pytest.raises(GeometrySourceError, match="unknown \\['H5\\+'\\]"):
        ion_molecules(["H5+"])


def test_diatomic_scan_sets_the_bond_to_each_distance():
    points = scan_geometries({"species": "LiH", "distances": [3.0, 1.6, 2.0]})
    assert [p.get_distance(0, 1) for p in points] == pytest.approx([1.6, 2.0, 3.0])
    assert {p.info["origin"] for p in points} == {"scan"} and {p.info["molecule"] for p in points} == {"LiH"}


def test_bond_scan_of_a_molecule_keeps_the_rest_of_it():
    points = scan_geometries({"species": "H2O", "bond": [0, 1], "distances": [0.8, 1.5]})
    for point, distance in zip(points, (0.8, 1.5)):
        assert point.get_distance(0, 1) == pytest.approx(distance)
        assert point.get_distance(0, 2) == pytest.approx(points[0].get_distance(0, 2))


def test_scan_of_a_charged_species_uses_its_charge():
    [point] = scan_geometries({"species": "HeH+", "distances": [1.0]})
    assert point.info["charge"] == 1 and point.info["multiplicity"] == 1
    with pytest.raises(GeometrySourceError, match="'Xyz' is not"):
        scan_geometries({"species": "Xyz", "distances": [1.0]})
