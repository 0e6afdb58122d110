"""The tiny campaign through profiles/slurm on a real one-node SLURM cluster started on this machine.

Needs root and Debian's slurm-wlm and munge (scripts/system-packages.sh installs them). The cluster has a
fake GPU (a GRES backed by /dev/null) so that training jobs' GPU requests are scheduled and can be checked.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from test_workflow import REPO, SNAKEMAKE, TINY_CONFIG

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(
        os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch")),
        reason="needs root and slurm-wlm + munge (scripts/system-packages.sh)",
    ),
]

# The job step strips SLURM_CONF, so the configuration must sit where SLURM looks by default.
SLURM_DIR = Path("/etc/slurm")
NODE = socket.gethostname()


# The first line of the configuration the fixture writes: what tells its leftovers from a real cluster's.
OURS = "# written by astray's tests/integration/test_slurm.py"


def slurm_conf(state: Path, node_line: str) -> str:
    return f"""\
{OURS}
ClusterName=astray-test
SlurmctldHost={NODE}
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
# Root in a container: no cgroups, so track processes by parent and bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
# Finished jobs stay visible to squeue (the profile's status command) and to the test's scontrol for an
# hour: the test checks every job of the run, and on a slow day the run outlasts 5 minutes.
MinJobAge=3600
ReturnToService=2
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/d
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
{node_line} Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={NODE} MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """munged, slurmctld and slurmd on localhost; stopped by their PIDs and their config removed after,
    so later Snakemake starts do not wait on a controller that is gone."""
    state = tmp_path_factory.mktemp("slurm")
    for sub in ("ctld", "d"):
        (state / sub).mkdir()
    node_line = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    SLURM_DIR.mkdir(exist_ok=True)
    written = [SLURM_DIR / "slurm.conf", SLURM_DIR / "gres.conf"]
    if written[0].exists() and OURS not in written[0].read_text():
        pytest.skip("a SLURM configuration astray did not write is in /etc/slurm; not touching a real cluster")
    if written[0].exists():
        # One a killed test run left behind is ours: stop what that run left running, and start afresh.
        _stop_leftover_daemons()
    written[0].write_text(slurm_conf(state, node_line))
    written[1].write_text(f"AutoDetect=off\nNodeName={NODE} Name=gpu File=/dev/null\n")
    Path("/run/munge").mkdir(exist_ok=True)
    shutil.chown("/run/munge", "munge", "munge")
    munge_pid = Path("/run/munge/munged.pid")
    subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True)
    subprocess.run(["slurmctld", "-i"], check=True)
    subprocess.run(["slurmd"], check=True)
    try:
        _wait_for_idle_node()
        yield state
    finally:
        for pid_file in (state / "slurmd.pid", state / "slurmctld.pid", munge_pid):
            _stop(pid_file)
        for path in written:
            path.unlink(missing_ok=True)


def _stop_leftover_daemons():
    """slurmctld, slurmd and munged of a test run killed before its teardown, found by name."""
    for daemon in ("slurmd", "slurmctld", "munged"):
        subprocess.run(["pkill", "-x", daemon], capture_output=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        subprocess.run(["pgrep", "-x", d], capture_output=True).returncode == 0
        for d in ("slurmd", "slurmctld", "munged")
    ):
        time.sleep(0.2)


def _wait_for_idle_node(timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.split()
        if states and all(s.startswith("idle") for s in states):
            return
        time.sleep(1)
    raise TimeoutError(f"SLURM node never became idle: {states}")


def _stop(pid_file: Path):
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


def site_profile(tmp_path: Path) -> Path:
    """profiles/slurm with this cluster's partition names filled in and quicker status checks."""
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    profile["default-resources"].update(slurm_partition="cpu", mem_mb=500)
    for resources in profile["set-resources"].values():
        if "gpu" in resources:  # the training rules
            resources.update(slurm_partition="gpu", mem_mb=1000)
    profile["set-resources"]["label_chunk"].update(mem_mb=1000)
    profile["set-threads"] = {rule: 1 for rule in profile["set-threads"]}
    profile["group-components"] = {"labeling": 2}  # a group job asks for its chunks' threads summed: 2 CPUs here
    profile["slurm-init-seconds-before-status-checks"] = 2
    profile["latency-wait"] = 5
    directory = tmp_path / "site_profile"
    directory.mkdir()
    (directory / "config.yaml").write_text(yaml.safe_dump(profile))
    return directory


def scheduled_jobs() -> list[dict]:
    """Every job the controller still remembers, as `scontrol show job -o` fields."""
    output = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True, check=True).stdout
    return [dict(field.split("=", 1) for field in line.split() if "=" in field) for line in output.splitlines()]


def test_tiny_campaign_runs_through_sbatch_with_gpus_for_training(slurm_cluster, tmp_path):
    workdir = tmp_path / "campaign"
    workdir.mkdir()
    config = yaml.safe_load(TINY_CONFIG.read_text())
    # One model of each training rule kind and one dataset kind keep the test to a few minutes: every job
    # is a cluster job that parses the workflow again.
    config["models"] = {name: config["models"][name] for name in ("tiny_a", "tiny_nequip")}
    config["datasets"]["kinds"] = ["with_distorted"]
    config["evaluation"]["dynamics"]["steps"] = 0  # the tiny campaign's test runs the dynamics
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    # Up to the cube: the plots' jobs are cluster jobs like any other, and the tiny campaign's test draws them.
    command = [*SNAKEMAKE[:-2], "results/cube.nc", "--profile", str(site_profile(tmp_path)), "--directory",
               str(workdir), "--configfile", str(config_path)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-6000:]
    assert (workdir / "results/cube.nc").exists()

    jobs = scheduled_jobs()
    assert all(job["JobState"] == "COMPLETED" for job in jobs)
    submitted = result.stderr.count("has been submitted with SLURM jobid")
    assert submitted == len(jobs) > 0  # every job Snakemake ran went through sbatch
    rules = [_rule(job) for job in jobs]
    assert rules.count("train") == rules.count("train_nequip") == rules.count("package_nequip") == 2  # sizes
    # 3 labeling chunks travel in groups of two: 2 SLURM jobs.
    assert rules.count("labeling_label_chunk") == 2 and "label_chunk" not in rules
    for job, rule in zip(jobs, rules):
        training = rule in ("train", "train_nequip")
        assert ("gpu" in job.get("TresPerJob", "")) == training, (rule, job.get("TresPerJob"))
        assert job["Partition"] == ("gpu" if training else "cpu"), rule


def test_threads_no_node_has_stop_the_plan_with_the_clusters_numbers(slurm_cluster, tmp_path):
    """A job asking for more CPUs than its partition's nodes have would pend forever (PartitionConfig);
    planning asks sinfo and refuses it before anything is submitted."""
    profile = site_profile(tmp_path)
    settings = yaml.safe_load((profile / "config.yaml").read_text())
    settings["set-threads"]["label_chunk"] = 64
    (profile / "config.yaml").write_text(yaml.safe_dump(settings))
    node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    cpus = int(re.search(r"CPUs=(\d+)", node).group(1))
    command = [*SNAKEMAKE[:-2], "-n", "--profile", str(profile), "--directory", str(tmp_path), "--configfile",
               str(TINY_CONFIG)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert (
        f"profile: set-threads.label_chunk asks 64 CPUs for each label_chunk job, but the largest node of "
        f"partition 'cpu' has {cpus} (sinfo)" in result.stdout + result.stderr
    )
    assert not scheduled_jobs_since(tmp_path) and not (tmp_path / "results").exists()


def scheduled_jobs_since(workdir: Path) -> list:
    """Jobs of this working directory the controller knows (none if nothing was submitted from it)."""
    return [job for job in scheduled_jobs() if job.get("WorkDir", "").startswith(str(workdir))]


def _rule(job: dict) -> str:
    """The rule (or group) name the plugin writes into the job's comment: rule_<name>[_wildcards_...]."""
    return job["Comment"].removeprefix("rule_").split("_wildcards_")[0]
