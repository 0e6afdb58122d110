"""The generated chemical space: complete and duplicate-free enumeration, filters that remove what they
say, deterministic embedding at force-field minima, stable ids, and errors that name the config key."""

import itertools
import json

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdForceFieldHelpers

from astray.config_schema import with_defaults
from astray.geometries.chemical_space import (
    FILTERS,
    VALENCES,
    ChemicalSpaceError,
    SpaceSpec,
    build_space,
    cached_space,
    connectivity_key,
    enumerate_graphs,
    perceived_edges,
    space_molecules,
    stable_molecules,
)

NO_FILTERS = {name: False for name in FILTERS}
GEOMETRIES = {"elements": ["H", "C", "N", "O", "F"], "min_atoms": 1, "max_atoms": 30}


CHEMICAL_SPACE_SCHEMA = "properties/geometries/properties/sources/properties/chemical_space"


def space_source(**changes):
    """A chemical_space source of up to 3 heavy atoms, every other key at the schema's default."""
    return with_defaults({"max_heavy_atoms": 3, **changes}, CHEMICAL_SPACE_SCHEMA)


def spec(geometries=GEOMETRIES, **changes) -> SpaceSpec:
    return SpaceSpec.from_config(space_source(**changes), geometries)


def canonical_smiles(graphs) -> set[str]:
    return {Chem.MolToSmiles(Chem.MolFromSmiles(Chem.MolToSmiles(_sanitized(g)))) for g in graphs}


def _sanitized(graph):
    from astray.geometries.chemical_space import _rdkit_molecule

    molecule = _rdkit_molecule(graph).GetMol()
    Chem.SanitizeMol(molecule)
    return molecule


def test_every_carbon_oxygen_molecule_up_to_two_heavy_atoms():
    """By hand: CH4, H2O; ethane, ethene, ethyne; methanol, formaldehyde; H2O2 and O=O."""
    smiles, _ = stable_molecules("CO", 2, NO_FILTERS)
    assert set(smiles) == {"C", "O", "CC", "C=C", "C#C", "CO", "C=O", "OO", "O=O"}


def brute_force_molecules(elements, size) -> set[str]:
    """Every assignment of elements and bond orders (0-3) to `size` labelled atoms that is connected and
    within valence, canonicalised: an independent count of what growth should find."""
    pairs = list(itertools.combinations(range(size), 2))
    found = set()
    for symbols in itertools.product(elements, repeat=size):
        for orders in itertools.product(range(4), repeat=len(pairs)):
            used = [0] * size
            for (i, j), order in zip(pairs, orders):
                used[i] += order
                used[j] += order
            if any(u > VALENCES[s] for s, u in zip(symbols, used)):
                continue
            molecule = Chem.RWMol()
            for symbol in symbols:
                molecule.AddAtom(Chem.Atom(symbol))
            for (i, j), order in zip(pairs, orders):
                if order:
                    molecule.AddBond(i, j, Chem.BondType.values[order])
            if len(Chem.GetMolFrags(molecule)) == 1:
                Chem.SanitizeMol(molecule)
                found.add(Chem.MolToSmiles(molecule))
    return found


@pytest.mark.parametrize("elements, size", [("CNO", 3), ("CO", 4), ("NF", 4)])
def test_growth_finds_exactly_what_brute_force_finds(elements, size):
    grown = canonical_smiles(enumerate_graphs(elements, size)[size].values())
    assert grown == brute_force_molecules(elements, size)


def test_molecules_are_unique_canonical_smiles_sorted_by_size():
    smiles, counts = stable_molecules("CNOF", 4, NO_FILTERS)
    assert len(smiles) == len(set(smiles)) == sum(level["enumerated"] for level in counts.values())
    assert all(Chem.MolToSmiles(Chem.MolFromSmiles(s)) == s for s in smiles)
    heavy = [Chem.MolFromSmiles(s).GetNumAtoms() for s in smiles]
    assert heavy == sorted(heavy)


@pytest.mark.parametrize(
    "name, removed, kept",
    [
        ("no_cumulated_double_bonds", ["C=C=C", "C=C=O", "O=C=O", "N=C=O"], ["C=CC", "C=CC=O"]),
        ("no_triple_bonds_in_rings", ["C1#CCC1", "C1#CC1"], ["C#CC", "C#CC#N"]),
        ("no_double_bonds_in_three_membered_rings", ["C1=CC1", "C=C1CC1", "O=C1CO1"], ["C1CC1", "C1=CCC1"]),
        ("no_bridgehead_atoms_in_small_rings", ["C1C2CC12", "C12C3C1C23"], ["C1CCC1", "CC1CC1"]),
        ("no_triplet_ground_states", ["O=O"], ["OO", "C=O"]),
        ("no_heteroatom_single_bonds", ["NN", "NO", "OO", "FN"], ["N=N", "NCN", "CO"]),
        ("no_geminal_heteroatoms", ["OCO", "NCO", "FC(F)C"], ["OCCO", "OC=O"]),
        ("no_enols", ["C=CO", "C=CN"], ["CC=O", "CC=N"]),
    ],
)
def test_each_filter_removes_what_it_says_and_nothing_else_nearby(name, removed, kept):
    off, _ = stable_molecules("CNOF", 4, NO_FILTERS)
    on, counts = stable_molecules("CNOF", 4, NO_FILTERS | {name: True})
    canonical = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in removed + kept]
    assert set(canonical) <= set(off)
    assert not set(canonical[: len(removed)]) & set(on)
    assert set(canonical[len(removed) :]) <= set(on)
    assert sum(level[name] for level in counts.values()) == len(off) - len(on)


def test_default_filters_keep_a_qm9_like_core():
    smiles, _counts = stable_molecules("CNOF", 3, {name: rule.default for name, rule in FILTERS.items()})
    assert {"C", "N", "O", "F", "CC", "C#N", "C=O", "CO", "CC#N", "NC=O", "CC=O", "C1CC1", "C1CO1"} <= set(smiles)
    assert not {"O=O", "C=C=C", "O=C=O", "C1=CC1"} & set(smiles)


@pytest.fixture(scope="module")
def small_space():
    return build_space(spec(max_heavy_atoms=3))


def test_every_geometry_sits_at_a_force_field_minimum_with_its_graphs_bonds(small_space):
    assert len(small_space["molecules"]) > 60
    # F2's bond (1.41 Å, UFF and experiment) is longer than astray's bond cutoff (1.2 x 2 x 0.57 Å): listed.
    assert small_space["failures"] == [
        {"smiles": "FF", "heavy_atoms": 2, "reason": "conformer 0's 3D geometry has other bonds than its graph"}
    ]
    for record in small_space["molecules"]:
        symbols, positions = record["symbols"], np.array(record["conformers"][0])
        molecule = Chem.AddHs(Chem.MolFromSmiles(record["smiles"]))
        assert [a.GetSymbol() for a in molecule.GetAtoms()] == symbols
        edges = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in molecule.GetBonds()]
        assert connectivity_key(symbols, perceived_edges(symbols, positions)) == connectivity_key(symbols, edges)
        molecule.AddConformer(_conformer(positions), assignId=True)
        if record["force_field"] == "mmff94":
            properties = rdForceFieldHelpers.MMFFGetMoleculeProperties(molecule)
            field = rdForceFieldHelpers.MMFFGetMoleculeForceField(molecule, properties)
        else:
            field = rdForceFieldHelpers.UFFGetMoleculeForceField(molecule)
        gradient = np.array(field.CalcGrad()).reshape(-1, 3)  # kcal/mol/Å
        assert np.abs(gradient).max() < 0.05, record["smiles"]
        # C-H bonds at 1.06 Å (sp, alkynes) to 1.10 Å (sp3), as force fields and experiment put them.
        for i, j in edges:
            if {symbols[i], symbols[j]} == {"C", "H"}:
                assert 1.05 < np.linalg.norm(positions[i] - positions[j]) < 1.11


def _conformer(positions):
    conformer = Chem.Conformer(len(positions))
    for index, xyz in enumerate(positions):
        conformer.SetAtomPosition(index, xyz.tolist())
    return conformer


def test_hydrogen_fluoride_falls_back_to_uff_and_says_so(small_space):
    record = next(r for r in small_space["molecules"] if r["smiles"] == "F")
    assert record["force_field"] == "uff"
    distance = np.linalg.norm(np.subtract(*record["conformers"][0]))
    assert 0.85 < distance < 1.0  # H-F is 0.917 Å


def test_same_seed_same_bytes_and_seed_matters():
    first, second = build_space(spec(max_heavy_atoms=3)), build_space(spec(max_heavy_atoms=3))
    assert json.dumps(first) == json.dumps(second)
    other = build_space(spec(max_heavy_atoms=3, seed=1))
    positions = {r["smiles"]: r["conformers"] for r in first["molecules"]}
    assert any(r["conformers"] != positions[r["smiles"]] for r in other["molecules"])


def test_growing_the_space_leaves_every_molecule_and_id_in_place(small_space):
    smaller = {a.info["geometry_id"]: a for a in space_molecules(build_space(spec(max_heavy_atoms=2)))}
    larger = {a.info["geometry_id"]: a for a in space_molecules(small_space)}
    assert set(smaller) < set(larger)
    assert all(np.array_equal(a.positions, larger[name].positions) for name, a in smaller.items())


def test_geometries_record_their_chemistry(small_space):
    acetonitrile = next(a for a in space_molecules(small_space) if a.info["smiles"] == "CC#N")
    assert acetonitrile.info["inchikey"] == "WEVYAHXRMPXWCK-UHFFFAOYSA-N"
    assert acetonitrile.info["formula"] == "C2H3N" and acetonitrile.info["heavy_atoms"] == 3
    assert acetonitrile.get_chemical_formula() == "C2H3N"
    assert acetonitrile.info["molecule"] == acetonitrile.info["geometry_id"] == "CC#N"


def test_samples_are_nested():
    def drawn(space):
        return {r["smiles"] for r in space["molecules"] + space["failures"]}

    smaller, larger = (
        drawn(build_space(spec(max_heavy_atoms=3, sample=10))),
        drawn(build_space(spec(max_heavy_atoms=3, sample=30))),
    )
    assert len(smaller) == 10 and len(larger) == 30 and smaller < larger


def test_conformers_are_separate_geometries_of_one_molecule():
    space = build_space(spec(max_heavy_atoms=4, sample=0, conformers=3, elements=["C"]))
    butane = [a for a in space_molecules(space) if a.info["smiles"] == "CCCC"]
    assert [a.info["geometry_id"] for a in butane] == ["CCCC", "CCCC:conf1", "CCCC:conf2"]
    assert {a.info["molecule"] for a in butane} == {"CCCC"}


def test_the_size_window_counts_hydrogens():
    space = build_space(
        spec({"elements": ["H", "C"], "min_atoms": 2, "max_atoms": 8}, max_heavy_atoms=3, elements=["C"])
    )
    sizes = {r["smiles"]: len(r["symbols"]) for r in space["molecules"]}
    # Propane (11 atoms), propene and cyclopropane (9) are too large; allene is filtered.
    assert sizes == {"C": 5, "CC": 8, "C=C": 6, "C#C": 4, "C#CC": 7}
    assert space["counts"]["3"]["outside_atom_window"] > 0


def test_cache_is_read_back_and_a_damaged_one_rebuilt(tmp_path, monkeypatch):
    built = cached_space(spec(max_heavy_atoms=2), tmp_path)
    (cache,) = tmp_path.glob("chemical_space-*.json")
    monkeypatch.setattr("astray.geometries.chemical_space.build_space", lambda *a: pytest.fail("rebuilt a valid cache"))
    assert cached_space(spec(max_heavy_atoms=2), tmp_path) == built
    monkeypatch.undo()
    cache.write_text(cache.read_text()[:100])
    assert cached_space(spec(max_heavy_atoms=2), tmp_path) == built
    # The enumeration is kept apart (planning a large space reads it alone), and damaged, enumerated again.
    (enumeration,) = tmp_path.glob("chemical_space_enumeration-*.json")
    enumeration.write_text(enumeration.read_text()[:50])
    cache.unlink()
    assert cached_space(spec(max_heavy_atoms=2), tmp_path) == built


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"elements": ["C", "Xe"]}, "chemical_space.elements: ['Xe'] have no standard valence"),
        ({"elements": ["C", "S"]}, "chemical_space.elements: ['S'] are outside geometries.elements"),
        ({"max_heavy_atoms": 0}, "chemical_space.max_heavy_atoms must be at least 1 \\(0 leaves"),
        ({"max_heavy_atoms": 9}, "give at least ~"),
        ({"filters": {"no_allenes": True}}, "chemical_space.filters: unknown ['no_allenes']"),
    ],
)
def test_bad_config_names_the_key(changes, message):
    with pytest.raises(ChemicalSpaceError, match=message.replace("[", r"\[").replace("]", r"\]")):
        spec(**changes)


def test_an_element_set_without_molecules_in_the_window_is_refused():
    with pytest.raises(ChemicalSpaceError, match="no molecule of"):
        build_space(spec({"elements": ["H", "F"], "min_atoms": 3, "max_atoms": 10}, elements=["F"], max_heavy_atoms=2))
