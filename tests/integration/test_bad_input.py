"""Bad input stops the campaign before any job runs, with one message naming the file and key (or the
geometry and field), a non-zero exit, and no results folder left behind.

These cases add to the config cases of test_workflow.py and the geometry-source cases of
test_sources_workflow.py; each is a real `snakemake` run (not a dry run) on the tiny config.
"""

import numpy as np
import pytest
import yaml
from test_workflow import REPO, TINY_CONFIG, snakemake

from astray.campaign.pool_plan import SAMPLE_MOLECULES

pytestmark = pytest.mark.workflow

WATER = [("O", 0.0, 0.0, 0.0), ("H", 0.76, 0.59, 0.0), ("H", -0.76, 0.59, 0.0)]


def xyz(atoms, comment="") -> str:
    return f"{len(atoms)}\n{comment}\n" + "".join(f"{s} {x} {y} {z}\n" for s, x, y, z in atoms)


def with_file(text: str, name: str = "mine.xyz"):
    """A change that adds one user file with `text` to the geometry sources."""

    def change(config, tmp_path):
        (tmp_path / name).write_text(text)
        config["geometries"]["sources"]["files"] = {"paths": [str(tmp_path / name)]}

    return change


def with_labeled_file(comment: str, **declared):
    """A change that adds one user file whose labels are declared (HF/STO-3G, the tiny campaign's level)."""

    def change(config, tmp_path):
        with_file(xyz(WATER, comment))(config, tmp_path)
        labels = {"energy": "e", "energy_units": "eV", "level": {"method": "hf", "basis": "sto-3g"}, **declared}
        config["geometries"]["sources"]["files"]["labels"] = {k: v for k, v in labels.items() if v is not None}

    return change


def on(section, **values):
    """A change that updates config[section] (dotted for nested sections) with `values`."""

    def change(config, tmp_path):
        target = config
        for key in section.split("."):
            target = target.setdefault(key, {})
        target.update(values)

    return change


def models(**specs):
    def change(config, tmp_path):
        config["models"].update(specs)

    return change


CASES = {
    # Config keys, types and values (schema)
    "unknown top-level key": (on("trainig", max_epochs=3), "'trainig' was unexpected"),
    "misspelt nested key": (on("training", learnig_rate=0.1), "'learnig_rate' was unexpected"),
    "zero size": (on("datasets", sizes=[0, 3]), "0 is less than the minimum of 1"),
    "negative size": (on("datasets", sizes=[-3]), "-3 is less than the minimum of 1"),
    "repeated size": (on("datasets", sizes=[3, 3]), "has non-unique elements"),
    "empty seed list": (on("datasets", seeds=[]), "[] should be non-empty"),
    "unknown dataset kind": (on("datasets", kinds=["stretched"]), "'stretched' is not one of"),
    "holdouts larger than the pool": (on("datasets", validation_molecules=20), "leave no training molecules"),
    "zero patience": (on("training", patience=0), "0 is less than the minimum of 1"),
    "negative learning rate": (on("training", learning_rate=-0.1), "-0.1 is less than or equal to the minimum of 0"),
    "unknown device": (on("training", device="tpu"), "'tpu' is not one of ['auto', 'cpu', 'cuda']"),
    "unknown architecture": (
        models(big={"architecture": "painn", "cutoff": 5.0}),
        "'painn' is not one of ['schnet', 'nequip', 'allegro', 'mace', 'external', 'pretrained', 'finetune']",
    ),
    "pretrained model of unknown name": (
        models(big={"architecture": "pretrained", "name": "uma-s-1"}),
        "models.big.name: unknown pretrained model 'uma-s-1'",
    ),
    "pretrained factory without what it was trained on": (
        models(mace={"architecture": "pretrained", "factory": "mace.calculators:mace_off"}),
        "is not valid under any of the given schemas",
    ),
    "pretrained factory that is not installed": (
        models(mace={"architecture": "pretrained", "factory": "mace.calculators:mace_off", "trained_on": "SPICE"}),
        "models.mace.factory: cannot import 'mace.calculators'",
    ),
    "fine-tuning a multi-fidelity model": (
        models(ft={"architecture": "finetune", "from": "7net-mf-0"}),
        "'7net-mf-0' is not one of ['7net-0', '7net-l3i5']",
    ),
    "SchNet key on a NequIP model": (
        models(
            nq={
                "architecture": "nequip",
                "num_layers": 1,
                "num_features": 4,
                "l_max": 1,
                "cutoff": 4.0,
                "hidden_channels": 8,
            }
        ),
        "'hidden_channels' was unexpected",
    ),
    "MACE model missing a key": (
        models(m={"architecture": "mace", "num_channels": 8, "cutoff": 4.0}),
        "'max_L' is a required property",
    ),
    "external rung with an unknown placeholder": (
        models(
            cli={
                "architecture": "external",
                "train_command": "{python} -m fit {training_set}",
                "model_file": "model.pt",
                "calculator": "ase.calculators.emt:EMT",
            }
        ),
        "models.cli.train_command: unknown placeholder {training_set}",
    ),
    "external rung whose calculator is not installed": (
        models(
            cli={
                "architecture": "external",
                "train_command": "{python} -m fit {train}",
                "model_file": "model.pt",
                "calculator": "pacemaker_calc:ACE",
            }
        ),
        "models.cli.calculator: cannot import 'pacemaker_calc'",
    ),
    "NequIP model missing a key": (
        models(nq={"architecture": "nequip", "num_features": 4, "l_max": 1, "cutoff": 4.0}),
        "'num_layers' is a required property",
    ),
    "unknown physics prior": (
        models(anchored={**yaml.safe_load(TINY_CONFIG.read_text())["models"]["tiny_a"], "physics_prior": "lj"}),
        "'lj' is not one of ['none', 'coulomb']",
    ),
    "non-numeric distance grid": (on("evaluation", distances=[0.5, "far"]), "'far' is not of type 'number'"),
    "empty probe grid": (on("evaluation", distances=[]), "[] is too short"),
    "probe grid including r = 0": (
        on("evaluation", distances=[0.0, 1.0]),
        "0.0 is less than or equal to the minimum of 0",
    ),
    "unknown probe": (on("evaluation", probes=["H3"]), "'H3' is not one of"),
    # Level of theory
    "unknown method": (on("labels", method="hf3c-x"), "labels.method: PySCF cannot do 'hf3c-x'"),
    "unknown basis": (on("labels", basis="6-31g-nonsense"), "labels.basis: PySCF has no basis '6-31g-nonsense'"),
    "element the basis lacks": (
        lambda c, t: (
            on("geometries", elements=["H", "C", "N", "O", "F", "I"])(c, t),
            with_file(xyz([("I", 0, 0, 0), ("H", 0, 0, 1.61)]))(c, t),
            on("labels", basis="6-31g*")(c, t),
        ),
        "PySCF has no basis '6-31g*' for element I",
    ),
    "force training on energy-only labels": (
        lambda c, t: (on("labels", forces=False)(c, t), on("training", force_weight=0.1)(c, t)),
        "training.force_weight is 0.1 but labels.forces is false",
    ),
    "unknown FCI basis": (
        on("evaluation", fci_basis="nonexistent-basis"),
        "evaluation.fci_basis: PySCF has no basis 'nonexistent-basis' for element H",
    ),
    "unknown Hessian basis": (
        on("geometries.distortions.normal_modes", samples=1, basis="nonexistent-basis"),
        "geometries.distortions.normal_modes.basis: PySCF has no basis 'nonexistent-basis' for element C",
    ),
    "Hessian of a correlated method": (
        on("geometries.distortions.normal_modes", samples=1, method="ccsd"),
        "geometries.distortions.normal_modes.method: 'ccsd' has no analytic Hessian here; use hf or a functional",
    ),
    # The user's geometry files
    "non-integer charge": (with_file(xyz(WATER, "charge=plus")), "mine.xyz frame 0: charge='plus' is not an integer"),
    "non-integer multiplicity": (
        with_file(xyz(WATER, "multiplicity=1.5")),
        "mine.xyz frame 0: multiplicity=1.5 is not an integer",
    ),
    "empty xyz file": (with_file(""), "mine.xyz"),
    "truncated xyz": (with_file("3\nwater\nO 0 0 0\nH 0.76 0.59 0\n"), "mine.xyz"),
    "NaN coordinate": (with_file(xyz([("O", 0, 0, 0), ("H", np.nan, 0.59, 0), ("H", -0.76, 0.59, 0)])), "mine.xyz"),
    "infinite coordinate": (
        with_file(xyz([("O", 0, 0, 0), ("H", np.inf, 0.59, 0), ("H", -0.76, 0.59, 0)])),
        "mine.xyz",
    ),
    "overlapping atoms": (with_file(xyz([("O", 0, 0, 0), ("H", 0.05, 0, 0), ("H", -0.76, 0.59, 0)])), "closer than"),
    "single atom": (with_file(xyz([("O", 0, 0, 0)])), "mine.xyz: frame 0 has 1 atom"),
    "binary garbage": (with_file("\x00\x01\x02 not xyz at all \x7f\n"), "mine.xyz"),
    "impossible multiplicity": (with_file(xyz(WATER, "charge=0 multiplicity=2")), "multiplicity"),
    "impossible charge": (with_file(xyz(WATER, "charge=11 multiplicity=1")), "charge"),
    # Labels that come with the files
    "declared energy field missing": (
        with_labeled_file("energy=-1.0", energy="dft_energy"),
        "mine.xyz frame 0: no energy field 'dft_energy'",
    ),
    "non-numeric label": (with_labeled_file("e=abc"), "mine.xyz frame 0: energy 'e' is 'abc', not a number"),
    "NaN label": (with_labeled_file("e=nan"), "mine.xyz frame 0: energy 'e' is not finite"),
    "labels without a declared level": (with_labeled_file("e=-2000.0", level=None), "'level' is a required property"),
    "labels from another level": (
        with_labeled_file("e=-2000.0", level={"method": "b3lyp", "basis": "6-31g*"}),
        "files.labels.level: the files' labels are b3lyp/6-31g*, but labels.method/basis (hf/sto-3g)",
    ),
    "labels at a level astray cannot compute": (
        lambda c, t: (
            with_labeled_file("e=-2000.0", level={"method": "hf3c-x", "basis": "sto-3g"})(c, t),
            on("labels", allow_mixed_levels=True)(c, t),
        ),
        "labels.level: astray cannot recompute it to audit them: labels.method: PySCF cannot do 'hf3c-x'",
    ),
    "probe system in training": (on("geometries.sources.ase", names=["H2O", "H2"]), "probe"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_stops_before_any_job_with_a_message_naming_it(tmp_path, case):
    change, message = CASES[case]
    config = yaml.safe_load(TINY_CONFIG.read_text())
    change(config, tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, bad)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert message in output, output[-3000:]
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("case", ["non-integer charge", "overlapping atoms", "element the basis lacks"])
def test_a_source_too_large_to_read_while_planning_stops_in_the_jobs_that_check_it_before_labeling(tmp_path, case):
    """Planned as a large source (read_while_planning_mb: 0), the bad file lies beyond the first files that
    planning reads: the geometries or check_pool job finds it, names file, frame and field, and nothing is
    labeled."""
    change, message = CASES[case]
    config = yaml.safe_load(TINY_CONFIG.read_text())
    change(config, tmp_path)
    folder = tmp_path / "molecules"
    folder.mkdir()
    (tmp_path / "mine.xyz").rename(folder / "zz_mine.xyz")
    for number in range(SAMPLE_MOLECULES):
        water = [(s, x, y + 0.001 * number, z) for s, x, y, z in WATER]
        (folder / f"water_{number:02d}.xyz").write_text(xyz(water))
    config["geometries"]["sources"]["files"] = {"paths": [str(folder)], "read_while_planning_mb": 0}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, bad)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert message in output and "zz_mine.xyz" in output and "frame 0" in output, output[-3000:]
    assert not list((tmp_path / "results" / "labels").glob("chunk_*")), "a labeling job ran"


def test_a_key_given_twice_in_a_config_file_is_refused(tmp_path):
    """YAML would keep the second of two models with one name and silently train one model, not two."""
    text = TINY_CONFIG.read_text().replace("  tiny_b:\n", "  tiny_a:\n", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = snakemake(tmp_path, bad)
    assert result.returncode != 0
    assert f"{bad}: key 'tiny_a' appears twice" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "profile, message",
    [
        ({"set-resources": {"label_chunk": {"gpu": 1}}}, "set-resources.label_chunk asks for a GPU ('gpu')"),
        ({"set-resources": {"evaluate": {"gres": "gpu:1"}}}, "set-resources.evaluate asks for a GPU ('gres')"),
        ({"default-resources": {"gpu": 1}}, "default-resources asks every job for a GPU"),
    ],
)
def test_a_gpu_asked_for_where_none_can_be_used_is_refused(tmp_path, profile, message):
    directory = tmp_path / "profile"
    directory.mkdir()
    local = yaml.safe_load((REPO / "profiles/local/config.yaml").read_text())
    (directory / "config.yaml").write_text(yaml.safe_dump({**local, **profile}))
    result = snakemake(tmp_path, TINY_CONFIG, "--profile", str(directory))
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_a_results_folder_that_cannot_be_written_stops_the_run_before_any_job(unwritable_results, tmp_path):
    result = snakemake(tmp_path, TINY_CONFIG)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"cannot write {unwritable_results}: " in output and "You may not write there" in output, output[-3000:]
    assert list(unwritable_results.iterdir()) == []


def test_errors_name_the_config_files_in_the_order_they_were_applied(tmp_path):
    """The Snakefile's config/config.yaml first, then the overlay given with --configfile."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text((REPO / "config" / "config.yaml").read_text())
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({"datasets": {"sizes": [7, 5000]}}))
    result = snakemake(tmp_path, overlay, "-n")
    assert result.returncode != 0
    assert "config/config.yaml + overlay.yaml: datasets.sizes [5000] exceed" in result.stdout + result.stderr
