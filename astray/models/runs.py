"""What the architectures trained by another program's command line share: their training data in that
program's keys, running the program with its output in the job's log, and clearing a stale run before
resuming one.

Light on purpose (the standard library, ASE and astray's conventions): under --use-conda a trainer's
module runs in that program's environment, where neither torch nor omegaconf need be installed.
"""

import os
import shutil
import subprocess
from pathlib import Path

from astray.conventions import atomization_energy


def reference_copies(atoms_list, atom_energies: dict, energy_key="REF_energy", forces_key="REF_forces") -> list:
    """Copies labeled under the keys another trainer reads: the atomization energy (eV) in
    info[energy_key], forces (eV/Å) in arrays[forces_key] where the labels have them. Keys other than ASE's
    'energy' and 'forces' keep them apart from a calculator's results (MACE warns of the collision)."""
    converted = []
    for atoms in atoms_list:
        copy = atoms.copy()
        copy.info = {"geometry_id": atoms.info["geometry_id"], energy_key: atomization_energy(atoms, atom_energies)}
        if "forces" in atoms.calc.results:
            copy.arrays[forces_key] = atoms.get_forces()
        converted.append(copy)
    return converted


def run_program(command, log, cwd, timeout_variable: str, environment=None) -> None:
    """Run `command` in `cwd`, its output (stdout and stderr together) line by line into `log`, with
    `environment`'s variables set.

    A program that exits non-zero fails with the tail of its output. One that outlasts the seconds the
    environment variable `timeout_variable` gives (48 hours unless set: far beyond any planned training)
    is hung, and fails its job by name instead of holding a GPU until the scheduler's limit.
    """
    name, seconds = Path(command[0]).name, float(os.environ.get(timeout_variable, 48 * 3600))
    try:
        process = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 env={**os.environ, **(environment or {})}, cwd=cwd, timeout=seconds)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{name} did not finish within {seconds:g} s ({timeout_variable})") from None
    for line in process.stdout.splitlines():
        log(line)
    if process.returncode != 0:
        tail = "\n".join(process.stdout.splitlines()[-15:])
        raise RuntimeError(f"{name} failed (exit {process.returncode}):\n{tail}")


def forget_other_runs(workdir: Path, identity: str, leftovers) -> None:
    """Remove `leftovers` (files or folders) unless the run in `workdir` is of this `identity` (its
    command and training set): resuming another run's checkpoints would be wrong."""
    stamp = Path(workdir) / "identity"
    if stamp.exists() and stamp.read_text() == identity:
        return
    for leftover in leftovers:
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink(missing_ok=True)
    stamp.write_text(identity)


def resolved_device(device: str, python) -> str:
    """training.device for a trainer in `python`'s environment: `auto` is cuda where that environment's
    torch sees a GPU, else cpu (also where it has no torch)."""
    if device != "auto":
        return device
    probe = [str(python), "-c", "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')"]
    answer = subprocess.run(probe, capture_output=True, text=True, timeout=300)
    return answer.stdout.strip() if answer.returncode == 0 else "cpu"
