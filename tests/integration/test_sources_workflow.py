"""The workflow on the user's own data: QM9 files, ions and a scan, rattled and normal-mode copies, through
labels to the nested datasets and their manifest; and the geometry guards stop a bad config at planning."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_workflow import REPO, SNAKEMAKE, TINY_CONFIG, planned_jobs, snakemake

from astray.io import read_geometries

pytestmark = pytest.mark.workflow

QM9 = Path(__file__).resolve().parents[1] / "data" / "qm9"


def own_data_config():
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["geometries"] = {
        "sources": {
            "files": {"paths": [str(QM9)]},
            "ions": ["H3O+", "NH4+", "OH-"],
            "scans": [{"species": "LiH", "distances": [1.3, 1.6, 2.2, 3.0]}],
        },
        "elements": ["H", "Li", "C", "N", "O"],
        "max_atoms": 5,
        "distortions": {"rattle": {"copies": 1, "sigma": 0.04}, "normal_modes": {"samples": 1, "temperature": 400}},
    }
    config["datasets"].update(sizes=[2, 4], validation_molecules=1, test_molecules=1)
    return config


def test_qm9_files_ions_and_scans_become_nested_datasets(tmp_path):
    config_path = tmp_path / "own.yaml"
    config_path.write_text(yaml.safe_dump(own_data_config()))
    jobs = planned_jobs(snakemake(tmp_path, config_path, "-n", "results/datasets/manifest.json"))
    assert jobs["label_chunk"] == 2  # 6 molecules x 3 + 4 scan points = 22 geometries, chunks of 20

    result = snakemake(tmp_path, config_path, "results/datasets/manifest.json")
    assert result.returncode == 0, result.stderr[-4000:]
    pool = read_geometries(tmp_path / "results/geometries/pool.extxyz")
    assert len(pool) == 22
    labeled = {a.info["geometry_id"]: a for a in read_geometries(tmp_path / "results/labels/labeled.extxyz")}
    assert labeled["H3O+"].info["charge"] == 1 and labeled["OH-"].info["charge"] == -1
    assert labeled["gdb_1"].info["smiles"] == "C" and labeled["gdb_1:nm0"].info["origin"] == "normal_mode"
    # A stretched LiH has a lower energy than the compressed one only beyond the minimum (~1.6 Å).
    scan = [labeled[f"LiH:scanLi0-H1@{d}"].get_potential_energy() for d in (1.3, 1.6, 2.2)]
    assert scan[1] < scan[0] and scan[1] < scan[2]

    manifest = json.loads((tmp_path / "results/datasets/manifest.json").read_text())
    origins = {Path(f["path"]).name: f["origins"] for f in manifest["files"] if "with_distorted" in f["path"]}
    assert set(origins["validation.extxyz"]) | set(origins["train_n4.extxyz"]) <= {
        "equilibrium",
        "rattled",
        "normal_mode",
        "scan",
    }


def chemical_space_config():
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["geometries"] = {
        "sources": {"ase": {"collection": "none"}, "chemical_space": {"max_heavy_atoms": 2, "elements": ["C", "O"]}},
        "elements": ["H", "C", "O"],
        "max_atoms": 8,
        "distortions": {"bond_scaling": {"factors": [0.9, 1.3], "per_molecule": 1}},
    }
    config["datasets"].update(sizes=[2, 4], validation_molecules=1, test_molecules=1)
    return config


def test_generated_chemical_space_is_labeled_into_nested_datasets(tmp_path):
    """Every C/O molecule of up to two heavy atoms but O=O (a triplet): CH4, H2O, ethane, ethene, ethyne,
    methanol, formaldehyde, H2O2; one scaled bond each."""
    config_path = tmp_path / "space.yaml"
    config_path.write_text(yaml.safe_dump(chemical_space_config()))
    jobs = planned_jobs(snakemake(tmp_path, config_path, "-n", "results/datasets/manifest.json"))
    assert jobs["label_chunk"] == 1 and jobs["training_set"] == 4  # 16 geometries, chunks of 20

    result = snakemake(tmp_path, config_path, "results/datasets/manifest.json")
    assert result.returncode == 0, result.stderr[-4000:]
    labeled = read_geometries(tmp_path / "results/labels/labeled.extxyz")
    equilibrium = {a.info["molecule"]: a for a in labeled if a.info["origin"] == "equilibrium"}
    assert set(equilibrium) == {"C", "O", "CC", "C=C", "C#C", "CO", "C=O", "OO"}
    assert equilibrium["C=O"].info["inchikey"] == "WSFSSNUMVMOOMR-UHFFFAOYSA-N"
    # Compressing or stretching a bond of a force-field minimum costs energy at HF too.
    for atoms in labeled:
        if atoms.info["origin"] == "bond_scaled":
            assert atoms.get_potential_energy() > equilibrium[atoms.info["molecule"]].get_potential_energy()
    report = json.loads((tmp_path / "results/geometries/chemical_space.json").read_text())
    assert report["counts_by_heavy_atoms"]["2"]["no_triplet_ground_states"] == 1
    assert report["counts_by_heavy_atoms"]["2"]["embedded"] == 6 and report["not_embedded"] == []
    splits = json.loads((tmp_path / "results/datasets/splits.json").read_text())
    assert set(splits) == set(equilibrium)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda g: g["sources"].update(ions=["H2+"]), "'H2+' is a probe system"),
        (lambda g: g["sources"].update(ions=["H5+"]), "geometries.sources.ions: unknown ['H5+']"),
        (lambda g: g["sources"]["files"].update(paths=["nowhere/*.xyz"]), "'nowhere/*.xyz' matches no xyz"),
        (lambda g: g["distortions"]["rattle"].update(sigma=0), "0 is less than or equal to the minimum of 0"),
        (lambda g: g["sources"]["scans"][0].update(bond=[0, 5]), "bond [0, 5] of 'LiH' does not exist"),
        (
            lambda g: g["sources"].update(
                chemical_space={"max_heavy_atoms": 2, "elements": ["C"], "filters": {"no_allenes": True}}
            ),
            "geometries.sources.chemical_space.filters: unknown ['no_allenes']",
        ),
        (
            lambda g: g["sources"].update(chemical_space={"max_heavy_atoms": 9, "elements": ["C", "N", "O"]}),
            "geometries.sources.chemical_space.max_heavy_atoms: 9 heavy atoms",
        ),
    ],
)
def test_bad_geometry_config_stops_before_any_job(tmp_path, change, message):
    config = own_data_config()
    change(config["geometries"])
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, bad, "-n")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_the_shipped_qm9_config_plans_a_campaign_from_a_qm9_folder(tmp_path):
    """config/qm9.yaml laid over the default config, as docs/configuration.md says, with three QM9 files in data/qm9."""
    shutil.copytree(QM9, tmp_path / "data" / "qm9")
    shutil.copytree(REPO / "config", tmp_path / "config")
    fewer = tmp_path / "three_molecules.yaml"
    fewer.write_text(yaml.safe_dump({"datasets": {"sizes": [1], "validation_molecules": 1, "test_molecules": 1}}))
    command = [*SNAKEMAKE, "-n", "results/geometries/pool.extxyz", "results/datasets/manifest.json",
               "--directory", str(tmp_path), "--configfile", str(REPO / "config" / "qm9.yaml"), str(fewer)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    # No G2 and no generated molecules: 3 molecules and their bond-scaled copies, 1 chunk.
    assert planned_jobs(result)["label_chunk"] == 1


def test_a_campaign_files_models_are_its_ladder_unless_it_extends_the_defaults(tmp_path):
    """The README's `--configfile my_campaign.yaml` over config/config.yaml: the models and sources the file
    lists are the campaign's; with `extend: [models]` the default's schnet_m and sevennet_0 train beside them."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    campaign = yaml.safe_load(TINY_CONFIG.read_text())
    campaign["models"] = {"tiny_a": campaign["models"]["tiny_a"]}
    campaign["geometries"]["max_atoms"] = 17  # would admit the default's 680 generated molecules (34+ chunks)
    mine = tmp_path / "my_campaign.yaml"
    mine.write_text(yaml.safe_dump(campaign))
    alone = planned_jobs(snakemake(tmp_path, mine, "-n"))
    runs = 2 * 2  # kinds x sizes, one seed
    assert alone["train"] == runs and "predict_pretrained" not in alone and "train_nequip" not in alone
    assert alone["label_chunk"] == 3  # its 12 G2 molecules and their copies: the default's sources are replaced
    mine.write_text(yaml.safe_dump({**campaign, "extend": ["models"]}))
    extended = planned_jobs(snakemake(tmp_path, mine, "-n"))
    assert extended["train"] == 2 * runs and extended["predict_pretrained"] == 1  # + schnet_m, sevennet_0
    assert extended["label_chunk"] == alone["label_chunk"]


def test_the_paper_scale_config_plans_its_training_grid(tmp_path):
    """config/paper_scale.yaml over three QM9 files and six G2 molecules, sizes shrunk to fit:
    6 sizes x (4 SchNet + 4 NequIP rungs + the anchored SchNet + SevenNet-0) x 2 kinds x 3 seeds."""
    shutil.copytree(QM9, tmp_path / "data" / "qm9")
    shutil.copytree(REPO / "config", tmp_path / "config")
    shrunk = tmp_path / "shrunk.yaml"
    shrunk.write_text(yaml.safe_dump({
        "extend": ["geometries.sources"],
        "geometries": {"sources": {"ase": {"collection": "g2", "names": ["CO", "HCN", "C2H2", "N2", "H2CO", "CH3OH"]}}},
        "datasets": {"sizes": [1, 2, 3, 4, 5, 6], "validation_molecules": 1, "test_molecules": 1},
    }))  # fmt: skip
    command = [*SNAKEMAKE, "-n", "--directory", str(tmp_path),
               "--configfile", str(REPO / "config" / "paper_scale.yaml"), str(shrunk)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    jobs = planned_jobs(result)
    runs_per_rung = 6 * 2 * 3
    assert jobs["evaluate"] == 10 * runs_per_rung and jobs["training_set"] == 6 * 2 * 3
    assert jobs["predict_pretrained"] == 1
    assert jobs["train"] == 5 * runs_per_rung  # four SchNet capacities and schnet_m_coulomb
    assert jobs["train_nequip"] == jobs["package_nequip"] == jobs["compile_nequip"] == 4 * runs_per_rung


def test_the_workstation_config_plans_its_grid_and_fits_its_pool(tmp_path):
    """config/workstation.yaml over the default config, as docs/configuration.md says, planned whole: 14,400
    generated molecules of up to 6 heavy atoms (too many to embed while planning: planned from the space's
    enumeration and 20 embedded molecules), training sizes up to 12,800 that fit its pool, 6 sizes x 8 rungs x
    2 kinds x 3 seeds; the planning summary prices its labels from the census, embedding nothing more."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    command = [
        *SNAKEMAKE,
        "-n",
        "--directory",
        str(tmp_path),
        "--configfile",
        str(REPO / "config" / "workstation.yaml"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    jobs = planned_jobs(result)
    runs_per_rung = 6 * 2 * 3
    assert jobs["train"] == 4 * runs_per_rung  # schnet_s, m, l, m_coulomb
    assert jobs["train_nequip"] == jobs["compile_nequip"] == 2 * runs_per_rung  # nequip_s, allegro_s
    assert jobs["train_finetune"] == runs_per_rung and jobs["predict_pretrained"] == 1  # sevennet_0 from the default
    assert jobs["evaluate"] == 8 * runs_per_rung
    assert jobs["label_chunk"] > 200  # ~21,600 geometries in chunks of 100
    summary = subprocess.run([sys.executable, "-m", "astray.plan", *command[command.index("--directory"):]],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert summary.returncode == 0, summary.stderr[-4000:]
    labeled = int(re.search(r"labeling\s+([\d,]+) geometries", summary.stdout).group(1).replace(",", ""))
    assert abs(labeled - 100 * jobs["label_chunk"]) < 100 and "counted: chemical_space" in summary.stdout
    assert not list((tmp_path / ".snakemake" / "astray").glob("chemical_space-*.json"))  # nothing embedded whole


def qm9_with_its_labels(tolerance_kcal_per_mol: float) -> dict:
    """QM9's three records with their B3LYP energies declared, one rattled copy each, at QM9's own level."""
    config = yaml.safe_load(TINY_CONFIG.read_text())
    declared = {"energy": "electronic", "energy_units": "hartree",
                "level": {"method": "b3lyp", "basis": "6-31g(2df,p)", "conventions": "Gaussian 09"}}  # fmt: skip
    config["geometries"] = {
        "sources": {"files": {"paths": [str(QM9)], "labels": declared}},
        "elements": ["H", "C", "N", "O", "F"],
        "max_atoms": 5,
        "distortions": {"bond_scaling": {"factors": []}, "rattle": {"copies": 1, "sigma": 0.03}},
    }
    config["labels"].update(method="b3lyp", basis="6-31g(2df,p)",
                            audit={"sample": 3, "tolerance_kcal_per_mol": tolerance_kcal_per_mol})  # fmt: skip
    config["datasets"].update(sizes=[1], validation_molecules=1, test_molecules=1)
    return config


def test_a_qm9_campaign_labels_its_molecules_from_the_files_and_their_copies_itself_after_the_audit(tmp_path):
    """QM9's electronic energies lie within 3.1 kcal/mol of PySCF's on these three (tests/unit/test_audit.py):
    accepted at 3.5 kcal/mol, they label the equilibrium geometries; astray labels the rattled copies."""
    config_path = tmp_path / "qm9.yaml"
    config_path.write_text(yaml.safe_dump(qm9_with_its_labels(3.5)))
    result = snakemake(tmp_path, config_path, "results/labels/labeled.extxyz")
    assert result.returncode == 0, result.stderr[-4000:]
    labeled = {a.info["geometry_id"]: a for a in read_geometries(tmp_path / "results/labels/labeled.extxyz")}
    water, copy = labeled["gdb_3"], labeled["gdb_3:rattle0"]
    assert water.info["label_source"].endswith("dsgdb9nsd_000003.xyz") and water.info["engine"] == "provided"
    assert water.get_potential_energy() == pytest.approx((-76.404702 - 0.021375) * 27.211386, abs=1e-4)
    assert copy.info["label_source"] == "astray" and copy.info["method"] == "b3lyp"
    # QM9's geometry is a minimum at this level: its rattled copy (0.03 Å per coordinate) lies above it.
    assert 0 < copy.get_potential_energy() - water.get_potential_energy() < 1.0
    audit = json.loads((tmp_path / "results/labels/audit.json").read_text())
    assert audit["passed"] and audit["geometries"] == 3 and audit["declared"]["level"]["conventions"] == "Gaussian 09"
    assert len((tmp_path / "results/labels/audit.csv").read_text().splitlines()) == 4


def test_the_audit_stops_a_qm9_campaign_at_the_default_tolerance_before_any_labeling(tmp_path):
    config_path = tmp_path / "qm9.yaml"
    config_path.write_text(yaml.safe_dump(qm9_with_its_labels(1.0)))
    result = snakemake(tmp_path, config_path, "results/labels/labeled.extxyz")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "labels.audit: the labels that came with the files do not match" in output, output[-3000:]
    assert "worst gdb_3: -3.06 kcal/mol" in output
    assert not list((tmp_path / "results/labels").glob("chunk_*")), "a labeling job ran"


def test_the_selection_config_plans_every_round_of_both_committees(tmp_path):
    """config/selection.yaml over the default config: its committees' rounds (4 per kind: 32 -> 64 -> ... ->
    512, 3 members each), the ladder trained on their sets beside the random ones, and the planning summary's
    account of each round."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    options = ["--directory", str(tmp_path), "--configfile", str(REPO / "config" / "selection.yaml")]
    result = subprocess.run([*SNAKEMAKE, "-n", *options], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    jobs = planned_jobs(result)
    assert jobs["committee_set"] == 2 * 5 and jobs["committee_predictions"] == 2 * 4 * 3
    assert jobs["training_set"] == 2 * 5 * 3 and jobs["train"] == 2 * (2 * 5 * 3)  # random and committee
    assert jobs["plot_selection"] == 1
    # labels.scope: datasets: each round's picks in chunks of 100 (+32, +64, +128, +256: 1, 1, 2, 3 jobs).
    assert jobs["committee_picks"] == 2 * 4 and jobs["label_picks"] == 2 * 7
    summary = subprocess.run([sys.executable, "-m", "astray.plan", *options], capture_output=True, text=True,
                             timeout=300)  # fmt: skip
    assert summary.returncode == 0, summary.stderr[-4000:]
    assert "training   60 runs" in summary.stdout
    assert "labels.scope: datasets" in summary.stdout
    for kind in ("equilibrium-committee", "with_distorted-committee"):
        rounds = re.search(rf"selection  {kind}: 4 rounds \((.*?)\);", summary.stdout)
        assert rounds, summary.stdout
        # Each round priced: its picks' calculations at the label level, doubling with the picks.
        prices = re.findall(r"n(\d+)->n(\d+) \+(\d+) ([\d.]+) CPU-h", rounds.group(1))
        assert [(int(a), int(b), int(n)) for a, b, n, _ in prices] == [(32, 64, 32), (64, 128, 64), (128, 256, 128),
                                                                       (256, 512, 256)]  # fmt: skip
        costs = [float(price) for *_, price in prices]
        assert costs[0] > 0 and costs[-1] == pytest.approx(8 * costs[0], rel=0.05)
