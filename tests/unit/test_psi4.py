"""Psi4 through its QCSchema command line gives the same labels as PySCF: a cross-engine check of both."""

import re
import subprocess

import numpy as np
import pytest
from ase import Atoms

from astray.labels.engines import psi4_engine
from astray.labels.labeling import LabelInputError, Level, calculate, check_labeling_inputs, label_chunk
from astray.labels.levels import LabelFailure
from astray.units import HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM, HARTREE_TO_EV

pytestmark = pytest.mark.psi4


def geometry(symbols, positions, charge=0, multiplicity=1):
    info = {"charge": charge, "multiplicity": multiplicity, "geometry_id": symbols}
    return Atoms(symbols, positions=positions, info=info)


AGREEMENT_CASES = {
    "water": geometry("OH2", [(0, 0, 0.12), (0, 0.76, -0.47), (0, -0.72, -0.49)]),
    "stretched H2 (broken symmetry)": geometry("H2", [(0, 0, 0), (0, 0, 2.5)]),
    "OH radical": geometry("OH", [(0, 0, 0), (0, 0, 0.97)], multiplicity=2),
    "HeH+ cation": geometry("HeH", [(0, 0, 0), (0, 0, 0.77)], charge=1),
}


@pytest.mark.parametrize("name", AGREEMENT_CASES)
def test_psi4_and_pyscf_agree_on_hf_def2_svp(name):
    atoms = AGREEMENT_CASES[name]
    pyscf_record, _ = calculate(atoms, Level("hf", "def2-svp", "pyscf"))
    psi4_record, _ = calculate(atoms, Level("hf", "def2-svp", "psi4"))
    energy_gap = abs(pyscf_record["energy"] - psi4_record["energy"]) / HARTREE_TO_EV
    force_gap = np.abs(np.subtract(pyscf_record["forces"], psi4_record["forces"])).max()
    assert energy_gap < 1e-6  # Hartree
    assert force_gap / HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM < 1e-5  # Hartree/Bohr
    assert psi4_record["broken_symmetry"] == pyscf_record["broken_symmetry"]
    assert psi4_record["s2"] == pytest.approx(pyscf_record["s2"], abs=1e-4)
    assert psi4_record["engine_version"] == psi4_engine.version()


@pytest.mark.parametrize("name", ["water", "OH radical"])
def test_psi4_and_pyscf_agree_on_a_functional_closed_and_open_shell(name):
    """PBE/def2-SVP, restricted and unrestricted Kohn-Sham: the engines' quadrature grids differ, so energies
    agree to 1e-6 Eh and gradients to 5e-5 Eh/Bohr (measured: 5e-8 Eh, 1.3e-5 Eh/Bohr for water). The open
    shell needs the Kohn-Sham density convergence: at 1e-10 Psi4 never converges OH."""
    atoms = AGREEMENT_CASES[name]
    pyscf_record, _ = calculate(atoms, Level("pbe", "def2-svp", "pyscf"))
    psi4_record, _ = calculate(atoms, Level("pbe", "def2-svp", "psi4"))
    assert abs(pyscf_record["energy"] - psi4_record["energy"]) / HARTREE_TO_EV < 1e-6
    force_gap = np.abs(np.subtract(pyscf_record["forces"], psi4_record["forces"])).max()
    assert force_gap / HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM < 5e-5
    assert psi4_record["reference"] == pyscf_record["reference"] == ("uks" if name == "OH radical" else "rks")


@pytest.mark.parametrize("name", ["water", "OH radical"])
def test_psi4_with_dispersion_labels_the_surface_pyscf_does(name):
    """PBE-D3BJ/def2-SVP: Psi4's functional plus the correction astray adds agrees with PySCF's own
    dispersion-corrected SCF as closely as plain PBE does, and the correction's share of each engine's
    energy and forces is the same (PySCF's comes from inside its SCF driver)."""
    atoms = AGREEMENT_CASES[name]
    records = {
        (engine, method): calculate(atoms, Level(method, "def2-svp", engine))[0]
        for engine in ("pyscf", "psi4")
        for method in ("pbe", "pbe-d3bj")
    }
    pyscf, psi4 = records["pyscf", "pbe-d3bj"], records["psi4", "pbe-d3bj"]
    assert abs(pyscf["energy"] - psi4["energy"]) / HARTREE_TO_EV < 1e-6
    assert np.abs(np.subtract(pyscf["forces"], psi4["forces"])).max() / HARTREE_PER_BOHR_TO_EV_PER_ANGSTROM < 5e-5

    def correction(engine, field):
        return np.subtract(records[engine, "pbe-d3bj"][field], records[engine, "pbe"][field])

    assert correction("psi4", "energy") < -1e-4  # eV: water's D3(BJ) energy is about -10 meV
    assert correction("psi4", "energy") == pytest.approx(correction("pyscf", "energy"), abs=1e-6)
    np.testing.assert_allclose(correction("psi4", "forces"), correction("pyscf", "forces"), atol=1e-6)


def test_the_schema_flag_is_one_the_installed_psi4_accepts():
    """Psi4's own --help, not astray's version parsing, says which QCSchema flag this Psi4 takes (Debian's
    1.3.2 has --json, conda's 1.4+ --qcschema)."""
    usage = subprocess.run([psi4_engine.executable(), "--help"], capture_output=True, text=True, timeout=120).stdout
    accepted = {flag for flag in ("--json", "--qcschema") if re.search(rf"^\s+{flag}\b", usage, flags=re.M)}
    assert psi4_engine._schema_flag() in accepted, accepted


def test_a_psi4_that_does_not_finish_is_quarantined_with_the_reason(monkeypatch, tmp_path):
    """A hung or endless Psi4 is stopped after TIMEOUT_SECONDS; the labeling job quarantines the geometry
    with a reason that says so and goes on; nothing waits for the scheduler's limit."""
    monkeypatch.setattr(psi4_engine, "TIMEOUT_SECONDS", 0.05)
    with pytest.raises(LabelFailure, match=re.escape("Psi4 did not finish within 0.05 s")):
        calculate(AGREEMENT_CASES["water"], Level("hf", "def2-svp", "psi4"), forces=False)
    # The job's check that Psi4 can do the method (a hydrogen atom; test_unknown_basis_and_method_...) would
    # time out too.
    monkeypatch.setattr(psi4_engine, "check_method", lambda level: None)
    labeled, quarantined = label_chunk([AGREEMENT_CASES["water"]], Level("hf", "sto-3g", "psi4"),
                                       tmp_path / "progress.jsonl", log=lambda *_: None)  # fmt: skip
    assert labeled == [] and len(quarantined) == 1
    assert "did not finish within 0.05 s" in quarantined[0]["reason"]


def test_missing_psi4_names_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LabelInputError, match="apt-get install psi4"):
        check_labeling_inputs([AGREEMENT_CASES["water"]], Level("hf", "def2-svp", "psi4"))


def test_unknown_basis_and_method_are_refused_before_labeling():
    water = AGREEMENT_CASES["water"]
    with pytest.raises(LabelInputError, match="Psi4 has no basis 'no-such-basis'"):
        check_labeling_inputs([water], Level("hf", "no-such-basis", "psi4"))
    with pytest.raises(LabelInputError, match="Psi4 cannot do 'pbx'"):
        psi4_engine.check_method(Level("pbx", "def2-svp", "psi4"))
    psi4_engine.check_method(Level("pbe", "def2-svp", "psi4"))  # a real functional passes
    psi4_engine.check_method(Level("pbe-d3bj", "def2-svp", "psi4"))  # with dispersion too (astray adds it)
