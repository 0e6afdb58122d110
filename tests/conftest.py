import os
import subprocess

import pytest

# Tests run beside other jobs on 2 cores; one thread each keeps timings stable and avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def unwritable_results(tmp_path):
    """An empty `results` folder in which no file can be created. Root ignores folder modes, so for root
    the folder is made immutable instead (ext4's chattr +i), which refuses root too."""
    results = tmp_path / "results"
    results.mkdir()
    if os.geteuid() != 0:
        results.chmod(0o555)
        yield results
        results.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(results)], capture_output=True).returncode != 0:
        pytest.skip("running as root on a filesystem without immutable folders: nothing refuses root")
    yield results
    subprocess.run(["chattr", "-i", str(results)], check=True)
