"""The planning summary: what Snakemake needs of the pool, cached until something it depends on changes."""

import os
from collections import Counter
from pathlib import Path

from test_geometries import config_with, small_chemical_space

from astray.campaign.pool_plan import (
    SAMPLE_MOLECULES,
    PlannedPool,
    SourceFiles,
    cached_summary,
    count_frames,
    counted_sources,
    estimated_census,
    estimated_pool,
    plan_key,
    source_fingerprint,
    summarize,
)
from astray.geometries.pool import build_pool
from astray.geometries.sources import collection_molecules
from astray.labels.labeling import chunk_ranges

QM9 = Path(__file__).resolve().parents[1] / "data" / "qm9"


def pool():
    return collection_molecules("g2", ["H2O", "NH3", "CH3"])


def geometry_config(paths):
    return {"sources": {"files": {"paths": [str(p) for p in paths]}}, "elements": ["H", "C", "N", "O"]}


def test_a_cached_summary_is_reused_without_rebuilding(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return pool()

    first = cached_summary(tmp_path, "key1", build)
    second = cached_summary(tmp_path, "key1", build)
    assert calls == [1] and first == second
    assert first.molecules == ["H2O", "NH3", "CH3"] and first.elements == ["C", "H", "N", "O"]
    assert first.count({"H2O": "train", "NH3": "test", "CH3": "train"}, "train", ("equilibrium",)) == 2


def test_a_damaged_cache_is_rebuilt_and_only_the_current_key_is_kept(tmp_path):
    cached_summary(tmp_path, "old", pool)
    (tmp_path / "pool-new.json").write_text("{not json")
    summary = cached_summary(tmp_path, "new", pool)
    assert len(summary) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool-new.json"]


def test_the_key_changes_with_the_config_the_checks_and_any_source_file(tmp_path):
    folder = tmp_path / "qm9"
    folder.mkdir()
    for source in QM9.glob("*.xyz"):
        (folder / source.name).write_bytes(source.read_bytes())
    config, checked = geometry_config([folder]), {"level": {"method": "hf"}}
    fingerprint = source_fingerprint(config)
    key = plan_key(config, checked, fingerprint)
    assert plan_key(config, checked, source_fingerprint(config)) == key
    assert plan_key({**config, "elements": ["H", "C"]}, checked, fingerprint) != key
    assert plan_key(config, {"level": {"method": "pbe"}}, fingerprint) != key
    touched = folder / "dsgdb9nsd_000002.xyz"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1_000_000_000))
    assert source_fingerprint(config) != fingerprint


def test_chunks_cover_the_pool_once_and_evenly_whatever_it_really_holds():
    for geometries, chunks in [(0, 1), (7, 3), (250, 1), (235_639, 1072), (3, 5)]:
        ranges = chunk_ranges(geometries, chunks)
        assert len(ranges) == chunks
        frames = [frame for first, count in ranges for frame in range(first, first + count)]
        assert frames == list(range(geometries))
        assert max(n for _, n in ranges) - min(n for _, n in ranges) <= 1
    assert PlannedPool(geometries=501, molecules=200, built=False).chunks(250) == 3


def test_frames_are_counted_from_the_atom_count_lines_alone(tmp_path):
    many = tmp_path / "three.extxyz"
    water = "3\nwater\nO 0 0 0\nH 0.76 0.59 0\nH -0.76 0.59 0\n"
    many.write_text(water + "2\nH2\nH 0 0 0\nH 0 0 0.74\n" + water)
    assert count_frames(many) == 3
    assert count_frames(QM9 / "dsgdb9nsd_000001.xyz") == 1


def test_a_large_source_is_planned_from_its_frame_count_and_its_first_molecules_distortions(tmp_path):
    """Every molecule of these files gets one rattled copy: 2 geometries per frame, without reading them all
    (copies of 3 molecules: one species under one name, however many files hold it)."""
    folder = tmp_path / "qm9"
    folder.mkdir()
    for number in range(30):
        source = sorted(QM9.glob("*.xyz"))[number % 3]
        index = source.read_text().split("\n")[1].split()[1]  # a copy of another file, under its own index
        text = source.read_text().replace(f"gdb {index}\t", f"gdb {number + 1}\t", 1)
        (folder / f"dsgdb9nsd_{number:06d}.xyz").write_text(text)
    config = {
        "sources": {"files": {"paths": [str(folder)], "format": "auto", "max_molecules": 0}},
        "elements": ["H", "C", "N", "O"], "min_atoms": 2, "max_atoms": 29, "charges": [], "include_probe": False,
        "min_distance": 0.5, "duplicate_tolerance": 0.0,
        "distortions": {
            "bond_scaling": {"factors": [], "element_pairs": [], "per_molecule": 0, "seed": 0},
            "rattle": {"copies": 1, "sigma": 0.05, "seed": 0},
            "normal_modes": {"samples": 0, "temperature": 500, "method": "hf", "basis": "sto-3g", "seed": 0},
        },
    }  # fmt: skip
    built = []

    def build(geometry_config):
        pool = build_pool(geometry_config, sample_normal_modes=False)
        built.append(len(pool))
        return pool

    planned = estimated_pool(config, SourceFiles.of(config), build)
    assert planned == PlannedPool(geometries=60, molecules=30, built=False)
    assert built == [0, 2 * SAMPLE_MOLECULES]  # the other sources (none), then the sample alone
    assert len(build_pool(config, sample_normal_modes=False)) == planned.geometries


def qm9_copies(folder: Path, count: int) -> dict:
    """A geometry config of `count` QM9 files (copies of the three shipped ones under their own indices),
    each molecule rattled once."""
    folder.mkdir()
    for number in range(count):
        source = sorted(QM9.glob("*.xyz"))[number % 3]
        index = source.read_text().split("\n")[1].split()[1]
        text = source.read_text().replace(f"gdb {index}\t", f"gdb {number + 1}\t", 1)
        (folder / f"dsgdb9nsd_{number:06d}.xyz").write_text(text)
    return config_with(
        sources={"files": {"paths": [str(folder)], "format": "auto", "max_molecules": 0, "read_while_planning_mb": 0}},
        elements=["H", "C", "N", "O"], max_atoms=29, duplicate_tolerance=0.0,
        distortions__bond_scaling={"factors": [1.6], "element_pairs": [], "per_molecule": 1, "seed": 0},
        distortions__rattle={"copies": 1, "sigma": 0.05, "seed": 0},
    )  # fmt: skip


def unplanned_build(geometry_config):
    return build_pool(geometry_config, sample_normal_modes=False)


def test_the_cost_census_of_a_large_file_source_counts_what_building_it_would_hold(tmp_path):
    """40 QM9 files, only 20 of them built for the census: every formula read from the files' atom lines,
    each molecule given its sample's copies (one stretched bond, priced unrestricted, and one rattle); the
    census holds what the built pool's summary holds, without building it."""
    config = qm9_copies(tmp_path / "qm9", 40)
    files = SourceFiles.of(config)
    assert counted_sources(config, files) == ["files"]
    census = estimated_census(config, files, unplanned_build, ["files"])
    built = summarize(build_pool(config, sample_normal_modes=False))
    assert Counter(zip(census.formulas, census.unrestricted)) == Counter(zip(built.formulas, built.unrestricted))
    assert sum(built.unrestricted) == 40 and not any(census.provided)  # the stretched copies, no rattled one


def test_a_chemical_space_too_large_to_embed_is_planned_from_its_enumeration(tmp_path):
    """Above embed_while_planning, planning enumerates the space (cached) and embeds 20 of its molecules to
    measure their distortions; the molecules are exact, the geometries and the census near the built pool."""
    config = small_chemical_space(max_atoms=10, per_molecule=1)
    space = config["sources"]["chemical_space"]
    files = SourceFiles.of(config)
    space["embed_while_planning"] = 10_000
    assert counted_sources(config, files, tmp_path) == []
    space["embed_while_planning"] = 10
    assert counted_sources(config, files, tmp_path) == ["chemical_space"]
    planned = estimated_pool(config, files, unplanned_build, ["chemical_space"], tmp_path)
    census = estimated_census(config, files, unplanned_build, ["chemical_space"], tmp_path)
    assert not list(tmp_path.glob("chemical_space-*.json"))  # enumerated and cached, never embedded whole
    real = build_pool(config, sample_normal_modes=False)
    assert planned.molecules == len({atoms.info["molecule"] for atoms in real}) > 2 * SAMPLE_MOLECULES
    assert abs(planned.geometries - len(real)) <= 0.1 * len(real)
    assert abs(len(census) - len(real)) <= 0.1 * len(real)
    built = summarize(real)
    assert set(census.formulas) == set(built.formulas)
    assert abs(sum(census.unrestricted) / len(census) - sum(built.unrestricted) / len(built)) < 0.05


def test_the_plan_counts_only_what_the_datasets_use_where_only_that_is_labeled():
    from astray.campaign.pool_plan import labeled_at_most

    datasets = {"kinds": ["equilibrium", "with_distorted"], "seeds": [0, 1], "sizes": [10, 100],
                "validation_molecules": 50, "test_molecules": 50}  # fmt: skip
    assert labeled_at_most(30_000, 1_000, {"scope": "pool"}, datasets) == 30_000
    # A tenth of the molecules held out (3,000 geometries) and four random sets of 100.
    assert labeled_at_most(30_000, 1_000, {"scope": "datasets"}, datasets) == 3_000 + 400
    assert labeled_at_most(500, 100, {"scope": "datasets"}, datasets) == 500
