"""What produced a result: config hash, git commit and package versions, recorded in every cube."""

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
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def _git(directory, *args) -> str:
    result = subprocess.run(["git", "-C", str(Path(directory)), *args], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def package_versions() -> dict:
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
