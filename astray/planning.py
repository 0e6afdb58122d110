"""What Snakemake needs to plan a campaign, without the geometries: how many there are, of which molecule
and origin, and which elements. Building and checking a QM9-sized pool takes minutes, so the summary is
cached on disk and a re-plan (after changing models, sizes or seeds) reads it instead.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from astray.io import write_atomically
from astray.levels import charge_and_multiplicity, is_stretched
from astray.sources import matching_files


@dataclass
class PoolSummary:
    molecules: list[str]  # molecule of each geometry, in pool order
    origins: list[str]  # origin of each geometry, in pool order
    formulas: list[str]  # chemical formula of each geometry, in pool order (for the cost estimate)
    unrestricted: list[bool]  # open shell or a stretched bond: the costlier unrestricted labeling path
    elements: list[str]

    def __len__(self) -> int:
        return len(self.molecules)

    def count(self, assignment: dict, split: str, origins) -> int:
        """Geometries of the molecules assigned to `split` whose origin is one of `origins`."""
        return sum(assignment[m] == split and o in origins for m, o in zip(self.molecules, self.origins))


def summarize(pool) -> PoolSummary:
    return PoolSummary(
        molecules=[atoms.info["molecule"] for atoms in pool],
        origins=[atoms.info["origin"] for atoms in pool],
        formulas=[atoms.get_chemical_formula() for atoms in pool],
        unrestricted=[charge_and_multiplicity(atoms)[1] != 1 or is_stretched(atoms) for atoms in pool],
        elements=sorted({symbol for atoms in pool for symbol in atoms.get_chemical_symbols()}),
    )


def source_fingerprint(geometry_config: dict) -> str:
    """Hash of every source file's path, size and modification time: changes when any file does."""
    files = (geometry_config["sources"].get("files") or {}).get("paths", [])
    stamps = [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in matching_files(files)]
    return hashlib.sha256(json.dumps(stamps).encode()).hexdigest()[:20]


def plan_key(geometry_config: dict, checked: dict, fingerprint: str) -> str:
    """Identity of a planned pool: its config, what its input checks depended on (`checked`: the level of
    theory, the distance threshold, the code) and its source files' fingerprint."""
    payload = json.dumps([geometry_config, checked, fingerprint], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def cached_summary(cache_dir, key: str, build) -> PoolSummary:
    """The summary stored under `key`, or `build()`'s (a pool whose inputs pass every check) stored anew.

    A cache file that cannot be read is rebuilt, never trusted; only the current key's file is kept.
    """
    cache_dir = Path(cache_dir)
    path = cache_dir / f"pool-{key}.json"
    try:
        return PoolSummary(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        pass
    summary = summarize(build())
    cache_dir.mkdir(parents=True, exist_ok=True)
    for stale in cache_dir.glob("pool-*.json"):
        stale.unlink(missing_ok=True)  # another job may have removed it first
    write_atomically(path, lambda temporary: temporary.write_text(json.dumps(asdict(summary))), shared=True)
    return summary


def record_plan(cache_dir, key: str, config: dict, config_files: str) -> None:
    """What the last plan was made of (its config as Snakemake merged it, and its pool summary's key), so
    `python -m astray.plan` can estimate the campaign's cost from exactly what Snakemake planned."""
    record = {"config": config, "config_files": config_files, "pool_summary": f"pool-{key}.json"}
    text = json.dumps(record, default=str)
    path = Path(cache_dir) / "plan.json"
    if path.exists() and path.read_text() == text:
        return  # every job of a cluster run parses the workflow; most find it already recorded
    write_atomically(path, lambda temporary: temporary.write_text(text), shared=True)


def read_plan(cache_dir) -> tuple[dict, str, PoolSummary]:
    """The config, config file names and pool summary that `record_plan` recorded in `cache_dir`."""
    record = json.loads((Path(cache_dir) / "plan.json").read_text())
    summary = PoolSummary(**json.loads((Path(cache_dir) / record["pool_summary"]).read_text()))
    return record["config"], record["config_files"], summary
