"""Reading and writing geometries and small JSON records, never leaving half a file under the final name."""

import json
import os
from pathlib import Path

from ase.io import read, write


def read_geometries(path) -> list:
    """All frames of an extxyz file; an empty file is an empty list."""
    path = Path(path)
    if path.stat().st_size == 0:
        return []
    return read(path, index=":", format="extxyz")


def write_geometries(path, atoms_list) -> None:
    _atomic(path, lambda temporary: write(temporary, atoms_list, format="extxyz"))


def read_json(path):
    return json.loads(Path(path).read_text())


def write_json(path, obj) -> None:
    _atomic(path, lambda temporary: Path(temporary).write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n"))


def _atomic(path, writer) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    writer(str(temporary))
    os.replace(temporary, path)
