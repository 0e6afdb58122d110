"""A QM9-like chemical space generated here, not downloaded: every neutral closed-shell molecule of up to
a given number of heavy atoms that obeys valence, behind named stability filters, embedded in 3D with
ETKDG and relaxed with a force field, deterministically.

Molecules are grown as heavy-atom graphs (hydrogens implicit), one atom, one bond order or one ring
closure at a time, and deduplicated by RDKit's canonical SMILES. Filters are applied only at the end: a
filtered molecule can be the parent of an accepted one.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from rdkit import Chem
from rdkit import __version__ as rdkit_version
from rdkit.Chem import rdDistGeom, rdForceFieldHelpers
from rdkit.Chem.rdMolDescriptors import CalcMolFormula

from astray.bonding import bonds
from astray.geometries.sources import GeometrySourceError, tagged
from astray.io import write_atomically

# Standard valences: with every atom at its own one and no formal charges, a neutral molecule is closed
# shell. S is divalent only (no sulfoxides or sulfones): the same rule as C, N, O, F.
VALENCES = {"C": 4, "N": 3, "O": 2, "F": 1, "S": 2, "Cl": 1}
MAX_BOND_ORDER = 3
# Refuse to enumerate when the estimated number of graphs (before filters) exceeds this: enumeration runs
# at about 2,000 graphs a second here, and every molecule that passes is embedded (~5 ms each) while
# Snakemake plans (benchmarks/README.md: 47,521 graphs up to 6 heavy atoms, 3 minutes in all).
MAX_ENUMERATED = 60_000
FORCE_FIELD_ITERATIONS = 2000


class ChemicalSpaceError(GeometrySourceError):
    """A chemical-space config that cannot be enumerated; the message names the config key."""


@dataclass(frozen=True)
class StabilityFilter:
    description: str
    smarts: str
    default: bool


# GDB-style rules: molecules that valence allows but that are too strained or too reactive to be stable
# compounds (Fink & Reymond 2007, Blum & Reymond 2009, Ruddigkeit et al. 2012). Each removes a molecule
# that contains the SMARTS pattern.
FILTERS = {
    "no_cumulated_double_bonds": StabilityFilter(
        "no atom with two double bonds: allenes, ketenes, isocyanates, carbodiimides and CO2",
        "[*]=[*]=[*]",
        True,
    ),
    "no_triple_bonds_in_rings": StabilityFilter(
        "no triple bond in a ring (rings of up to 8 atoms cannot hold the 180° angle of a triple bond)",
        "[*]#;@[*]",
        True,
    ),
    "no_double_bonds_in_three_membered_rings": StabilityFilter(
        "no double bond in or out of a three-membered ring atom (cyclopropenes, methylenecyclopropanes, "
        "azirines, oxiranones): 50+ kcal/mol of strain",
        "[r3]=[*]",
        True,
    ),
    "no_bridgehead_atoms_in_small_rings": StabilityFilter(
        "no atom shared by two rings of three or four atoms (bicyclobutanes, propellanes, tetrahedrane)",
        "[!R0;!R1;r3,r4]",
        True,
    ),
    "no_triplet_ground_states": StabilityFilter(
        "no O=O: molecular oxygen's ground state is a triplet, not the closed shell its valences suggest",
        "O=O",
        True,
    ),
    "no_heteroatom_single_bonds": StabilityFilter(
        "no single bond between two of N, O, F (hydrazines, hydroxylamines, peroxides, NF/OF bonds); off by "
        "default: QM9 keeps some, and they are the weak bonds a dissociation study wants to see",
        "[N,O,F]-[N,O,F]",
        False,
    ),
    "no_geminal_heteroatoms": StabilityFilter(
        "no sp3 carbon carrying two of N, O, F (aminals, acetals, hemiacetals, gem-diols): they eliminate "
        "water or amine; off by default",
        "[CX4]([N,O,F])[N,O,F]",
        False,
    ),
    "no_enols": StabilityFilter(
        "no OH or NH on a C=C carbon (enols, enamines): tautomers of a carbonyl or imine; off by default",
        "[OX2H1,NX3H1,NX3H2][CX3]=[CX3]",
        False,
    ),
}


@dataclass(frozen=True)
class Graph:
    """Heavy atoms and bonds (i, j, order), i < j, sorted; hydrogens fill every atom's remaining valence."""

    symbols: tuple[str, ...]
    bonds: tuple[tuple[int, int, int], ...]

    def free_valence(self) -> list[int]:
        used = [0] * len(self.symbols)
        for i, j, order in self.bonds:
            used[i] += order
            used[j] += order
        return [VALENCES[s] - u for s, u in zip(self.symbols, used)]

    def with_atom(self, symbol: str, neighbour: int) -> "Graph":
        return Graph((*self.symbols, symbol), (*self.bonds, (neighbour, len(self.symbols), 1)))

    def with_bond(self, i: int, j: int) -> "Graph":
        """One more bond order between i and j: a new single bond (a ring closure) or a higher order."""
        others = [bond for bond in self.bonds if bond[:2] != (i, j)]
        return Graph(self.symbols, tuple(sorted([*others, (i, j, self.order(i, j) + 1)])))

    def order(self, i: int, j: int) -> int:
        return next((order for a, b, order in self.bonds if (a, b) == (i, j)), 0)


def _rdkit_molecule(graph: Graph):
    types = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE}
    molecule = Chem.RWMol()
    for symbol in graph.symbols:
        molecule.AddAtom(Chem.Atom(symbol))
    for i, j, order in graph.bonds:
        molecule.AddBond(i, j, types[order])
    molecule.UpdatePropertyCache(strict=False)
    return molecule


def _kekule_key(graph: Graph) -> str:
    """Canonical SMILES of this very bond pattern, without aromaticity perception: benzene's two Kekulé
    structures stay two states, so growing from either reaches every molecule (see `enumerate_graphs`)."""
    return Chem.MolToSmiles(_rdkit_molecule(graph))


def _bond_steps(graph: Graph, free=None) -> list[Graph]:
    free = free or graph.free_valence()
    n = len(graph.symbols)
    return [
        graph.with_bond(i, j)
        for i in range(n)
        for j in range(i + 1, n)
        if free[i] >= 1 and free[j] >= 1 and graph.order(i, j) < MAX_BOND_ORDER
    ]


def enumerate_graphs(elements, max_heavy_atoms: int, on_level=None) -> dict[int, dict[str, Graph]]:
    """Every connected heavy-atom graph of up to `max_heavy_atoms` atoms, by size, keyed by Kekulé SMILES.

    Complete: removing a non-cut atom (a leaf of a spanning tree) from a valid graph leaves a valid graph
    one atom smaller, and the removed atom is restored by one `with_atom` step and then `with_bond` steps,
    each through valid graphs. So level n is the `with_bond` closure of level n-1's `with_atom` children.
    """
    levels = {1: {}}
    for element in elements:
        graph = Graph((element,), ())
        levels[1][_kekule_key(graph)] = graph
    levels[1] = _bond_closure(levels[1])
    for size in range(2, max_heavy_atoms + 1):
        grown = {}
        for graph in levels[size - 1].values():
            free = graph.free_valence()
            for child in (graph.with_atom(e, i) for i in range(size - 1) if free[i] >= 1 for e in elements):
                grown.setdefault(_kekule_key(child), child)
        levels[size] = _bond_closure(grown)
        if on_level:
            on_level(size, len(levels[size]))
    return levels


def _bond_closure(graphs: dict[str, Graph]) -> dict[str, Graph]:
    closed = dict(graphs)
    frontier = list(graphs.values())
    while frontier:
        new = []
        for graph in frontier:
            for child in _bond_steps(graph):
                key = _kekule_key(child)
                if key not in closed:
                    closed[key] = child
                    new.append(child)
        frontier = new
    return closed


def resolved_filters(requested: dict) -> dict[str, bool]:
    """Every filter's switch: the config's where it sets one, the filter's default elsewhere."""
    unknown = sorted(set(requested) - set(FILTERS))
    if unknown:
        raise ChemicalSpaceError(
            f"geometries.sources.chemical_space.filters: unknown {unknown}; astray knows {', '.join(FILTERS)}"
        )
    return {name: bool(requested.get(name, rule.default)) for name, rule in FILTERS.items()}


def check_elements(elements, pool_elements) -> None:
    unknown = [e for e in elements if e not in VALENCES]
    if unknown:
        raise ChemicalSpaceError(
            f"geometries.sources.chemical_space.elements: {unknown} have no standard valence in astray's table; "
            f"it knows {', '.join(VALENCES)}"
        )
    outside = [e for e in (*elements, "H") if e not in pool_elements]
    if outside:
        raise ChemicalSpaceError(
            f"geometries.sources.chemical_space.elements: {outside} are outside geometries.elements "
            f"{list(pool_elements)}, so every molecule containing them would be filtered out again"
        )


def estimated_graphs(elements, max_heavy_atoms: int) -> int:
    """A lower bound on the graphs to enumerate, from the exact counts up to 4 heavy atoms (well under a
    second) grown by their last ratio; the true ratio rises with size (CNOF: 4.9, 6.6, 7.6, 8.9)."""
    known = {size: len(graphs) for size, graphs in enumerate_graphs(elements, min(max_heavy_atoms, 4)).items()}
    last = max(known)
    ratio = known[last] / known[last - 1] if last > 1 else len(elements)
    return sum(known.values()) + sum(
        round(known[last] * ratio ** (size - last)) for size in range(last + 1, max_heavy_atoms + 1)
    )


def is_wanted(source) -> bool:
    """Whether the config asks for a chemical space: a section with max_heavy_atoms of 1 or more (0 turns
    off a section another config file set)."""
    return bool(source) and source.get("max_heavy_atoms", 0) > 0


def check_size(elements, max_heavy_atoms: int) -> None:
    if max_heavy_atoms < 1:
        raise ChemicalSpaceError(
            "geometries.sources.chemical_space.max_heavy_atoms must be at least 1 (0 leaves the source out)"
        )
    estimate = estimated_graphs(elements, max_heavy_atoms)
    if estimate > MAX_ENUMERATED:
        raise ChemicalSpaceError(
            f"geometries.sources.chemical_space.max_heavy_atoms: {max_heavy_atoms} heavy atoms of {list(elements)} "
            f"give at least ~{estimate:,} graphs to enumerate, more than astray's limit of {MAX_ENUMERATED:,} "
            "(minutes of planning before the embedding); lower max_heavy_atoms or use fewer elements"
        )


def stable_molecules(elements, max_heavy_atoms: int, filters: dict[str, bool], atom_window=(1, 10**6)):
    """(sorted canonical SMILES that pass the switched-on filters and have a total atom count within
    `atom_window`, counts per heavy-atom count: enumerated, removed by each filter and by size)."""
    patterns = {name: Chem.MolFromSmarts(FILTERS[name].smarts) for name, on in filters.items() if on}
    accepted, counts = [], {}
    for size, graphs in enumerate_graphs(elements, max_heavy_atoms).items():
        unique = {}
        for graph in graphs.values():
            molecule = _rdkit_molecule(graph).GetMol()
            Chem.SanitizeMol(molecule)
            unique.setdefault(Chem.MolToSmiles(molecule), molecule)
        level = counts[size] = {"enumerated": len(unique), "outside_atom_window": 0} | {name: 0 for name in patterns}
        for smiles, molecule in sorted(unique.items()):
            hit = next((name for name, pattern in patterns.items() if molecule.HasSubstructMatch(pattern)), None)
            n_atoms = size + sum(atom.GetTotalNumHs() for atom in molecule.GetAtoms())
            if hit:
                level[hit] += 1
            elif not atom_window[0] <= n_atoms <= atom_window[1]:
                level["outside_atom_window"] += 1
            else:
                accepted.append(smiles)
        level["accepted"] = level["enumerated"] - sum(v for k, v in level.items() if k != "enumerated")
    return accepted, counts


def sampled(smiles_list, sample: int, seed: int) -> list[str]:
    """A seeded random sample of `sample` molecules (all of them for 0), in the input order. A molecule's
    rank depends only on its own SMILES and the seed, so a larger sample holds every smaller one and
    enlarging the space leaves the molecules already drawn in place."""
    if not sample or sample >= len(smiles_list):
        return list(smiles_list)
    rank = {s: hashlib.sha256(f"{seed}:{s}".encode()).hexdigest() for s in smiles_list}
    chosen = set(sorted(smiles_list, key=rank.get)[:sample])
    return [s for s in smiles_list if s in chosen]


class EmbeddingFailure(ValueError):
    """A molecule that has no trustworthy 3D geometry; the message is the reason."""


def embedded_conformers(smiles: str, conformers: int, seed: int, force_field: str):
    """(element symbols, list of relaxed positions in Å, force field used) of one molecule.

    ETKDG (v3) embeds, then the force field relaxes each conformer; both are seeded and single-threaded, so
    the same inputs give the same bytes. MMFF94 has no parameters for a few tiny molecules (HF): those
    fall back to UFF, and the force field is recorded on the geometry.
    """
    molecule = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = rdDistGeom.ETKDGv3()
    # RDKit's generator (boost's minstd_rand) takes seed 0 as 1: shifted, every config seed is its own stream.
    params.randomSeed = seed + 1
    params.numThreads = 1
    ids = list(rdDistGeom.EmbedMultipleConfs(molecule, conformers, params))
    if not ids:
        raise EmbeddingFailure("ETKDG found no 3D embedding (distance bounds cannot be satisfied)")
    if force_field == "mmff94" and not rdForceFieldHelpers.MMFFHasAllMoleculeParams(molecule):
        force_field = "uff"
    if force_field == "mmff94":
        results = rdForceFieldHelpers.MMFFOptimizeMoleculeConfs(molecule, numThreads=1, maxIters=FORCE_FIELD_ITERATIONS)
    elif rdForceFieldHelpers.UFFHasAllMoleculeParams(molecule):
        results = rdForceFieldHelpers.UFFOptimizeMoleculeConfs(molecule, numThreads=1, maxIters=FORCE_FIELD_ITERATIONS)
    else:
        raise EmbeddingFailure("neither MMFF94 nor UFF has parameters for it")
    if any(not_converged for not_converged, _ in results):
        raise EmbeddingFailure(f"{force_field} did not converge in {FORCE_FIELD_ITERATIONS} iterations")
    symbols = [atom.GetSymbol() for atom in molecule.GetAtoms()]
    positions = [molecule.GetConformer(i).GetPositions() for i in ids]
    bonded = connectivity_key(symbols, _graph_edges(molecule))
    for number, xyz in enumerate(positions):
        if connectivity_key(symbols, perceived_edges(symbols, xyz)) != bonded:
            raise EmbeddingFailure(f"conformer {number}'s 3D geometry has other bonds than its graph")
    return symbols, positions, force_field


def _graph_edges(molecule) -> list[tuple[int, int]]:
    return [(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()) for bond in molecule.GetBonds()]


def perceived_edges(symbols, positions) -> list[tuple[int, int]]:
    """Bonded atom pairs of a 3D geometry: astray's one bond definition (1.2 times the covalent radii,
    the one bond scaling uses). RDKit's xyz bond perception (DetermineConnectivity) bonds the 1.96 Å
    diagonal of cyclobutadiene and 1.93 Å ones of other four-membered rings, so it would reject 140 of the
    3,276 molecules of up to 5 heavy atoms as mis-embedded."""
    return bonds(Atoms(symbols, positions=positions))


def connectivity_key(symbols, edges) -> str:
    """Canonical SMILES of the bare connectivity (all atoms explicit, all bonds single): the same for two
    geometries of one molecule, whatever their bond lengths, atom order or source."""
    molecule = Chem.RWMol()
    for symbol in symbols:
        atom = Chem.Atom(symbol)
        atom.SetNoImplicit(True)
        molecule.AddAtom(atom)
    for i, j in edges:
        molecule.AddBond(int(i), int(j), Chem.BondType.SINGLE)
    molecule.UpdatePropertyCache(strict=False)
    return Chem.MolToSmiles(molecule)


@dataclass(frozen=True)
class SpaceSpec:
    """The chemical-space source's config, with every default and filter switch filled in."""

    elements: tuple[str, ...]
    max_heavy_atoms: int
    filters: dict
    conformers: int
    force_field: str
    seed: int
    sample: int
    atom_window: tuple[int, int]  # geometries.min_atoms, max_atoms: counted with the hydrogens

    @classmethod
    def from_config(cls, source: dict, geometries: dict) -> "SpaceSpec":
        """From the validated config: the schema (config/schema.yaml) has filled in every default."""
        elements = tuple(source["elements"])
        check_elements(elements, geometries["elements"])
        check_size(elements, source["max_heavy_atoms"])
        return cls(
            elements=elements,
            max_heavy_atoms=source["max_heavy_atoms"],
            filters=resolved_filters(source["filters"]),
            conformers=source["conformers"],
            force_field=source["force_field"],
            seed=source["seed"],
            sample=source["sample"],
            atom_window=(geometries["min_atoms"], geometries["max_atoms"]),
        )

    def enumeration_key(self) -> str:
        """Changes with what the enumeration depends on: elements, size, filters, atom window, RDKit, code."""
        fields = [self.elements, self.max_heavy_atoms, self.filters, self.atom_window]
        payload = json.dumps([fields, rdkit_version, Path(__file__).read_text()], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:20]

    def key(self) -> str:
        """Changes with the spec, RDKit's version and this module's code: what the geometries depend on."""
        payload = json.dumps([self.__dict__, rdkit_version, Path(__file__).read_text()], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:20]


def enumerated_space(spec: SpaceSpec, cache_dir=None) -> dict:
    """The molecules that pass the filters and the atom window, {"accepted": [SMILES], "counts": {...}},
    kept in `cache_dir` apart from their embedding: a space too large to embed while planning is planned
    from this alone (seconds, against minutes to embed)."""
    path = Path(cache_dir) / f"chemical_space_enumeration-{spec.enumeration_key()}.json" if cache_dir else None
    if path:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass  # absent, or cut short by a killed writer: enumerate again, never trust it
    accepted, counts = stable_molecules(spec.elements, spec.max_heavy_atoms, spec.filters, spec.atom_window)
    if not accepted:
        raise ChemicalSpaceError(
            f"geometries.sources.chemical_space: no molecule of {list(spec.elements)} "
            f"with up to {spec.max_heavy_atoms} "
            f"heavy atoms passes the filters and has geometries.min_atoms..max_atoms = {spec.atom_window} atoms"
        )
    enumeration = {"accepted": accepted, "counts": {str(size): level for size, level in counts.items()}}
    if path:
        write_atomically(path, lambda temporary: temporary.write_text(json.dumps(enumeration)), shared=True)
    return enumeration


def chosen_molecules(spec: SpaceSpec, cache_dir=None) -> list[str]:
    """The SMILES of the molecules the source takes: its seeded sample of the enumerated space."""
    return sampled(enumerated_space(spec, cache_dir)["accepted"], spec.sample, spec.seed)


def embedded_molecules(smiles_list, spec: SpaceSpec) -> tuple[list[dict], list[dict]]:
    """(records of the molecules embedded, in plain JSON types; failures with their reasons)."""
    molecules, failures = [], []
    for smiles in smiles_list:
        graph = Chem.MolFromSmiles(smiles)
        heavy = graph.GetNumAtoms()
        try:
            symbols, conformers, force_field = embedded_conformers(smiles, spec.conformers, spec.seed, spec.force_field)
        except EmbeddingFailure as failure:
            failures.append({"smiles": smiles, "heavy_atoms": heavy, "reason": str(failure)})
            continue
        molecules.append(
            {
                "smiles": smiles,
                "inchikey": Chem.MolToInchiKey(graph),
                "formula": CalcMolFormula(graph),
                "heavy_atoms": heavy,
                "force_field": force_field,
                "symbols": symbols,
                "conformers": [xyz.tolist() for xyz in conformers],
            }
        )
    return molecules, failures


def build_space(spec: SpaceSpec, log=None, cache_dir=None) -> dict:
    """Enumerate, filter, sample and embed: {"molecules": [...], "failures": [...], "counts": {...}}, in
    plain JSON types (positions as lists of floats, which JSON round-trips exactly)."""
    enumeration = enumerated_space(spec, cache_dir)
    chosen = sampled(enumeration["accepted"], spec.sample, spec.seed)
    molecules, failures = embedded_molecules(chosen, spec)
    counts = {size: dict(level) for size, level in enumeration["counts"].items()}
    for size, level in counts.items():
        size = int(size)
        level["sampled_out"] = level.pop("accepted") - sum(
            1 for s in chosen if Chem.MolFromSmiles(s).GetNumAtoms() == size
        )
        level["not_embedded"] = sum(1 for f in failures if f["heavy_atoms"] == size)
        level["embedded"] = sum(1 for m in molecules if m["heavy_atoms"] == size)
    if log:
        log(f"chemical space: {len(molecules)} molecules embedded, {len(failures)} not: {failures_summary(failures)}")
    return {"molecules": molecules, "failures": failures, "counts": counts}


def sample_of_space(spec: SpaceSpec, count: int, cache_dir=None) -> list[Atoms]:
    """`count` of the source's molecules spread evenly over its sample, embedded as the source embeds them:
    what planning measures a large space's distortions on (a molecule that fails to embed is left out)."""
    chosen = chosen_molecules(spec, cache_dir)
    step = max(1, len(chosen) // count)
    molecules, _ = embedded_molecules(chosen[::step][:count], spec)
    return space_molecules({"molecules": molecules})


def failures_summary(failures) -> str:
    reasons = {}
    for failure in failures:
        reasons.setdefault(failure["reason"], []).append(failure["smiles"])
    return (
        "; ".join(
            f"{reason} ({len(names)}: {', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
            for reason, names in sorted(reasons.items())
        )
        or "none"
    )


def cached_space(spec: SpaceSpec, cache_dir=None, log=None) -> dict:
    """`build_space(spec)`, read from `cache_dir` when it holds this spec's result (planning and the
    geometries job build the same space; minutes at 6 heavy atoms), else built and stored there."""
    if cache_dir is None:
        return build_space(spec, log)
    path = Path(cache_dir) / f"chemical_space-{spec.key()}.json"
    try:
        space = json.loads(path.read_text())
    except (OSError, ValueError):
        pass  # absent, or cut short by a killed writer: rebuild, never trust it
    else:
        if log:
            log(f"chemical space: {len(space['molecules'])} molecules read from {path}")
        return space
    space = build_space(spec, log, cache_dir)
    write_atomically(path, lambda temporary: temporary.write_text(json.dumps(space)), shared=True)
    return space


def space_molecules(space: dict) -> list[Atoms]:
    """One tagged equilibrium geometry per conformer; the molecule (the unit of the split) is its
    canonical SMILES, the geometry id that SMILES with `:conf{k}` for every conformer after the first."""
    geometries = []
    for record in space["molecules"]:
        for number, positions in enumerate(record["conformers"]):
            geometry_id = record["smiles"] if number == 0 else f"{record['smiles']}:conf{number}"
            atoms = tagged(
                Atoms(record["symbols"], positions=np.array(positions)),
                record["smiles"],
                "chemical_space",
                charge=0,
                multiplicity=1,
                geometry_id=geometry_id,
            )
            atoms.info.update(
                {key: record[key] for key in ("smiles", "inchikey", "formula", "heavy_atoms", "force_field")}
            )
            atoms.info["conformer"] = number
            geometries.append(atoms)
    return geometries


def space_report(geometries: dict, cache_dir=None) -> dict:
    """What the chemical-space source made of its space, for results/geometries/chemical_space.json:
    counts per heavy-atom count (enumerated, removed by each filter and by size, sampled out, not
    embedded, embedded) and every molecule that could not be embedded, with the reason. Empty when the
    campaign has no chemical space."""
    source = geometries["sources"].get("chemical_space")
    if not is_wanted(source):
        return {}
    spec = SpaceSpec.from_config(source, geometries)
    space = cached_space(spec, cache_dir)
    filters = {name: {"on": on, "removes": FILTERS[name].description} for name, on in spec.filters.items()}
    return {"filters": filters, "counts_by_heavy_atoms": space["counts"], "not_embedded": space["failures"]}
