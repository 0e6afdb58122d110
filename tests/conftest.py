import os
import subprocess

import pytest

# Tests run beside other jobs on 2 cores; one thread each keeps timings stable and avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# ASTRAY_SKIP_PSI4=1 skips every test marked psi4, and nothing else; without it they run, and fail where
# Psi4 is missing.
SKIP_PSI4 = os.environ.get("ASTRAY_SKIP_PSI4") == "1"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SKIP_PSI4 and item.get_closest_marker("psi4"):
            item.add_marker(pytest.mark.skip(reason="ASTRAY_SKIP_PSI4=1"))


def pytest_sessionfinish(session, exitstatus):
    """Where the test command says which skips it allows (ASTRAY_ALLOWED_SKIPS, set by test.sh where it could
    install every system package), any other skip fails the run: a skip is a test that did not run."""
    allowed = os.environ.get("ASTRAY_ALLOWED_SKIPS")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if allowed is None or reporter is None:
        return
    reasons = [reason.strip() for reason in allowed.split(";") if reason.strip()]
    unexpected = [report for report in reporter.stats.get("skipped", [])
                  if not any(reason in str(report.longrepr) for reason in reasons)]  # fmt: skip
    if unexpected:
        reporter.write_line(f"astray: {len(unexpected)} skip(s) the test command does not allow ({reasons}):", red=True)
        for report in unexpected:
            reporter.write_line(
                f"  {report.nodeid}: {report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr}"
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
