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

from astray.geometries.census import PoolSummary, summarize
from astray.io import frame_lines, write_atomically

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


def labeled_at_most(geometries: int, molecules: int | None, labels: dict, datasets: dict) -> int:
    """How many of a pool's geometries labeling covers, for the planning summary: all of them (labels.scope:
    pool), or at most about the holdout molecules' share of the pool and each kind's and seed's largest random
    set (datasets); the split itself is made by a job."""
    if labels["scope"] == "pool" or not molecules:
        return geometries
    holdout = datasets["validation_molecules"] + datasets["test_molecules"]
    holdout_share = math.ceil(geometries * min(1.0, holdout / molecules))
    random_sets = len(datasets["kinds"]) * len(datasets["seeds"]) * max(datasets["sizes"])
    return min(geometries, holdout_share + random_sets)


@dataclass
class SourceFiles:
    """The files of a geometry config's `files` source: each one's path, size and modification time."""

    stamps: list[tuple[str, int, int]]

    @classmethod
    def of(cls, geometry_config: dict) -> "SourceFiles":
        from astray.geometries.sources import matching_files  # ASE: imported where files are listed, not in every job

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
    from astray.geometries.sources import is_qm9

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


FILES, CHEMICAL_SPACE = "files", "chemical_space"


def counted_sources(geometry_config: dict, files: SourceFiles, cache_dir=None) -> list[str]:
    """The sources too large to build while planning, counted instead: file sources of more than
    `files.read_while_planning_mb` in all, and a chemical space of more molecules than
    `chemical_space.embed_while_planning` (its enumeration decides, cached in `cache_dir`)."""
    sources, counted = geometry_config["sources"], []
    if (sources.get(FILES) or {}).get("paths") and files.total_bytes > sources[FILES]["read_while_planning_mb"] * 1e6:
        counted.append(FILES)
    space = sources.get(CHEMICAL_SPACE)
    if space and space.get("max_heavy_atoms", 0) > 0:
        limit, sample = space["embed_while_planning"], space["sample"]
        if not 0 < sample <= limit and len(_chosen_molecules(geometry_config, cache_dir)) > limit:
            counted.append(CHEMICAL_SPACE)
    return counted


def _space_spec(geometry_config: dict):
    from astray.geometries.chemical_space import SpaceSpec  # RDKit: imported only for a campaign with a chemical space

    return SpaceSpec.from_config(geometry_config["sources"][CHEMICAL_SPACE], geometry_config)


def _chosen_molecules(geometry_config: dict, cache_dir) -> list[str]:
    from astray.geometries.chemical_space import chosen_molecules

    return chosen_molecules(_space_spec(geometry_config), cache_dir)


@dataclass
class CountedSource:
    """A source as planning counts it: its equilibrium molecules, and the geometries of a few of them
    built as the pool builds them, from which every molecule is given as many."""

    molecules: int
    sample: list  # the sampled molecules' geometries (ase.Atoms), equilibrium and distorted
    sample_molecules: int  # molecules sampled (one dropped by the guards counts as the nothing it adds)

    @property
    def geometries_per_molecule(self) -> float:
        return len(self.sample) / max(1, self.sample_molecules)


def counted_files(geometry_config: dict, files: SourceFiles, build_pool) -> CountedSource:
    """The files' frames, counted from their atom-count lines, and their first `SAMPLE_MOLECULES` built."""
    source = geometry_config["sources"][FILES]
    file_format = source.get("format", "auto")
    frames = sum(count_frames(path, file_format) for path, _, _ in files.stamps)
    if source.get("max_molecules"):
        frames = min(frames, source["max_molecules"])
    # The first files alone, named: listing all of them again would cost as much as the count.
    first_files = [path for path, _, _ in files.stamps[:SAMPLE_MOLECULES]]
    sampled = min(frames, SAMPLE_MOLECULES)
    only_files = {FILES: {**source, "paths": first_files, "max_molecules": sampled}}
    return CountedSource(frames, build_pool({**geometry_config, "sources": only_files}), sampled)


def counted_space(geometry_config: dict, cache_dir) -> CountedSource:
    """The chemical space's sample, from its enumeration, and `SAMPLE_MOLECULES` of it embedded and
    distorted (spread over the sample: the enumeration's order runs from small molecules to large)."""
    from astray.geometries.chemical_space import sample_of_space
    from astray.geometries.pool import with_copies

    chosen = _chosen_molecules(geometry_config, cache_dir)
    molecules = sample_of_space(_space_spec(geometry_config), SAMPLE_MOLECULES, cache_dir)
    return CountedSource(len(chosen), with_copies(molecules, geometry_config), min(len(chosen), SAMPLE_MOLECULES))


def counted(geometry_config: dict, files: SourceFiles, build_pool, large, cache_dir=None) -> dict:
    """Each counted source of `large` by name."""
    return {
        name: counted_files(geometry_config, files, build_pool)
        if name == FILES
        else counted_space(geometry_config, cache_dir)
        for name in large
    }


def built_others(geometry_config: dict, build_pool, large) -> list:
    """The pool of every source not in `large` (ASE's sets, ions, a small space, scans): in memory, built."""
    sources = geometry_config["sources"]
    return build_pool({**geometry_config, "sources": {k: v for k, v in sources.items() if k not in large}})


def estimated_pool(
    geometry_config: dict, files: SourceFiles, build_pool, large=(FILES,), cache_dir=None
) -> PlannedPool:
    """The pool of a config with sources too large to build while planning (`large`, from
    `counted_sources`): the other sources built and each large one counted, every molecule of it getting as
    many geometries as its sampled ones do. `build_pool(config)` builds a pool (astray.geometries.pool.build_pool
    without Hessians)."""
    others = built_others(geometry_config, build_pool, large)
    geometries, molecules = len(others), len({atoms.info["molecule"] for atoms in others})
    for source in counted(geometry_config, files, build_pool, large, cache_dir).values():
        geometries += round(source.molecules * source.geometries_per_molecule)
        molecules += source.molecules
    return PlannedPool(geometries, molecules, built=False)


@dataclass
class LabelCensus:
    """What the cost estimate needs of a pool, geometry by geometry: its formula, whether it is priced on the
    unrestricted labeling path, and whether its file labels it (a PoolSummary holds the same fields)."""

    formulas: list[str]
    unrestricted: list[bool]
    provided: list[bool]

    def __len__(self) -> int:
        return len(self.formulas)

    def add(self, formula: str, unrestricted: bool, provided: bool) -> None:
        self.formulas.append(formula)
        self.unrestricted.append(unrestricted)
        self.provided.append(provided)


def estimated_census(geometry_config: dict, files: SourceFiles, build_pool, large, cache_dir=None) -> LabelCensus:
    """The labeling census of a pool with sources too large to build: the other sources' geometries as
    built, and for each large source its molecules' formulas (the files' atom lines, the space's SMILES)
    each given the equilibrium geometries and distorted copies its sampled molecules have, and the share
    of copies the sample has stretched. Seconds where building all of QM9 takes minutes."""
    others = summarize(built_others(geometry_config, build_pool, large))
    census = LabelCensus(others.formulas, others.unrestricted, others.provided)
    for name, source in counted(geometry_config, files, build_pool, large, cache_dir).items():
        if name == FILES:
            formulas = _files_formulas(geometry_config, files)
            provided = bool(geometry_config["sources"][FILES].get("labels"))
        else:
            formulas, provided = _space_formulas(geometry_config, cache_dir), False
        _add_counted(census, formulas, source, provided)
    return census


def _add_counted(census: LabelCensus, formulas, source: CountedSource, provided: bool) -> None:
    from astray.geometries.sources import EQUILIBRIUM
    from astray.labels.states import is_stretched

    # Rates per molecule the guards kept (a molecule's first conformer), as the census keeps formulas.
    kept = max(1, sum(a.info["origin"] == EQUILIBRIUM and not a.info.get("conformer") for a in source.sample))
    equilibrium = sum(atoms.info["origin"] == EQUILIBRIUM for atoms in source.sample) / kept
    copies = [atoms for atoms in source.sample if atoms.info["origin"] != EQUILIBRIUM]
    plain = [atoms for atoms in copies if not _unrestricted_by_formula(atoms.get_chemical_formula())]
    stretched = sum(map(is_stretched, plain)) / max(1, len(plain))
    # Fractional rates dealt out molecule by molecule, so the census adds up to what the sample measured.
    owed = {"equilibrium": 0.0, "copies": 0.0, "stretched": 0.0}
    for formula in formulas:
        flagged = _unrestricted_by_formula(formula)
        for kind, rate in (("equilibrium", equilibrium), ("copies", len(copies) / kept)):
            owed[kind] += rate
            for _ in range(int(owed[kind])):
                owed[kind] -= 1
                is_copy_stretched = False
                if kind == "copies":
                    owed["stretched"] += stretched
                    is_copy_stretched = owed["stretched"] >= 1
                    owed["stretched"] -= is_copy_stretched
                census.add(formula, flagged or is_copy_stretched, provided and kind == "equilibrium")


@functools.cache
def _unrestricted_by_formula(formula: str) -> bool:
    """Open shell (an odd number of electrons, neutral) or unsaturated: priced unrestricted whatever the
    geometry (astray.labels.states.may_break_spin_symmetry). Files' charges and spins are not read for the census."""
    from collections import Counter

    from ase.data import atomic_numbers
    from ase.formula import Formula

    from astray.labels.states import is_unsaturated

    counts = Counter(Formula(formula).count())
    return sum(atomic_numbers[element] * n for element, n in counts.items()) % 2 == 1 or is_unsaturated(counts)


def _files_formulas(geometry_config: dict, files: SourceFiles) -> list[str]:
    """Every frame's formula that the element, size and probe guards let through, capped at max_molecules."""
    source = geometry_config["sources"][FILES]
    elements, low, high = set(geometry_config["elements"]), geometry_config["min_atoms"], geometry_config["max_atoms"]
    formulas = []
    for path, _, _ in files.stamps:
        for symbols in frame_symbols(path, source.get("format", "auto")):
            if set(symbols) <= elements and low <= len(symbols) <= high and sorted(symbols) != ["H", "H"]:
                formulas.append(_formula(tuple(sorted(symbols))))
        if source.get("max_molecules") and len(formulas) >= source["max_molecules"]:
            return formulas[: source["max_molecules"]]
    return formulas


@functools.cache
def _formula(symbols: tuple[str, ...]) -> str:
    from ase.formula import Formula

    return Formula.from_list(list(symbols)).format("hill")


def frame_symbols(path, file_format: str = "auto") -> list[list[str]]:
    """Each frame's element symbols, from the first column of its atom lines (nothing else parsed); a file
    it cannot read gives none (the geometries job reads it and names the problem)."""
    from io import StringIO

    from astray.geometries.sources import is_qm9

    try:
        text = Path(path).read_text()
        if file_format == "qm9" or (file_format == "auto" and is_qm9(text)):
            lines = text.splitlines()
            frames = [lines[: int(lines[0]) + 2]]
        else:
            frames = list(frame_lines(StringIO(text)))
        return [[line.split()[0] for line in frame[2:]] for frame in frames]
    except (OSError, UnicodeDecodeError, ValueError, IndexError):
        return []


def _space_formulas(geometry_config: dict, cache_dir) -> list[str]:
    from rdkit import Chem
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    return [CalcMolFormula(Chem.MolFromSmiles(smiles)) for smiles in _chosen_molecules(geometry_config, cache_dir)]


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


def cached_census(cache_dir, key: str, build) -> LabelCensus:
    """The census stored under `key`, or `build()`'s stored anew (only the current key's file kept)."""
    return _cached(Path(cache_dir) / f"census-{key}.json", "census-*.json", LabelCensus, build)


def cached_summary(cache_dir, key: str, build) -> PoolSummary:
    """The summary stored under `key`, or `build()`'s (a pool whose inputs pass every check) stored anew.

    A cache file that cannot be read is rebuilt, never trusted; only the current key's file is kept.
    """
    return _cached(Path(cache_dir) / f"pool-{key}.json", "pool-*.json", PoolSummary, lambda: summarize(build()))


def record_plan(cache_dir, key: str, identity: str, config: dict, config_files: str, large=()) -> None:
    """What the last plan was made of (its config as Snakemake merged it, its pool summary's key, its
    pool's identity and the sources it only counted), so `python -m astray.plan` can estimate the
    campaign's cost from exactly what Snakemake planned."""
    record = {
        "config": config,
        "config_files": config_files,
        "pool_key": key,
        "pool_identity": identity,
        "counted_sources": list(large),
    }
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
