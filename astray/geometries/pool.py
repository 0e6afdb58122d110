"""The geometry pool of a campaign: equilibrium molecules from every source, their distorted copies and
scans, behind its guards (element, size and charge filters, the probe-leakage guard, a minimum
interatomic distance, duplicate removal), with one molecule name per chemical species.

The pool is ordered molecule by molecule (each followed by its distortions), then the scans point by
point, so neighbouring geometries are close and a labeling chunk can warm-start one from the other.
"""

from collections import Counter

import numpy as np
from ase import Atoms
from scipy.spatial import cKDTree

from astray.geometries.distortions import (
    BOND_SCALED,
    NORMAL_MODE,
    RATTLED,
    bond_scaled_copies,
    check_hessian_level,
    harmonic_hessian,
    min_interatomic_distance,
    normal_mode_copies,
    rattled_copies,
    sorted_distances,
)
from astray.geometries.sources import (
    EQUILIBRIUM,
    SCAN,
    GeometrySourceError,
    collection_molecules,
    file_molecules,
    ion_molecules,
    scan_geometries,
    species_molecule,
)

ORIGINS = (EQUILIBRIUM, BOND_SCALED, RATTLED, NORMAL_MODE, SCAN)

__all__ = ["EQUILIBRIUM", "ORIGINS", "GeometrySourceError", "build_pool", "is_probe_molecule"]


def is_probe_molecule(atoms: Atoms) -> bool:
    """Two hydrogens and nothing else (H2, H2+, two protons): the probes. Letting one into the data would
    answer the probe question by memory."""
    return sorted(atoms.get_chemical_symbols()) == ["H", "H"]


def equilibrium_molecules(config: dict, cache_dir=None, log=None) -> list[Atoms]:
    """Molecules of every source that pass the element, size, charge and probe guards, one name per
    chemical species (see `merged_identities`).

    Molecules a source lists by name (ASE names, ions) must pass them or the config is wrong; molecules
    found by a filter (a whole collection, a folder of files, the chemical space) that do not pass are
    skipped. The chemical space is built once per spec and kept in `cache_dir`.
    """
    sources = config["sources"]
    candidates = []  # (molecule, config key if it was asked for by name)
    ase = sources.get("ase")
    if ase and ase["collection"] != "none":
        names = ase.get("names", [])
        key = "geometries.sources.ase.names" if names else None
        candidates += [(m, key) for m in collection_molecules(ase["collection"], names)]
    files = sources.get("files")
    if files and files.get("paths"):
        found = file_molecules(
            files["paths"], files.get("format", "auto"), files.get("max_molecules"), files.get("labels")
        )
        candidates += [(m, None) for m in found]
    # Imported here: RDKit takes half a second to load, and most jobs that read geometries never need it.
    from astray.geometries.chemical_space import SpaceSpec, cached_space, is_wanted, space_molecules

    if is_wanted(sources.get("chemical_space")):
        space = cached_space(SpaceSpec.from_config(sources["chemical_space"], config), cache_dir, log)
        candidates += [(m, None) for m in space_molecules(space)]
    candidates += [(m, "geometries.sources.ions") for m in ion_molecules(sources.get("ions", []))]
    passed = [molecule for molecule, key in candidates if _passes_guards(molecule, config, key)]
    return merged_identities(passed, log)


def chemical_identity(atoms: Atoms) -> tuple[str, int, int]:
    """Connectivity of the 3D geometry (astray's bond definition, as a canonical SMILES by RDKit), total
    charge and spin: what makes two geometries one species, whatever their source, name or atom order."""
    from astray.geometries.chemical_space import (  # RDKit only where identities are needed
        connectivity_key,
        perceived_edges,
    )

    symbols = atoms.get_chemical_symbols()
    edges = perceived_edges(symbols, atoms.positions)
    return connectivity_key(symbols, edges), atoms.info["charge"], atoms.info["multiplicity"]


def merged_identities(molecules: list[Atoms], log=None) -> list[Atoms]:
    """The molecules with one name per chemical species: a species that two sources (or two entries of
    one) provide takes the name it first appeared under, so the split cannot put G2's water in training
    and QM9's water in the test set. Merged, not refused: both geometries are valid data of one molecule,
    and refusing would make every user who combines G2 with QM9 edit one of them by hand. The geometry
    ids stay apart, and the geometries of one species move next to each other (labeling warm-starts from
    a neighbour); each merge is logged."""
    first_name = {}
    merges = []
    for atoms in molecules:
        name = first_name.setdefault(chemical_identity(atoms), atoms.info["molecule"])
        if name != atoms.info["molecule"]:
            merges.append(f"{atoms.info['molecule']} ({atoms.info['source']}) as {name}")
            atoms.info["molecule"] = name
    if log and merges:
        log(f"{len(merges)} molecules are species already in the pool and share its name: {'; '.join(merges)}")
    order = {name: rank for rank, name in enumerate(dict.fromkeys(a.info["molecule"] for a in molecules))}
    return sorted(molecules, key=lambda atoms: order[atoms.info["molecule"]])


def _passes_guards(molecule: Atoms, config: dict, asked_by: str | None) -> bool:
    name = molecule.info["molecule"]
    problems = []
    outside = sorted(set(molecule.get_chemical_symbols()) - set(config["elements"]))
    if outside:
        problems.append(f"has elements {outside} outside geometries.elements")
    if not config["min_atoms"] <= len(molecule) <= config["max_atoms"]:
        problems.append(f"has {len(molecule)} atoms, outside geometries.min_atoms..max_atoms")
    charges = config.get("charges", [])
    if charges and molecule.info["charge"] not in charges:
        problems.append(f"has charge {molecule.info['charge']}, not in geometries.charges {charges}")
    if is_probe_molecule(molecule) and not config["include_probe"]:
        problems.append("is a probe system (two hydrogens); set geometries.include_probe: true for that ablation")
    if problems and asked_by:
        raise GeometrySourceError(f"{asked_by}: '{name}' {'; '.join(problems)}")
    return not problems


def scans(config: dict, names_by_identity=None) -> list[Atoms]:
    """Every scan's points; a scan of a species already in the pool takes that molecule's name
    (`names_by_identity`), so the split keeps the scan beside its equilibrium geometry."""
    names_by_identity = names_by_identity or {}
    points = []
    for number, scan in enumerate(config["sources"].get("scans", [])):
        scanned = scan_geometries(scan)
        # A scan is asked for by name: any guard it fails (elements, size, charge, probe) is an error.
        _passes_guards(scanned[0], config, f"geometries.sources.scans[{number}]")
        start = species_molecule(scan["species"], scanned[0].info["charge"])
        start.info["multiplicity"] = scanned[0].info["multiplicity"]
        name = names_by_identity.get(chemical_identity(start))
        for point in scanned:
            point.info["molecule"] = name or point.info["molecule"]
        points += [p for p in scanned if min_interatomic_distance(p) >= config["min_distance"]]
    return points


def distorted_copies(molecule: Atoms, config: dict, hessian=None) -> list[Atoms]:
    """Every distortion the config asks for, of one equilibrium molecule. Without a Hessian the
    normal-mode samples are placeholders: their ids, origin and number, at the equilibrium positions."""
    distortions = config["distortions"]
    scaling, rattle, modes = distortions["bond_scaling"], distortions["rattle"], distortions["normal_modes"]
    min_distance = config["min_distance"]
    copies = bond_scaled_copies(
        molecule, scaling["factors"], min_distance, scaling.get("element_pairs", []), scaling.get("per_molecule", 0),
        scaling.get("seed", 0), config["duplicate_tolerance"],
    )  # fmt: skip
    copies += rattled_copies(molecule, rattle["copies"], rattle["sigma"], rattle["seed"], min_distance)
    if modes["samples"]:
        copies += normal_mode_copies(
            molecule, hessian, modes["samples"], modes["temperature"], modes["seed"], min_distance
        )
    return copies


def with_copies(molecules: list[Atoms], config: dict) -> list[Atoms]:
    """Equilibrium molecules that pass the guards, each followed by its distorted copies as `build_pool`
    makes them without Hessians (no scans, no duplicate removal): what planning measures a large
    source's geometries per molecule on."""
    kept = [molecule for molecule in molecules if _passes_guards(molecule, config, None)]
    return [geometry for molecule in kept for geometry in (molecule, *distorted_copies(molecule, config))]


def build_pool(
    config: dict, sample_normal_modes: bool = True, threads: int | None = None, log=None, cache_dir=None
) -> list[Atoms]:
    """All geometries to label, in a deterministic order, duplicates removed.

    `sample_normal_modes=False` skips the Hessians (seconds per molecule each): Snakemake plans from that
    pool, which differs from the real one only in the positions of the normal-mode samples. `cache_dir`
    keeps the embedded chemical space between planning and the geometries job.
    """
    modes = config["distortions"]["normal_modes"]
    pool = []
    molecules = equilibrium_molecules(config, cache_dir, log)
    if sample_normal_modes and modes["samples"]:
        # Planning checks this only where it knows the pool's elements: before hours of Hessians, here too.
        check_hessian_level(modes["method"], modes["basis"], {s for m in molecules for s in m.get_chemical_symbols()})
    for molecule in molecules:
        hessian = None
        if sample_normal_modes and modes["samples"]:
            hessian = harmonic_hessian(molecule, modes["method"], modes["basis"], threads)
            if log:
                log(f"Hessian of {molecule.info['molecule']} ({modes['method']}/{modes['basis']}) done")
        pool.append(molecule)
        pool += distorted_copies(molecule, config, hessian)
    if config["sources"].get("scans"):
        pool += scans(config, {chemical_identity(m): m.info["molecule"] for m in molecules})
    pool = without_duplicates(pool, config["duplicate_tolerance"], log)
    _check_unique_ids(pool)
    return pool


def without_duplicates(pool: list[Atoms], tolerance: float, log=None) -> list[Atoms]:
    """The pool without geometries that repeat an earlier one (same atoms, charge and spin; every sorted
    interatomic distance within `tolerance` Å). Normal-mode samples are random draws and always kept, so
    their number is known before they are drawn."""
    if tolerance <= 0:
        return pool
    duplicates = set()
    groups = {}
    for index, atoms in enumerate(pool):
        if atoms.info["origin"] != NORMAL_MODE and len(atoms) > 1:
            state = (atoms.get_chemical_formula(), atoms.info["charge"], atoms.info["multiplicity"])
            groups.setdefault(state, []).append(index)
    for indices in groups.values():
        fingerprints = np.array([sorted_distances(pool[i].positions) for i in indices])
        for first, second in sorted(cKDTree(fingerprints).query_pairs(tolerance, p=np.inf)):
            if indices[first] not in duplicates:
                duplicates.add(indices[second])
    if log and duplicates:
        removed = Counter(pool[i].info["origin"] for i in duplicates)
        log(f"removed {len(duplicates)} duplicate geometries: {dict(sorted(removed.items()))}")
    return [atoms for index, atoms in enumerate(pool) if index not in duplicates]


def _check_unique_ids(pool) -> None:
    counts = Counter(atoms.info["geometry_id"] for atoms in pool)
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        raise GeometrySourceError(
            f"geometries.sources: geometry ids {repeated[:5]} occur more than once (the same molecule name from "
            "two sources or files); give each molecule a unique name"
        )
