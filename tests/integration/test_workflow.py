"""The real workflow, end to end, on the tiny config: plan, run, rerun, extend, and refuse bad config."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from astray.evaluation.probes import coulomb_curve
from astray.io import read_geometries
from astray.units import EV_TO_KCAL_PER_MOL, HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM, HARTREE_TO_EV

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "tests" / "config" / "tiny.yaml"
OTHER_MLIPS = REPO / "tests" / "config" / "other_mlips.yaml"  # the MLIPs the tiny campaign leaves out
SNAKEMAKE = [
    sys.executable,
    "-m",
    "snakemake",
    "-s",
    str(REPO / "Snakefile"),
    "--profile",
    str(REPO / "profiles" / "local"),
]

pytestmark = pytest.mark.workflow


def snakemake(workdir, config_path, *args):
    # --configfile takes several files, so targets and flags go before it.
    command = [*SNAKEMAKE, *args, "--directory", str(workdir), "--configfile", str(config_path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=1200)


def planned_jobs(result) -> dict:
    """Job counts per rule from a dry run's 'Job stats' table."""
    table = result.stdout.split("Job stats:")[-1]
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M) if rule != "total"}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """The tiny campaign, run once for every test in this module."""
    workdir = tmp_path_factory.mktemp("campaign")
    config_path = workdir / "config.yaml"
    shutil.copy(TINY_CONFIG, config_path)
    result = snakemake(workdir, config_path)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir, config_path


def test_dry_run_plans_without_running(tmp_path):
    result = snakemake(tmp_path, TINY_CONFIG, "-n")
    assert result.returncode == 0, result.stderr
    jobs = planned_jobs(result)
    assert jobs["train"] == 2 * 2 * 2  # models x kinds x sizes
    assert jobs["label_chunk"] >= 2  # labels are chunked, not one job for all
    assert not (tmp_path / "results").exists()
    # Every job's log and timing mirror its first output: results/X logs to results/logs/X.log.
    jobs_shown = [
        dict(re.findall(r"^    (\w+): (.+)$", block, flags=re.M)) for block in result.stdout.split("\nrule ")[1:]
    ]
    assert len(jobs_shown) == sum(jobs.values())
    for job in jobs_shown:
        if job.get("output", "").startswith("results/"):  # not MACE's environment, built outside results/
            mirrored = job["output"].split(", ")[0].removeprefix("results/")
            assert job["log"] == f"results/logs/{mirrored}.log"
            assert job.get("benchmark", f"results/benchmarks/{mirrored}.tsv") == f"results/benchmarks/{mirrored}.tsv"


def test_the_plan_lists_snakemakes_jobs_and_estimates_what_they_cost(tmp_path):
    # The tiny campaign's ladder with the MLIPs it leaves out, so that every unpriced architecture is planned.
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["models"].update(yaml.safe_load(OTHER_MLIPS.read_text())["models"])
    every_mlip = tmp_path / "every_mlip.yaml"
    every_mlip.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "astray.plan", "--directory", str(tmp_path), "--configfile", str(every_mlip)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    plan = result.stdout
    listed = {rule: int(n.replace(",", "")) for rule, n in re.findall(r"^  (\w+)\s+([\d,]+)$", plan, flags=re.M)}
    assert listed == planned_jobs(snakemake(tmp_path, every_mlip, "-n"))
    assert f"{sum(listed.values())} jobs to run" in plan
    cpu_hours = float(re.search(r"hf/sto-3g \(\d+-\d+ basis functions\): ([\d.,]+) CPU-hours", plan).group(1))
    assert 0 < cpu_hours < 1  # HF/STO-3G on a few small molecules: minutes
    # 7 trained models (the pretrained one is not) x 2 kinds x 1 seed x 2 sizes; Allegro, MACE, an external
    # rung and fine-tuning are not priced yet.
    assert re.search(
        r"training   28 runs: [\d.,]+ hours on .*\(4 allegro, 4 external, 4 finetune, 4 mace runs not priced: not "
        r"calibrated by benchmarks/cost_model.py\)",
        plan,
    )
    assert not (tmp_path / "results").exists()


def test_the_plan_passes_on_snakemakes_error_for_a_bad_config(tmp_path):
    """Snakemake prints the planning error on stdout and only its profile notice on stderr."""
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["geometries"]["sources"]["files"] = {"paths": ["data/qm9/"]}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "astray.plan", "--directory", str(tmp_path), "--configfile", str(bad)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode != 0
    assert "'data/qm9/' matches no xyz or extxyz file" in result.stderr
    assert not (tmp_path / "results").exists()


def test_cube_holds_every_model_and_the_physics_of_the_references(campaign):
    workdir, _ = campaign
    cube = xr.load_dataset(workdir / "results" / "cube.nc")
    assert {name: cube.sizes[name] for name in ("reference", "probe", "distance", "model", "kind", "seed", "size")} == {
        "reference": 3, "probe": 2, "distance": 4, "model": 5, "kind": 2, "seed": 1, "size": 2
    }  # fmt: skip
    assert np.isfinite(cube.predicted_energy).all()
    assert np.isfinite(cube.test_mae).all()

    distance = cube.distance.values
    protons = cube.reference_energy.sel(probe="H2_2plus")
    assert np.allclose(protons.sel(reference="exact"), coulomb_curve(distance), rtol=1e-12)
    assert np.allclose(protons.sel(reference="label_method"), coulomb_curve(distance), rtol=1e-8)
    fci = cube.reference_energy.sel(probe="H2", reference="fci")
    assert distance[int(np.argmin(fci.values))] == pytest.approx(0.74)
    assert 95 < -float(fci.min()) * EV_TO_KCAL_PER_MOL < 109.5  # FCI/cc-pVDZ underbinds slightly
    # The exact curve's D_e and r_e come from the curve, not from this four-point grid.
    h2 = cube.sel(probe="H2")
    assert float(h2.reference_well_depth.sel(reference="exact")) == pytest.approx(4.747732, abs=1e-6)
    assert float(h2.reference_equilibrium_distance.sel(reference="exact")) == pytest.approx(0.741421, abs=1e-6)
    assert 0.7415 < float(h2.reference_equilibrium_distance.sel(reference="fci")) < 0.77

    # The exact curves have the physics each probe expects: the metrics' floors do not mis-score them.
    for probe in ("H2", "H2_2plus"):
        exact = cube.sel(reference="exact", probe=probe)
        assert (
            exact.reference_n_minima == exact.expected_minima
            and exact.reference_force_flips == exact.expected_force_flips
        )

    # A model with no charge input cannot tell two protons from H2: the paper's finding, recorded as such.
    # Only the isolated-atom shift to the protons' scale (two H atoms above two bare protons) differs.
    plain = cube.sel(model=["tiny_a", "tiny_nequip", "sevennet", "sevennet_tuned"])
    assert (plain.charge_aware == 0).all() and (plain.physics_prior == "none").all()
    shift = float(cube.fragment_shift.sel(probe="H2_2plus"))
    hydrogen = json.loads((workdir / "results/labels/atom_energies.json").read_text())["energies"]["H"]
    assert shift == pytest.approx(2 * hydrogen)  # -25.4 eV at HF/STO-3G (-27.2 eV at the exact limit)
    protons_as_h2 = plain.predicted_energy.sel(probe="H2_2plus") - shift
    assert np.allclose(protons_as_h2, plain.predicted_energy.sel(probe="H2"), atol=1e-5)
    # The Coulomb-anchored model is told the charge and gives two protons exactly 1/r, whatever it learned.
    anchored = cube.sel(model="tiny_b")
    assert int(anchored.charge_aware) == 1 and str(anchored.physics_prior.values) == "coulomb"
    assert np.allclose(anchored.predicted_energy.sel(probe="H2_2plus"), coulomb_curve(distance), rtol=1e-5)
    assert float(anchored.probe_mae.sel(probe="H2_2plus", reference="exact").max()) < 1e-3
    # Two sizes and one seed: each trained model's exponent is the log-log slope between its two runs, with
    # no interval (one seed); the fits of seeds, sizes and their intervals are test_fits_of_real_runs_....
    slopes = -np.log(cube.test_mae.sel(size=6) / cube.test_mae.sel(size=3)).squeeze("seed") / np.log(2)
    fitted = cube.scaling_exponent.sel(target="test_mae")
    assert np.allclose(fitted, slopes, atol=1e-9) and np.isnan(cube.scaling_exponent_ci_low).all()
    assert (cube.joint_scaling_status.str.startswith("not fitted: needs 3 capacities")).all()
    assert (cube.probe_unavailable == "").all()

    # SevenNet-0 as it ships, beside the trained models: its own H2 well, and its holdout errors after an
    # alignment fitted on each training set, so they differ between sizes while its probes do not.
    sevennet = cube.sel(model="sevennet")
    assert int(sevennet.n_parameters) == 842_440 and str(sevennet.model_architecture.values) == "pretrained:7net-0"
    assert "PBE" in str(sevennet.training_data.values) and "per-element" in str(sevennet.energy_alignment.values)
    assert (cube.sel(model="tiny_a").energy_alignment == "none").all()
    h2 = sevennet.predicted_energy.sel(probe="H2")
    assert (h2.sel(distance=0.74) < h2.sel(distance=0.4) - 3).all() and (h2.sel(distance=0.74) < -4).all()
    assert np.ptp(h2.values.reshape(-1, len(distance)), axis=0).max() == 0
    assert np.isfinite(sevennet.test_mae).all() and len(np.unique(sevennet.test_mae)) == 4
    assert np.isnan(sevennet.best_epoch).all() and np.isnan(sevennet.train_seconds).all()
    # NequIP, trained by nequip-train: its own family, free atoms at zero, its epochs and time reported as
    # astray's own runs report theirs. (Allegro, MACE and a command-line rung: the force campaign's tests.)
    nequip_runs = cube.sel(model="tiny_nequip")
    assert str(nequip_runs.model_architecture.values) == "nequip" and (nequip_runs.free_atom_energy_max < 1e-6).all()
    assert (nequip_runs.train_epochs >= nequip_runs.best_epoch).all() and (nequip_runs.train_seconds > 0).all()
    # Fine-tuned on each training set, a few epochs: trained like any rung, read on SevenNet-0's free atoms.
    tuned = cube.sel(model="sevennet_tuned")
    assert str(tuned.model_architecture.values) == "finetuned:7net-0" and int(tuned.n_parameters) == 842_440
    assert (tuned.train_epochs == 3).all() and (tuned.train_seconds > 0).all() and np.isfinite(tuned.test_mae).all()
    assert (tuned.charge_aware == 0).all() and "fine-tuned" in str(tuned.training_data.values)
    # Every model ran the same two test molecules for 20 fs of NVE dynamics; SevenNet-0's runs were made once,
    # in its prediction job, so they are the same for every kind and size.
    assert cube.sizes["md_molecule"] == 2 and np.isfinite(cube.md_time_intact).all()
    assert (cube.md_time_intact > 0).all() and (cube.md_time_intact <= 0.02 + 1e-9).all()
    assert ((cube.md_intact == 1) == (cube.md_first_change == "")).all()
    runs = sevennet.md_time_intact.values.reshape(-1, 2)
    assert (runs == runs[0]).all() and np.isfinite(sevennet.md_energy_drift.where(sevennet.md_intact == 1)).any()
    for name in cube.data_vars:
        assert cube[name].attrs["units"] and cube[name].attrs["long_name"], name
    assert cube.attrs["probe_in_training_data"] == 0
    assert cube.attrs["label_audit"] == "none"  # every label computed by astray: nothing came with the files
    assert cube.attrs["quarantined_geometries"] == 0 and json.loads(cube.attrs["quarantined_by_reason"]) == {}
    assert len(cube.attrs["config_sha256"]) == 64 and cube.attrs["git_commit"] != "unknown"
    datasets = json.loads(cube.attrs["dataset_sha256"])
    assert "results/datasets/test.extxyz" in datasets and all(len(h) == 64 for h in datasets.values())


def test_plots_and_datasets_are_written(campaign):
    workdir, _ = campaign
    results = workdir / "results"
    models = ("tiny_a", "tiny_b", "tiny_nequip", "sevennet", "sevennet_tuned")
    figures = {f"{model}{figure}.png" for model in models for figure in ("", "_parity")}
    assert {p.name for p in (results / "plots").iterdir()} == figures | {"scaling.png", "uncertainty_and_dynamics.png"}
    metrics = (results / "tables/probe_metrics.csv").read_text().splitlines()
    assert len(metrics) == 1 + len(models) * 2 * 2 * 2  # header + models x kinds x sizes x probes
    small = (results / "datasets/with_distorted/seed0/train_n3.extxyz").read_text()
    large = (results / "datasets/with_distorted/seed0/train_n6.extxyz").read_text()
    assert large.startswith(small)  # nested, byte for byte
    assert "engine=pyscf" in small and "wall_time_s" not in small  # provenance, but nothing run-dependent
    manifest = json.loads((results / "datasets/manifest.json").read_text())
    counts = {Path(f["path"]).name: f["geometries"] for f in manifest["files"]}
    assert counts["train_n3.extxyz"] == 3 and counts["train_n6.extxyz"] == 6


def test_fits_of_real_runs_have_exponents_and_intervals_that_are_those_of_the_seeds_own_fits(campaign, tmp_path):
    """The finished tiny campaign, copied and grown to two seeds, three sizes and three capacities of one
    architecture: the cube's exponents, intervals, floors, capacity fits, joint law and the label level's
    floor, as real runs give them."""
    workdir, config_path = campaign
    grown = tmp_path / "campaign"
    shutil.copytree(workdir, grown, symlinks=True)
    config = yaml.safe_load(config_path.read_text())
    tiny_a = config["models"]["tiny_a"]
    widths = {"tiny_a": 8, "tiny_a16": 16, "tiny_a32": 32}
    config["models"] = {name: {**tiny_a, "hidden_channels": w, "num_filters": w} for name, w in widths.items()}
    config["datasets"].update(kinds=["equilibrium"], sizes=[3, 4, 6], seeds=[0, 1])
    # The fits' arithmetic needs errors, not converged models or their dynamics (the campaign above has those).
    config["training"]["max_epochs"] = 5
    config["evaluation"]["dynamics"]["steps"] = 0
    grown_config = grown / "grown.yaml"
    grown_config.write_text(yaml.safe_dump(config))
    result = snakemake(grown, grown_config, "results/cube.nc")  # the fits are the cube's; plots are tested above
    assert result.returncode == 0, result.stderr[-4000:]

    cube = xr.load_dataset(grown / "results" / "cube.nc")
    sizes = cube["size"].values
    assert list(sizes) == [3, 4, 6] and list(cube.seed.values) == [0, 1]
    for target in ("test_mae", "probe_mae/H2/label_method"):
        fit = cube.sel(model="tiny_a", kind="equilibrium", target=target)
        errors = cube.test_mae if target == "test_mae" else cube.probe_mae.sel(probe="H2", reference="label_method")
        runs = errors.sel(model="tiny_a", kind="equilibrium").transpose("seed", "size").values
        per_seed = [-np.polyfit(np.log(sizes), np.log(row), 1)[0] for row in runs]
        assert fit.scaling_exponent_per_seed.values == pytest.approx(per_seed)
        assert float(fit.scaling_exponent) == pytest.approx(np.mean(per_seed)) and int(fit.scaling_seeds) == 2
        # Two seeds: the t-interval is mean ± t(0.975, 1)·|b0 - b1|/2, t = 12.71.
        half = (float(fit.scaling_exponent_ci_high) - float(fit.scaling_exponent_ci_low)) / 2
        assert half == pytest.approx(12.7062 * abs(per_seed[0] - per_seed[1]) / 2, rel=1e-4)
        assert str(fit.scaling_floor_status.values).startswith("not fitted: 3 distinct values over 0.30 decades")
    assert list(cube.target.values).index("probe_mae/H2/label_method") < list(cube.target.values).index(
        "probe_mae/H2/exact"
    )
    # The label level's own distance to the exact H2 curve is the floor of a model that learned its labels.
    label_floor = cube.reference_probe_mae.sel(reference="label_method", probe="H2")
    assert float(label_floor) > 0 and float(cube.reference_probe_mae.sel(reference="exact", probe="H2")) == 0
    h2 = cube.probe_mae.sel(probe="H2", model="tiny_a")
    assert (h2.sel(reference="exact") >= label_floor - h2.sel(reference="label_method") - 1e-9).all()
    assert np.isfinite(cube.probe_window_mae.sel(probe="H2", window="breaking")).all()
    # Against parameter count, at each size: each seed's exponent is the log-log slope over the three
    # capacities, their mean the fit's, as against N.
    parameters = cube.n_parameters.sel(model=list(widths)).values
    assert len(set(parameters)) == 3 and set(cube.model_architecture.values) == {"schnet"}
    for size in sizes:
        runs = cube.test_mae.sel(model=list(widths), kind="equilibrium", size=size).transpose("seed", "model").values
        per_seed = [-np.polyfit(np.log(parameters), np.log(row), 1)[0] for row in runs]
        fit = cube.sel(architecture="schnet", kind="equilibrium", size=size, target="test_mae")
        assert fit.capacity_scaling_exponent_per_seed.values == pytest.approx(per_seed)
        assert float(fit.capacity_scaling_exponent) == pytest.approx(np.mean(per_seed))
    # Three capacities and three sizes: the joint law L(N, P) is fitted to each seed; an epoch's counted
    # FLOPs, which its cost model is fitted to, grow with both P and N.
    joint = cube.sel(architecture="schnet", kind="equilibrium", target="test_mae")
    assert str(joint.joint_scaling_status.values).startswith("fitted") and int(joint.joint_scaling_seeds) == 2
    assert np.isfinite(joint.joint_scaling_capacity_exponent) and np.isfinite(joint.joint_scaling_data_exponent)
    assert int(joint.joint_scaling_points) == 2 * 3 * 3
    flops = cube.train_flops_per_epoch.sel(kind="equilibrium", model=list(widths)).mean("seed")
    assert (flops.diff("size") > 0).all() and (flops.sel(model="tiny_a32") > flops.sel(model="tiny_a")).all()
    table = (grown / "results/tables/scaling.csv").read_text().splitlines()
    assert table[0].startswith("model,kind,target,scaling_exponent,scaling_exponent_ci_low,scaling_exponent_ci_high")


def test_labels_carry_provenance_and_nothing_was_quarantined(campaign):
    workdir, _ = campaign
    labeled = read_geometries(workdir / "results/labels/labeled.extxyz")
    assert all(a.info["engine"] == "pyscf" and a.info["converged"] for a in labeled)
    assert any(a.info["broken_symmetry"] for a in labeled)  # the stretched bonds of the tiny pool
    # One rule for every geometry: every closed shell of two or more electrons was stability-analysed, and
    # the run's summary counts what the rule chose.
    assert all(a.info["stability_checked"] for a in labeled if a.info["reference"] != "none")
    references = json.loads((workdir / "results/labels/references.json").read_text())
    assert sum(references["by_reference"].values()) == len(labeled)
    broken = sum(a.info["broken_symmetry"] for a in labeled)
    assert sum(origin["broken_symmetry"] for origin in references["by_origin"].values()) == broken
    assert references["by_origin"]["equilibrium"]["broken_symmetry"] > 0  # HCN, C2H2, N2, H2CO: unstable RHF
    quarantine = json.loads((workdir / "results/labels/quarantine.json").read_text())
    assert quarantine == {"count_by_reason": {}, "geometries": []}


@pytest.mark.psi4
def test_psi4_labels_the_tiny_campaign_like_pyscf(campaign, tmp_path):
    workdir, config_path = campaign
    config = yaml.safe_load(config_path.read_text())
    config["labels"]["engine"] = "psi4"
    psi4_config = tmp_path / "psi4.yaml"
    psi4_config.write_text(yaml.safe_dump(config))
    targets = ["results/labels/labeled.extxyz", "results/labels/atom_energies.json"]
    result = snakemake(tmp_path, psi4_config, *targets)
    assert result.returncode == 0, result.stderr[-4000:]

    by_pyscf = {a.info["geometry_id"]: a for a in read_geometries(workdir / "results/labels/labeled.extxyz")}
    by_psi4 = {a.info["geometry_id"]: a for a in read_geometries(tmp_path / "results/labels/labeled.extxyz")}
    assert by_psi4.keys() == by_pyscf.keys()  # every geometry labeled, none quarantined
    other_solutions = set()
    for geometry_id, theirs in by_psi4.items():
        ours = by_pyscf[geometry_id]
        assert theirs.info["engine"] == "psi4"
        gap = (theirs.get_potential_energy() - ours.get_potential_energy()) / HARTREE_TO_EV
        # Variational: no engine may find a lower solution than astray's PySCF search.
        assert gap > -1e-6, f"{geometry_id}: Psi4 found a solution {-gap:.2e} Eh lower"
        if abs(gap) < 1e-6:
            force_gap = np.abs(theirs.get_forces() - ours.get_forces()).max() / HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM
            assert force_gap < 1e-5, geometry_id
        else:
            other_solutions.add(geometry_id)
    # One known exception: CO stretched 1.4x, where Psi4 1.3 follows its instability into another broken-
    # symmetry minimum (<S^2> 1.58, 0.012 Eh above PySCF's at 0.99, which PySCF reaches from spin-polarised
    # fragments, a start Psi4's QCSchema input cannot take). Every other geometry, equilibrium or distorted,
    # restricted or broken-symmetry, is the same solution in both engines.
    assert other_solutions <= {"CO:O0-C1x1.4"}, other_solutions


def test_second_run_has_nothing_to_do(campaign):
    workdir, config_path = campaign
    result = snakemake(workdir, config_path, "-n")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr


def test_report_gathers_plots_and_tables(campaign, tmp_path):
    workdir, config_path = campaign
    report = tmp_path / "report.html"
    result = snakemake(workdir, config_path, "--report", str(report))
    assert result.returncode == 0, result.stderr[-4000:]
    html = report.read_text()
    for name in ("tiny_a.png", "tiny_a_parity.png", "scaling.png", "probe_metrics.csv", "quarantine.csv"):
        assert name in html, name
    # The front page is the run's abstract, in sentences: no Python dict or list of the config in it.
    front = (workdir / "results/report/abstract.rst").read_text()
    assert "What this astray campaign did and found" in html and "geometries were labeled" in front
    assert "at HF/sto-3g with pyscf" in front and "nested training sets of 3 and 6 geometries" in front
    assert not re.search(r"[{}\[\]]|dict_keys", front), front
    assert "Geometries from {" not in html


def test_the_summary_writes_the_results_page_from_the_run(campaign, tmp_path):
    """`python -m astray.report.summary results/` on the finished tiny campaign: the page's numbers are the cube's,
    its job counts Snakemake's own, and its figure is written."""
    workdir, _ = campaign
    out = tmp_path / "docs"
    result = subprocess.run([sys.executable, "-m", "astray.report.summary", "results/", "--out", str(out)], cwd=workdir,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    page = (out / "results.md").read_text()
    cube = xr.load_dataset(workdir / "results/cube.nc")
    errors = cube.test_mae_equilibrium.sel(model="tiny_a", kind="equilibrium").mean("seed").values
    row = "| holdout MAE, equilibrium test molecules, `equilibrium` | " + " | ".join(f"{e:.3f}" for e in errors)
    assert row in page
    references = json.loads((workdir / "results/labels/references.json").read_text())
    assert f"{sum(references['by_reference'].values()):,} geometries were labeled" in page
    assert re.search(r"Snakemake ran \d+ jobs in \d+ (min|s)", page) and "| label_chunk | 3 |" in page
    assert "![" in page and (out / "figures/campaign.png").stat().st_size > 10_000
    assert (out / "figures/uncertainty_and_dynamics.png").stat().st_size > 10_000
    assert "sevennet" in page.split("## Trained and pretrained")[1]
    # Molecular dynamics: the page's mean time intact is the cube's, and what broke first is counted.
    times = cube.md_mean_time_intact.sel(model="tiny_a", kind="equilibrium").mean("seed").values
    assert "| `tiny_a`, `equilibrium`: mean time intact (ps) | " + " | ".join(f"{t:.3f}" for t in times) in page
    assert "The first change of each broken run of the trained models" in page


def test_the_readmes_results_tree_is_what_a_run_writes(campaign):
    """Every path of the README's results tree is there after the tiny campaign (but those it marks as
    written only with a source or option the tiny campaign lacks), and nothing the run wrote is missing."""
    workdir, _ = campaign
    results = workdir / "results"
    tree = re.search(r"```\nresults/\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S).group(1)
    listed = []
    for line in tree.splitlines():
        if line.startswith("    "):  # a description's second line
            continue
        paths, description = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        for path in paths.split(", "):
            pattern = re.sub(r"\{[^}]*\}", "*", path).rstrip("/")
            listed.append(pattern)
            if "(with " not in description:
                assert list(results.glob(pattern)), f"README lists results/{path}, which the run did not write"
    tops = {pattern.split("/")[0] for pattern in listed}
    unlisted = [p.name for p in results.iterdir() if p.name not in tops]
    assert not unlisted, f"the run wrote results/{unlisted} that the README's tree leaves out"


def test_the_explorer_loads_in_chromium_and_redraws_what_a_control_picks(campaign, tmp_path):
    """results/explorer.html in a real headless Chromium: it loads with no JavaScript error, draws the
    cube's own numbers, and picking another model and size redraws the probe curve and the parity plot."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("Debian's chromium and chromium-driver are not installed (scripts/system-packages.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import Select, WebDriverWait

    workdir, _ = campaign
    cube = xr.load_dataset(workdir / "results/cube.nc")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1500,1000"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        browser.get((workdir / "results/explorer.html").as_uri())
        WebDriverWait(browser, 30).until(lambda b: b.execute_script("return !!document.getElementById('parity').data"))
        first = _drawn(browser)
        browser.save_screenshot(str(tmp_path / "explorer_first.png"))
        Select(browser.find_element("id", "model")).select_by_visible_text("tiny_b")
        Select(browser.find_element("id", "size")).select_by_visible_text("3")
        second = _drawn(browser)
        browser.save_screenshot(str(tmp_path / "explorer_second.png"))
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        browser.quit()
    assert not errors, errors
    model, kind, seed, probe = (str(cube[name].values[0]) for name in ("model", "kind", "seed", "probe"))
    run = cube.sel(model=model, kind=kind, seed=int(seed))
    assert first["curve"] == pytest.approx(run.predicted_energy.sel(probe=probe).isel(size=-1).values)
    picked = cube.sel(model="tiny_b", kind=kind, seed=int(seed), size=3)
    assert second["curve"] == pytest.approx(picked.predicted_energy.sel(probe=probe).values)
    assert second["curve"] != pytest.approx(first["curve"])
    equilibrium = cube.test_origin.values == "equilibrium"
    assert second["parity"] == pytest.approx(picked.test_predicted_energy.values[equilibrium])
    assert second["parity"] != pytest.approx(first["parity"])


def _drawn(browser) -> dict:
    """The model's probe curve and the equilibrium points of the parity plot, as plotly holds them."""
    script = """const model = document.getElementById('curves').data.slice(-1)[0];
                return {curve: model.y, parity: document.getElementById('parity').data[0].y};"""
    return browser.execute_script(script)


def test_the_gpu_benchmark_runs_every_case_in_its_dry_mode_on_the_cpu(campaign, tmp_path):
    """benchmarks/gpu.sh --dry-run: every trainer for an epoch on the tiny campaign's labels beside the paper's
    loop, and the campaign's training rules planned for the device, so the script is ready when a GPU is."""
    workdir, _ = campaign
    environment = {**os.environ, "ASTRAY_GPU_DATA": str(workdir / "results/labels/labeled.extxyz"),
                   "ASTRAY_GPU_OUT": str(tmp_path)}  # fmt: skip
    run = subprocess.run(["bash", str(REPO / "benchmarks/gpu.sh"), "--dry-run"], env=environment, capture_output=True,
                         text=True, timeout=900)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads((tmp_path / "gpu.json").read_text())
    assert record["dry_run"] and set(record["schnet"]) == {"schnet_s", "schnet_m", "paper_250"}
    for case in [*record["schnet"].values()]:
        assert case["throughput_ratio"] > 0 and np.isfinite(case["astray"]["best_val_mae_eV"])
    assert record["nequip"]["samples_per_second"] > 0 and record["sevennet_finetune"]["samples_per_second"] > 0
    assert "tiny campaign's training rules on cpu: done" in run.stdout
    assert "train_nequip" in run.stdout and "train_finetune" in run.stdout  # planned, as a GPU would run them


# Jobs that read the cube: rerun whenever it changes.
PLOTS_OF_THE_CUBE = {"plot_scaling": 1, "plot_uncertainty_and_dynamics": 1}
FROM_THE_CUBE = {"cube": 1, **PLOTS_OF_THE_CUBE, "tables": 1, "explorer": 1, "abstract": 1, "all": 1}


def test_adding_a_model_plans_only_that_model(campaign):
    workdir, config_path = campaign
    config = yaml.safe_load(config_path.read_text())
    config["models"]["tiny_c"] = {**config["models"]["tiny_a"], "hidden_channels": 12}
    extended = workdir / "extended.yaml"
    extended.write_text(yaml.safe_dump(config))
    jobs = planned_jobs(snakemake(workdir, extended, "-n"))
    assert jobs == {"train": 4, "evaluate": 4, "plot_model": 1, "plot_parity": 1, **FROM_THE_CUBE}


def test_adding_a_pretrained_model_by_its_factory_plans_one_inference_and_its_evaluations(campaign):
    jobs = plan_after(campaign, lambda c: c["models"].update(lennard_jones={
        "architecture": "pretrained", "factory": "ase.calculators.lj:LennardJones", "trained_on": "nothing",
    }))  # fmt: skip
    assert jobs == {"predict_pretrained": 1, "evaluate": 4, "plot_model": 1, "plot_parity": 1, **FROM_THE_CUBE}


def plan_after(campaign, change, snakefile=None) -> dict:
    """Jobs a dry run plans on the finished tiny campaign after `change(config)`."""
    workdir, config_path = campaign
    config = yaml.safe_load(config_path.read_text())
    change(config)
    changed = workdir / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    command = SNAKEMAKE if snakefile is None else [*SNAKEMAKE[:3], "-s", str(snakefile), *SNAKEMAKE[5:]]
    result = subprocess.run([*command, "-n", "--directory", str(workdir), "--configfile", str(changed)],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return planned_jobs(result)


def test_adding_a_training_size_plans_only_the_new_sets_and_their_models(campaign):
    jobs = plan_after(campaign, lambda c: c["datasets"].update(sizes=[3, 4, 6]))
    assert jobs == {
        "training_set": 2,
        "train": 4,
        "train_nequip": 2,
        "package_nequip": 2,
        "train_finetune": 2,
        "evaluate": 10,
        "dataset_manifest": 1,
        "plot_model": 5,
        "plot_parity": 5,
        **FROM_THE_CUBE,
    }


def test_changing_the_label_method_relabels_everything_downstream_but_not_the_geometries(campaign):
    jobs = plan_after(campaign, lambda c: c["labels"].update(basis="3-21g"))
    assert "geometries" not in jobs
    assert jobs["label_chunk"] == 3 and jobs["atom_energies"] == 1 and jobs["reference_curves"] == 1
    assert jobs["train"] == 8 and jobs["train_nequip"] == 4 and jobs["evaluate"] == 20 and jobs["cube"] == 1
    assert jobs["predict_pretrained"] == 1 and jobs["train_finetune"] == 4


def test_changing_a_plot_setting_redraws_only_the_plots(campaign):
    jobs = plan_after(campaign, lambda c: c.setdefault("plots", {}).update(dpi=72))
    assert jobs == {"plot_model": 5, "plot_parity": 5, **PLOTS_OF_THE_CUBE, "all": 1}


def test_changing_one_stages_code_reruns_only_that_stage(campaign, tmp_path):
    """A copy of the workflow whose plotting module gained a line: only the plots are planned."""
    copy = tmp_path / "workflow"
    copy.mkdir()
    for part in ("Snakefile", "rules", "workflow_scripts", "astray", "config", "report"):
        source = REPO / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / part)
    with open(copy / "astray" / "report" / "plots.py", "a") as module:
        module.write("\n# a changed line\n")
    jobs = plan_after(campaign, lambda c: None, snakefile=copy / "Snakefile")
    assert jobs == {"plot_model": 5, "plot_parity": 5, **PLOTS_OF_THE_CUBE, "all": 1}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["datasets"].update(sizez=[3]), "'sizez' was unexpected"),
        (lambda c: c["training"].update(max_epochs="many"), "'many' is not of type 'integer'"),
        (lambda c: c["datasets"].update(sizes=[3, 500]), "datasets.sizes [500] exceed the"),
        (lambda c: c["labels"].update(engine="gaussian"), "'gaussian' is not one of ['pyscf', 'psi4']"),
        (lambda c: c["labels"].update(method="pbx"), "labels.method: PySCF cannot do 'pbx'"),
        (lambda c: c["labels"].update(method="wb97x-d"), "use wb97x-d3bj"),
        (lambda c: c["labels"].update(basis="def2-nonsense"), "labels.basis: PySCF has no basis 'def2-nonsense'"),
        (lambda c: c["labels"].update(method="fci", basis="cc-pvtz"), "FCI in cc-pvtz needs"),
    ],
)
def test_bad_config_stops_before_any_job_with_the_key_named(tmp_path, change, message):
    config = yaml.safe_load(TINY_CONFIG.read_text())
    change(config)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, bad)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
