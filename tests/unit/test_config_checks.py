"""Config files are read strictly: a repeated key is refused, a YAML anchor is not."""

import pytest

from astray.config_checks import ConfigFileError, check_config_files

ANCHORED = """models:
  schnet_m: &schnet_m {architecture: schnet, hidden_channels: 64, cutoff: 5.0}
  schnet_m_coulomb: {<<: *schnet_m, physics_prior: coulomb, cutoff: 4.0}
"""


def test_a_spec_may_repeat_another_by_anchor_and_override_its_keys(tmp_path):
    path = tmp_path / "anchored.yaml"
    path.write_text(ANCHORED)
    check_config_files([path])


def test_a_key_repeated_beside_an_anchor_is_still_refused(tmp_path):
    path = tmp_path / "repeated.yaml"
    path.write_text(ANCHORED.replace("cutoff: 4.0}", "cutoff: 4.0, physics_prior: none}"))
    with pytest.raises(ConfigFileError, match="key 'physics_prior' appears twice"):
        check_config_files([path])
