"""The planning summary: what Snakemake needs of the pool, cached until something it depends on changes."""

import os
from pathlib import Path

from astray.planning import cached_summary, plan_key, source_fingerprint
from astray.sources import collection_molecules

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
