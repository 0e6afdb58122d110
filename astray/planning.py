"""What Snakemake needs to plan a campaign, without the geometries: how many there are (hence the labeling
chunks), of which molecule and origin, and which elements.

A pool whose source files are small is built and checked while planning, and its summary cached on disk
so a re-plan (after changing models, sizes or seeds) reads it instead. A large one (all of QM9: 134k files,
minutes to read) is only counted while planning: its files' frames, and the geometries each molecule gets
from the distortions, measured on the first few; the `geometries` and `check_pool` jobs, which run
before any other, build and check it. The chunk count planned either way is what every job uses.
"""

import functools
import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from astray.io import frame_lines, write_atomically
from astray.pool_summary import PoolSummary, summarize

__all__ = ["PoolSummary", "summarize"]

# Geometries of the file sources' first molecules built to measure how many geometries a molecule gets
# from the distortions, for a pool too large to build while planning.
SAMPLE_MOLECULES = 20


@dataclass
class PlannedPool:
    """The pool as planning knows it: `geometries` exactly when it was built while planning (`built`),
    otherwise estimated; `molecules`, its equilibrium molecules (a large source's frames counted, not read).
    The labeling chunks are planned from `geometries`; the job that builds the pool spreads what it
    really holds over exactly that many."""

    geometries: int
    molecules: int
    built: bool

    def chunks(self, chunk_size: int) -> int:
        return max(1, math.ceil(self.geometries / chunk_size))


@dataclass
class SourceFiles:
    """The files of a geometry config's `files` source: each one's path, size and modification time."""

    stamps: list[tuple[str, int, int]]

    @classmethod
    def of(cls, geometry_config: dict) -> "SourceFiles":
        from astray.sources import matching_files  # ASE: imported where files are listed, not in every job

        files = (geometry_config["sources"].get("files") or {}).get("paths", [])
        stamps = []
        for path in matching_files(files):
            status = os.stat(path)
            stamps.append((path, status.st_size, status.st_mtime_ns))
        return cls(stamps)

    @functools.cached_property
    def fingerprint(self) -> str:
        """Changes when any file does."""
        return hashlib.sha256(json.dumps(self.stamps).encode()).hexdigest()[:20]

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size, _ in self.stamps)


def source_fingerprint(geometry_config: dict) -> str:
    """Hash of every source file's path, size and modification time: changes when any file does."""
    return SourceFiles.of(geometry_config).fingerprint


def count_frames(path, file_format: str = "auto") -> int:
    """Frames in an xyz, extxyz or QM9 file, from its atom-count lines alone (nothing parsed): what
    planning needs of a file too large a source to read. A file it cannot count is one frame; reading
    it in the geometries job names the problem."""
    from astray.sources import is_qm9

    if file_format == "qm9":
        return 1
    try:
        # os.read rather than a file object: half the cost, which counts 134k times for all of QM9.
        descriptor = os.open(path, os.O_RDONLY)
        try:
            head = os.read(descriptor, 256)
        finally:
            os.close(descriptor)
        if file_format == "auto" and is_qm9(head.decode(errors="replace")):
            return 1  # read no further: QM9's files hold one molecule each
        frames = 0
        with open(path) as file:
            for _ in frame_lines(file):
                frames += 1
    except (OSError, UnicodeDecodeError, ValueError):  # ValueError: a count line that is not a number
        pass
    return max(frames, 1)


def estimated_pool(geometry_config: dict, files: SourceFiles, build_pool) -> PlannedPool:
    """The pool of a config whose file sources are too large to read while planning: the other sources
    built (they are in memory: ASE's sets, ions, the cached chemical space, scans) and the files' frames
    counted, each getting as many geometries as the first `SAMPLE_MOLECULES` do. `build_pool(config)`
    builds a pool (astray.geometries.build_pool without Hessians)."""
    sources = geometry_config["sources"]
    others = build_pool({**geometry_config, "sources": {k: v for k, v in sources.items() if k != "files"}})
    file_format = sources["files"].get("format", "auto")
    frames = sum(count_frames(path, file_format) for path, _, _ in files.stamps)
    if sources["files"].get("max_molecules"):
        frames = min(frames, sources["files"]["max_molecules"])
    # The first files alone, named: listing all of them again would cost as much as the count.
    first_files = [path for path, _, _ in files.stamps[:SAMPLE_MOLECULES]]
    only_files = {"files": {**sources["files"], "paths": first_files, "max_molecules": min(frames, SAMPLE_MOLECULES)}}
    # Per frame read, not per molecule name: frames of one species share a name, and a frame the guards
    # drop counts as the nothing it adds.
    per_frame = len(build_pool({**geometry_config, "sources": only_files})) / max(1, min(frames, SAMPLE_MOLECULES))
    others_molecules = len({atoms.info["molecule"] for atoms in others})
    return PlannedPool(len(others) + round(frames * per_frame), others_molecules + frames, built=False)


def plan_key(geometry_config: dict, checked: dict, fingerprint: str) -> str:
    """Identity of a planned pool: its config, what its input checks depended on (`checked`: the level of
    theory, the distance threshold, the code) and its source files' fingerprint."""
    payload = json.dumps([geometry_config, checked, fingerprint], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def pool_identity(geometry_config: dict, fingerprint: str) -> str:
    """What a built pool is of (its geometry config and source files): the geometries job records it in the
    pool's summary, so planning can tell whether the summary beside the results is of this pool."""
    return plan_key(geometry_config, {}, fingerprint)


def cached_plan(cache_dir, key: str, plan) -> PlannedPool:
    """The planned pool stored under `key`, or `plan()`'s stored anew (only the current key's file kept).

    Every plan must give the same chunk count for one pool, so it is computed once and then read."""
    return _cached(Path(cache_dir) / f"plan-{key}.json", "plan-*.json", PlannedPool, plan)


def _cached(path: Path, pattern: str, kind, build):
    try:
        return kind(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        pass
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(pattern):
        stale.unlink(missing_ok=True)  # another job may have removed it first
    write_atomically(path, lambda temporary: temporary.write_text(json.dumps(asdict(value))), shared=True)
    return value


def cached_summary(cache_dir, key: str, build) -> PoolSummary:
    """The summary stored under `key`, or `build()`'s (a pool whose inputs pass every check) stored anew.

    A cache file that cannot be read is rebuilt, never trusted; only the current key's file is kept.
    """
    return _cached(Path(cache_dir) / f"pool-{key}.json", "pool-*.json", PoolSummary, lambda: summarize(build()))


def record_plan(cache_dir, key: str, identity: str, config: dict, config_files: str) -> None:
    """What the last plan was made of (its config as Snakemake merged it, its pool summary's key and its
    pool's identity), so `python -m astray.plan` can estimate the campaign's cost from exactly what
    Snakemake planned."""
    record = {"config": config, "config_files": config_files, "pool_key": key, "pool_identity": identity}
    text = json.dumps(record, default=str)
    path = Path(cache_dir) / "plan.json"
    if path.exists() and path.read_text() == text:
        return  # every job of a cluster run parses the workflow; most find it already recorded
    write_atomically(path, lambda temporary: temporary.write_text(text), shared=True)


def read_plan(cache_dir) -> dict:
    """The record `record_plan` left in `cache_dir`."""
    return json.loads((Path(cache_dir) / "plan.json").read_text())


def built_summary(path, identity: str) -> PoolSummary | None:
    """The summary the geometries job wrote of the pool it built, if it is of the pool `identity` names."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    if record.pop("identity", None) != identity:
        return None
    return PoolSummary(**record)
