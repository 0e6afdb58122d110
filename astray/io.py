"""Reading and writing geometries and small JSON records, never leaving half a file under the final name.

Every result file astray writes goes through `write_atomically`: to a temporary name beside it, then a
rename. A kill, a full disk or a permission error therefore leaves either the previous complete file or
none, and the error names the file and says what to do.
"""

import contextlib
import errno
import itertools
import json
import os
import tempfile
import uuid
from pathlib import Path

WHAT_TO_DO = {
    errno.ENOSPC: "The disk holding it is full: free space (or move the campaign folder) and run again.",
    errno.EDQUOT: "Your disk quota is used up: free space (or move the campaign folder) and run again.",
    errno.EACCES: "You may not write there: check the folder's owner and mode (ls -ld) and run again.",
    errno.EPERM: "You may not write there: check the folder's owner and mode (ls -ld) and run again.",
    errno.EROFS: "That filesystem is read-only: run the campaign from a writable folder.",
}


class ResultWriteError(OSError):
    """A result file could not be written; nothing was left under its name."""

    def __init__(self, path, cause: OSError):
        advice = WHAT_TO_DO.get(cause.errno, "Fix the cause and run again.")
        reason = cause.strerror or str(cause)
        super().__init__(f"cannot write {path}: {reason}. {advice} Finished results are kept; a rerun continues.")
        self.errno = cause.errno


def write_atomically(path, writer, shared: bool = False) -> None:
    """Call `writer(temporary_path)`, then rename the temporary file to `path`.

    `shared`: several processes may write this file at once (Snakemake parses the workflow in every
    cluster job), so each writes its own temporary file; the last rename wins, whole.
    """
    path = Path(path)
    suffix = f".{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp" if shared else ".tmp"
    temporary = path.with_name(path.name + suffix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(temporary)
        os.replace(temporary, path)
    except OSError as error:
        _remove_quietly(temporary)
        raise ResultWriteError(path, error) from error


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):  # the folder itself refuses writes; there is nothing to clean up there
        path.unlink(missing_ok=True)


def check_writable(folder) -> None:
    """Raise ResultWriteError unless a file can be created in `folder` (or, before it exists, in the
    nearest existing folder above it): a campaign should stop before its first job, not at its last."""
    folder = Path(folder).absolute()
    existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ResultWriteError(folder, error) from error


def read_geometries(path, frames: slice = slice(None)) -> list:
    """The frames of an extxyz file (all, or a slice); an empty file is an empty list."""
    from ase.io import read  # ASE takes 0.4 s to import; the workflow imports this module in every job

    path = Path(path)
    if path.stat().st_size == 0:
        return []
    return read(path, index=frames, format="extxyz")


def frame_lines(file):
    """Each frame of an open xyz or extxyz file as its lines, found by its atom-count line alone (nothing
    parsed); a count line that is not a number raises ValueError."""
    while (count_line := file.readline()).strip():
        yield [count_line, *itertools.islice(file, int(count_line) + 1)]


def read_chosen_frames(path, frames) -> list:
    """The given frames of an extxyz file, in the order given: one pass that skips every other frame by
    its atom count and parses only these. A labeling job's chunk or a training set scattered over the pool
    costs what its own geometries cost to parse, not the whole pool (benchmarks/pool_reads.py).
    """
    from io import StringIO

    from ase.io import read

    wanted, texts, frames_in_file = set(frames), {}, 0
    if not wanted:
        return []
    with open(path) as file:
        for frame, lines in enumerate(frame_lines(file)):
            frames_in_file = frame + 1
            if frame in wanted:
                texts[frame] = "".join(lines)
                if len(texts) == len(wanted):
                    break
    if len(texts) < len(wanted):
        raise IndexError(f"{path}: has {frames_in_file} frames, frame {max(wanted)} was asked for")
    in_file_order = sorted(texts)
    parsed = read(StringIO("".join(texts[frame] for frame in in_file_order)), index=":", format="extxyz")
    by_frame = dict(zip(in_file_order, parsed))
    return [by_frame[frame] for frame in frames]


def write_geometries(path, atoms_list) -> None:
    from ase.io import write

    write_atomically(path, lambda temporary: write(temporary, atoms_list, format="extxyz"))


def read_json(path):
    return json.loads(Path(path).read_text())


def write_json(path, obj) -> None:
    write_atomically(path, lambda temporary: temporary.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n"))
