"""The pool: sources combined, filters and the probe-leakage guard, duplicates removed, order fixed."""

import copy
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_chemical_space import space_source

from astray.geometries.distortions import min_interatomic_distance
from astray.geometries.pool import GeometrySourceError, build_pool, is_probe_molecule, without_duplicates
from astray.geometries.sources import collection_molecules

QM9 = Path(__file__).resolve().parents[1] / "data" / "qm9"

POOL_CONFIG = {
    "sources": {"ase": {"collection": "g2", "names": []}, "ions": [], "scans": []},
    "elements": ["H", "C", "N", "O", "F"],
    "min_atoms": 2,
    "max_atoms": 4,
    "include_probe": False,
    "distortions": {
        "bond_scaling": {"factors": [0.85, 1.5], "element_pairs": []},
        "rattle": {"copies": 0, "sigma": 0.05, "seed": 0},
        "normal_modes": {"samples": 0, "temperature": 500, "method": "hf", "basis": "sto-3g", "seed": 0},
    },
    "min_distance": 0.5,
    "duplicate_tolerance": 0.01,
}


def config_with(**changes):
    config = copy.deepcopy(POOL_CONFIG)
    for path, value in changes.items():
        *parents, key = path.split("__")
        node = config
        for parent in parents:
            node = node[parent]
        node[key] = value
    return config


def test_filter_keeps_only_allowed_elements_and_sizes():
    pool = build_pool(config_with(elements=["H", "C", "O"]))
    assert pool
    for atoms in pool:
        assert set(atoms.get_chemical_symbols()) <= {"H", "C", "O"}
        assert 2 <= len(atoms) <= 4


def test_charge_filter_skips_found_molecules_and_refuses_named_ones(tmp_path):
    (tmp_path / "ions.extxyz").write_text(
        "2\nmolecule=OHm charge=-1\nO 0 0 0\nH 0 0 0.96\n2\nmolecule=HF\nF 0 0 0\nH 0 0 0.92\n"
    )
    files = {"paths": [str(tmp_path)], "format": "auto", "max_molecules": 0}
    pool = build_pool(config_with(sources={"files": files}, charges=[0]))
    assert {a.info["molecule"] for a in pool} == {"HF"}
    with pytest.raises(GeometrySourceError, match=r"'OH-' has charge -1, not in geometries.charges \[0\]"):
        build_pool(config_with(sources__ions=["OH-"], charges=[0]))


def test_pool_is_deterministic_and_records_origin():
    first, second = build_pool(POOL_CONFIG), build_pool(POOL_CONFIG)
    assert [a.info["geometry_id"] for a in first] == [a.info["geometry_id"] for a in second]
    assert len({a.info["geometry_id"] for a in first}) == len(first)
    assert {a.info["origin"] for a in first} == {"equilibrium", "bond_scaled"}


def test_probe_h2_is_left_out_of_a_filtered_collection_unless_asked_for():
    assert not any(is_probe_molecule(a) for a in build_pool(POOL_CONFIG))
    with_probe = build_pool(config_with(include_probe=True))
    assert "H2" in {a.info["molecule"] for a in with_probe}


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"sources__ase__names": ["H2O", "H2"]}, "geometries.sources.ase.names: 'H2'"),
        ({"sources__ions": ["H3+", "H2+"]}, "geometries.sources.ions: 'H2\\+'"),
        ({"sources__scans": [{"species": "H2", "distances": [1.0]}]}, r"geometries.sources.scans\[0\]: 'H2'"),
    ],
)
def test_asking_for_a_probe_while_the_guard_is_on_is_an_error(changes, key):
    with pytest.raises(GeometrySourceError, match=f"{key}.*probe system.*include_probe"):
        build_pool(config_with(**changes))


def test_a_named_molecule_outside_the_filters_is_an_error_not_a_silent_skip():
    with pytest.raises(GeometrySourceError, match="'CH3CH2OH' has 9 atoms"):
        build_pool(config_with(sources__ase__names=["CH3CH2OH"]))
    with pytest.raises(GeometrySourceError, match=r"'HeH\+' has elements \['He'\]"):
        build_pool(config_with(sources__ions=["HeH+"]))


def test_every_source_and_distortion_lands_in_one_pool():
    config = config_with(
        sources={
            "ase": {"collection": "g2", "names": ["H2O"]},
            "files": {"paths": [str(QM9)], "format": "auto", "max_molecules": 0},
            "ions": ["H3O+", "NH4+"],
            "scans": [{"species": "LiH", "distances": [1.4, 1.6, 2.5]}],
        },
        elements=["H", "Li", "C", "N", "O"],
        max_atoms=5,
        distortions__rattle__copies=2,
        distortions__normal_modes__samples=2,
    )
    pool = build_pool(config)
    counts = Counter(a.info["origin"] for a in pool)
    # H2O twice (G2 and QM9 gdb_3 are different geometries), CH4, NH3, H3O+, NH4+.
    assert counts["equilibrium"] == 6
    assert counts["rattled"] == counts["normal_mode"] == 2 * 6 and counts["scan"] == 3
    by_molecule = {a.info["molecule"]: a for a in pool if a.info["origin"] == "equilibrium"}
    assert by_molecule["H3O+"].info["charge"] == 1 and by_molecule["gdb_1"].info["source"].startswith("file:")
    # Each molecule is followed by its own distortions: neighbours in the pool are warm-start neighbours.
    names = [a.info["molecule"] for a in pool]
    assert names == sorted(names, key=names.index)


def test_duplicates_are_removed_whatever_the_orientation_and_numbering():
    water = collection_molecules("g2", ["H2O"])[0]
    turned = water.copy()
    turned.rotate(70, "x")
    turned.translate([1.0, 2.0, 3.0])
    turned = turned[[0, 2, 1]]
    turned.info.update(water.info, geometry_id="H2O-copy")
    nudged = water.copy()
    nudged.positions[1] += [0, 0, 0.05]  # 0.05 Å: a different geometry
    nudged.info.update(water.info, geometry_id="H2O-nudged")
    kept = without_duplicates([water, turned, nudged], tolerance=0.01)
    assert [a.info["geometry_id"] for a in kept] == ["H2O", "H2O-nudged"]


def test_duplicate_molecule_names_from_two_sources_are_an_error(tmp_path):
    (tmp_path / "H2O.xyz").write_text("3\n\nO 0 0 0\nH 0 0.76 -0.47\nH 0 -0.76 -0.5\n")
    config = config_with(sources__files={"paths": [str(tmp_path)], "format": "auto", "max_molecules": 0},
                         sources__ase={"collection": "g2", "names": ["H2O"]})  # fmt: skip
    with pytest.raises(GeometrySourceError, match=r"\['H2O', .* occur more than once"):
        build_pool(config)


def test_planned_pool_differs_from_the_real_one_only_in_normal_mode_positions():
    config = config_with(sources__ase__names=["H2O", "NH3"], distortions__normal_modes__samples=3)
    planned, real = build_pool(config, sample_normal_modes=False), build_pool(config)
    assert [a.info["geometry_id"] for a in planned] == [a.info["geometry_id"] for a in real]
    moved = [not np.allclose(p.positions, r.positions) for p, r in zip(planned, real)]
    assert moved == [a.info["origin"] == "normal_mode" for a in real]


def test_one_species_from_two_sources_is_one_molecule_of_the_split():
    """G2's water, QM9's gdb_3 and the chemical space's O are three geometries of one molecule."""
    config = config_with(
        sources={
            "ase": {"collection": "g2", "names": ["H2O", "CH3OH"]},
            "files": {"paths": [str(QM9)], "format": "auto", "max_molecules": 0},
            "chemical_space": space_source(max_heavy_atoms=1),
        },
        max_atoms=6,
    )
    logged = []
    pool = build_pool(config, log=logged.append)
    molecule = {a.info["geometry_id"]: a.info["molecule"] for a in pool if a.info["origin"] == "equilibrium"}
    assert molecule["H2O"] == molecule["gdb_3"] == "H2O" and molecule["CH3OH"] == "CH3OH"
    assert "gdb_3 (file:" in logged[1] and "O (chemical_space) as H2O" in logged[1]
    # MMFF94's CH4, NH3 and H2O lie within 0.01 Å of QM9's B3LYP ones: merged, then dropped as duplicates.
    assert "C (chemical_space) as gdb_1" in logged[1] and "O" not in molecule and molecule["F"] == "F"
    assert {a.info["molecule"] for a in pool if a.get_chemical_formula() == "H2O"} == {"H2O"}
    # Same formula, other connectivity: not merged.
    isomers = build_pool(config_with(sources__ase__names=["CH3CH2OH", "CH3OCH3"], max_atoms=9))
    assert {a.info["molecule"] for a in isomers} == {"CH3CH2OH", "CH3OCH3"}
    # The geometries of one species stay together (labeling warm-starts from the previous geometry).
    names = [a.info["molecule"] for a in pool]
    assert names == sorted(names, key=names.index)


def test_a_scan_of_a_species_in_the_pool_joins_its_molecule():
    config = config_with(
        sources__ase__names=["CO"],
        sources__scans=[{"species": "CO", "name": "carbon_monoxide", "distances": [1.0, 1.6]}],
    )
    assert {a.info["molecule"] for a in build_pool(config)} == {"CO"}
    # CO+ is another species: its scan keeps its own name.
    scan = {"species": "CO", "name": "CO+", "charge": 1, "distances": [1.2]}
    charged = config_with(sources__ase__names=["CO"], sources__scans=[scan])
    assert {a.info["molecule"] for a in build_pool(charged) if a.info["origin"] == "scan"} == {"CO+"}


def test_bond_scaling_budget_draws_distinct_copies_per_molecule():
    config = config_with(sources__ase__names=["CH4", "H2O", "NH3"], max_atoms=5,
                         distortions__bond_scaling={"factors": [0.85, 1.25, 1.6], "element_pairs": [],
                                                    "per_molecule": 2, "seed": 0})  # fmt: skip
    pool = build_pool(config)
    scaled = Counter(a.info["molecule"] for a in pool if a.info["origin"] == "bond_scaled")
    assert scaled == {"CH4": 2, "H2O": 2, "NH3": 2}
    # Every bond of methane is equivalent: two distinct copies means two different factors, not one twice.
    assert len({a.info["scale_factor"] for a in pool if a.info["molecule"] == "CH4" and "scale_factor" in a.info}) == 2
    assert [a.info["geometry_id"] for a in build_pool(config)] == [a.info["geometry_id"] for a in pool]
    config["distortions"]["bond_scaling"]["per_molecule"] = 3
    larger = Counter(a.info["molecule"] for a in build_pool(config) if a.info["origin"] == "bond_scaled")
    assert larger == {"CH4": 3, "H2O": 3, "NH3": 3}  # water and ammonia: 3 distinct of 6 and 9
    config["distortions"]["bond_scaling"]["per_molecule"] = 50
    everything = Counter(a.info["molecule"] for a in build_pool(config) if a.info["origin"] == "bond_scaled")
    assert everything == {"CH4": 3, "H2O": 3, "NH3": 3}  # symmetric bonds: only 3 distinct copies each


def small_chemical_space(max_atoms: int, per_molecule: float) -> dict:
    """A pool config of the C/N/O molecules of up to 3 heavy atoms, each bond scaled to 0.85x or 1.6x."""
    return config_with(
        sources={"chemical_space": space_source(elements=["C", "N", "O"])},
        elements=["H", "C", "N", "O"], min_atoms=3, max_atoms=max_atoms,
        distortions__bond_scaling={"factors": [0.85, 1.6], "element_pairs": [], "per_molecule": per_molecule,
                                   "seed": 0},
    )  # fmt: skip


def test_a_fractional_budget_distorts_that_fraction_of_the_molecules_and_grows_nested():
    """per_molecule 0.5: one copy for about half the molecules, none for the rest, drawn per geometry, so a
    larger fraction keeps every molecule a smaller one distorted."""
    config = small_chemical_space(max_atoms=10, per_molecule=0.5)

    def distorted(fraction):
        config["distortions"]["bond_scaling"]["per_molecule"] = fraction
        scaled = Counter(a.info["molecule"] for a in build_pool(config) if a.info["origin"] == "bond_scaled")
        assert set(scaled.values()) <= {1}
        return set(scaled)

    molecules = {a.info["molecule"] for a in build_pool(config) if a.info["origin"] == "equilibrium"}
    half, most = distorted(0.5), distorted(0.8)
    assert 0.3 < len(half) / len(molecules) < 0.7 and half < most <= molecules


def test_chemical_space_geometries_pass_every_guard_of_the_pool():
    config = small_chemical_space(max_atoms=7, per_molecule=1)
    pool = build_pool(config)
    equilibrium = [a for a in pool if a.info["origin"] == "equilibrium"]
    assert len(equilibrium) > 15
    for atoms in pool:
        assert 3 <= len(atoms) <= 7 and set(atoms.get_chemical_symbols()) <= {"H", "C", "N", "O"}
        assert not is_probe_molecule(atoms) and atoms.info["charge"] == 0 and atoms.info["multiplicity"] == 1
        assert min_interatomic_distance(atoms) >= config["min_distance"]
    assert len({a.info["geometry_id"] for a in pool}) == len(pool)


@pytest.mark.parametrize(
    "scan, changes, message",
    [
        ({"species": "OH-", "distances": [1.0]}, {"charges": [0]}, r"'OH-' has charge -1, not in geometries.charges"),
        ({"species": "LiH", "distances": [1.6]}, {}, r"'LiH' has elements \['Li'\] outside geometries.elements"),
        ({"species": "CH4", "bond": [0, 1], "distances": [1.2]}, {"max_atoms": 4}, "'CH4' has 5 atoms"),
        ({"species": "H2", "distances": [1.0]}, {}, "'H2' is a probe system"),
    ],
)
def test_a_scan_passes_the_same_guards_as_every_other_source(scan, changes, message):
    with pytest.raises(GeometrySourceError, match=r"geometries.sources.scans\[0\]: " + message):
        build_pool(config_with(sources__scans=[scan], **changes))
