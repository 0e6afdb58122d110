"""The package's folders are the pipeline's stages, and their imports form no cycle: every stage's code can
be read, tested and changed from its own folder and the stages below it, never needing one above."""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "astray"
STAGES = ("geometries", "labels", "datasets", "models", "evaluation", "report", "campaign")
# What every stage may use: facts of one molecule, units, files, conventions, the schema's defaults.
SHARED = ("bonding", "config_schema", "conventions", "io", "provenance", "units")


def part_of(module: str) -> str:
    """The folder (stage package) or top-level module `astray.<part>...` belongs to."""
    return module.split(".")[1] if "." in module else module


def imports() -> dict[str, set[tuple[str, str]]]:
    """Per part of the package, the other parts it imports (anywhere in a file, inside functions too) and where."""
    found = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        importer = part_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.startswith("astray.") and part_of(name) != importer:
                    found[importer].add((part_of(name), str(path.relative_to(PACKAGE.parent))))
    return found


def test_every_stage_is_a_folder_and_every_other_module_is_shared_or_an_entry_point():
    folders = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    assert folders == set(STAGES)
    assert modules == {*SHARED, "plan"}  # plan: python -m astray.plan


@pytest.mark.parametrize("shared", SHARED)
def test_shared_modules_import_no_stage(shared):
    assert not {part for part, _ in imports().get(shared, ())} & {*STAGES, "plan"}


def test_no_import_arrow_closes_a_cycle():
    graph = {part: {target for target, _ in edges} for part, edges in imports().items()}

    def reaches(start, goal, seen=()):
        return any(
            step == goal or (step not in seen and reaches(step, goal, (*seen, step))) for step in graph.get(start, ())
        )

    cycles = sorted(f"{part} -> {target} ({where}) and back" for part, edges in imports().items()
                    for target, where in edges if reaches(target, part))  # fmt: skip
    assert not cycles
