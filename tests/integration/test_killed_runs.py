"""A campaign killed with SIGKILL mid-labeling resumes where it stopped and ends byte-for-byte where an
uninterrupted run of the same config ends."""

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_workflow import SNAKEMAKE, TINY_CONFIG, snakemake

pytestmark = pytest.mark.workflow

DATASETS = "results/datasets/manifest.json"  # geometries, labels and every dataset; no training


def campaign_folder(parent: Path, name: str) -> tuple[Path, Path]:
    workdir = parent / name
    workdir.mkdir()
    config = workdir / "config.yaml"
    shutil.copy(TINY_CONFIG, config)
    return workdir, config


def finished_geometries(workdir: Path) -> dict:
    """Lines in each chunk's progress file: one per finished calculation."""
    progress = workdir / "results" / "labels" / "progress"
    return {path.stem: path.read_text().count("\n") for path in progress.glob("chunk_*.jsonl")}


def kill_while_labeling(workdir: Path, config: Path) -> dict:
    """Start the campaign, SIGKILL Snakemake and its jobs once a chunk is part-way; return the progress of
    every chunk the kill interrupted (those without their output yet)."""
    command = [*SNAKEMAKE, DATASETS, "--directory", str(workdir), "--configfile", str(config)]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not any(lines >= 3 for lines in finished_geometries(workdir).values()):
            assert run.poll() is None and time.time() < deadline, "labeling ended before it could be killed"
            time.sleep(0.01)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    labels = workdir / "results" / "labels"
    return {chunk: n for chunk, n in finished_geometries(workdir).items() if not (labels / f"{chunk}.extxyz").exists()}


def test_a_killed_labeling_run_resumes_and_writes_the_datasets_of_an_uninterrupted_one(tmp_path):
    clean, clean_config = campaign_folder(tmp_path, "uninterrupted")
    assert snakemake(clean, clean_config, DATASETS).returncode == 0

    killed, killed_config = campaign_folder(tmp_path, "killed")
    at_kill = kill_while_labeling(killed, killed_config)
    assert any(lines > 0 for lines in at_kill.values()), at_kill

    # The recovery docs/troubleshooting.md gives: release the dead run's lock, then run again.
    assert snakemake(killed, killed_config, "--unlock").returncode == 0
    resumed = snakemake(killed, killed_config, DATASETS, "--rerun-incomplete")
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    # Every chunk the kill interrupted reused exactly what it had finished and computed only the rest.
    for chunk, lines in at_kill.items():
        log = (killed / f"results/logs/labels/{chunk}.extxyz.log").read_text()
        summary = re.search(r"(\d+) geometries, (\d+) computed now, (\d+) reused", log)
        geometries, computed, reused = map(int, summary.groups())
        assert (reused, computed) == (lines, geometries - lines), (chunk, log[-500:])

    for path in sorted((clean / "results/datasets").rglob("*")):
        if path.is_file():
            twin = killed / path.relative_to(clean)
            assert twin.read_bytes() == path.read_bytes(), path.relative_to(clean)
