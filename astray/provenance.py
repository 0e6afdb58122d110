"""What produced a result: config hash, git commit and package versions, recorded in every cube."""

import ast
import functools
import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path

TRACKED_PACKAGES = (
    "astray", "torch", "torch_geometric", "nequip", "pyscf", "pyscf_dispersion", "ase", "numpy", "xarray",
    "scipy", "snakemake",
)  # fmt: skip


def config_hash(config: dict) -> str:
    """SHA-256 of the config as canonical JSON, so equal configs hash equal whatever their key order."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def git_commit(directory) -> str:
    """Commit of the workflow checkout, with '-dirty' when it has uncommitted changes; 'unknown' outside git."""
    try:
        commit = _git(directory, "rev-parse", "HEAD")
        dirty = _git(directory, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def _git(directory, *args) -> str:
    command = ["git", "-C", str(Path(directory)), *args]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.strip()


def package_versions() -> dict:
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def astray_imports(path: Path, package: Path) -> frozenset[Path]:
    """The files of `package` (astray/) that the Python file at `path` imports, anywhere in it (function-level
    imports included), with the `__init__.py` of every package on the way, which an import runs too.

    Cached per file version: planning fingerprints every rule's script, and their closures share most
    modules, so each is parsed once rather than once per rule (benchmarks/planning.py)."""
    path = Path(path)
    return _imports_of_version(path, Path(package), path.stat().st_mtime_ns)


@functools.cache
def _imports_of_version(path: Path, package: Path, mtime_ns: int) -> frozenset[Path]:
    """`astray_imports` of one version of a file; `mtime_ns` is there to key the cache, so an edit re-reads."""
    names = []
    tree = ast.parse(Path(path).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from astray.models import schnet` imports a module; `from astray.io import read_json` a name.
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    files = set()
    if any(_calls_import_module(node) for node in ast.walk(tree)):
        # Modules chosen by name at run time (astray.labels.engines picks an engine): every module beside it.
        files.update(Path(path).parent.glob("*.py"))
    for name in names:
        parts = name.split(".")
        if parts[0] != package.name:
            continue
        for depth in range(1, len(parts) + 1):
            module = package.joinpath(*parts[1:depth])
            files.update(candidate for candidate in (module / "__init__.py", module.with_suffix(".py"))
                         if candidate.is_file())  # fmt: skip
    return frozenset(files)


def _calls_import_module(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module")  # fmt: skip


def import_closure(start, package) -> list[Path]:
    """Every file of `package` that the files in `start` import, directly or through each other, sorted."""
    package = Path(package)
    seen, pending = set(), [Path(path) for path in start]
    while pending:
        for module in astray_imports(pending.pop(), package) - seen:
            seen.add(module)
            pending.append(module)
    return sorted(seen)


def code_fingerprint(start, package) -> str:
    """SHA-256 of the package code that `start` (a workflow script, or modules) runs: a rule's param, so that
    editing any module its script imports, however indirectly, reruns the rule, and no other edit does."""
    digest = hashlib.sha256()
    for path in import_closure(start, package):
        digest.update(str(path.relative_to(Path(package).parent)).encode())
        digest.update(_file_digest(path, path.stat().st_mtime_ns))
    return digest.hexdigest()[:16]


@functools.cache
def _file_digest(path: Path, mtime_ns: int) -> bytes:
    """SHA-256 of one version of a file: the closures of a workflow's scripts share most modules."""
    return hashlib.sha256(path.read_bytes()).digest()
