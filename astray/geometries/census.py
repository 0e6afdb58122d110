"""What planning and the cost estimate need of a built pool, one entry per geometry: its molecule, origin,
formula and labeling path, and the pool's elements. The geometries job writes it beside the pool; kept apart
from astray.campaign.pool_plan so that changing how a plan is made never rebuilds a pool.
"""

from dataclasses import dataclass


@dataclass
class PoolSummary:
    molecules: list[str]  # molecule of each geometry, in pool order
    origins: list[str]  # origin of each geometry, in pool order
    formulas: list[str]  # chemical formula of each geometry, in pool order (for the cost estimate)
    unrestricted: list[bool]  # open shell, or may break spin symmetry: priced on the unrestricted labeling path
    elements: list[str]
    provided: list[bool]  # labeled by its file, not computed (astray.labels.from_files)

    def __len__(self) -> int:
        return len(self.molecules)

    def count(self, assignment: dict, split: str, origins) -> int:
        """Geometries of the molecules assigned to `split` whose origin is one of `origins`."""
        return sum(assignment[m] == split and o in origins for m, o in zip(self.molecules, self.origins))


def summarize(pool) -> PoolSummary:
    from astray.labels.from_files import has_provided
    from astray.labels.states import charge_and_multiplicity, may_break_spin_symmetry  # only where a pool is summarised

    return PoolSummary(
        molecules=[atoms.info["molecule"] for atoms in pool],
        origins=[atoms.info["origin"] for atoms in pool],
        formulas=[atoms.get_chemical_formula() for atoms in pool],
        unrestricted=[charge_and_multiplicity(atoms)[1] != 1 or may_break_spin_symmetry(atoms) for atoms in pool],
        elements=sorted({symbol for atoms in pool for symbol in atoms.get_chemical_symbols()}),
        provided=[has_provided(atoms) for atoms in pool],
    )
