"""Two Snakemake runs on one campaign folder: the second refuses cleanly and touches nothing."""

import os
import shutil
import signal
import subprocess
import time

import pytest
from test_workflow import SNAKEMAKE, TINY_CONFIG

pytestmark = pytest.mark.workflow


def test_a_second_run_in_the_same_folder_is_refused_by_the_lock(tmp_path):
    config = tmp_path / "config.yaml"
    shutil.copy(TINY_CONFIG, config)
    command = [*SNAKEMAKE, "--directory", str(tmp_path), "--configfile", str(config)]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        locks = tmp_path / ".snakemake" / "locks"
        deadline = time.time() + 120
        while not (locks.exists() and any(locks.iterdir())):
            assert first.poll() is None and time.time() < deadline, "the first run ended before it took the lock"
            time.sleep(0.2)
        second = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert second.returncode != 0
        assert "Directory cannot be locked" in second.stdout + second.stderr
        assert first.poll() is None  # the first run goes on
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # Snakemake and the jobs it started
        first.wait()
